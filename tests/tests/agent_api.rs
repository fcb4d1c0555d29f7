//! The agent's HTTP API on loopback, without namespaces: two agents' nodes
//! on UDP, one API each; publish at one, the other's Server-Sent Events
//! stream delivers it once; `/members` shows the peer's name and tags from
//! its meta; `/health`, `/stats`, `/metrics` (with the timer and probe
//! round-trip histograms) and an unknown group answer as documented.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use gossip_node::api::{ApiState, router};
use gossip_node::cli::AgentArgs;
use gossip_node::config::Settings;
use gossip_tests::hosts::http::{Deliveries, get_json, publish, request};
use tokio::sync::watch;

async fn agent(name: &str, seeds: Vec<String>) -> (SocketAddr, gossip_runtime::Handle<SocketAddr>) {
    let args = AgentArgs {
        name: Some(name.into()),
        tags: vec![format!("role={name}-role")],
        bind: Some("127.0.0.1:0".into()),
        insecure: Some(true),
        groups: vec!["g".into()],
        period_ms: Some(20),
        seeds,
        ..AgentArgs::default()
    };
    let settings = Settings::load(args).expect("settings");
    let (handle, transport) = gossip_node::network::start(&settings).expect("start");
    let prometheus = prometheus();
    let _own = handle.subscribe(gossip_core::GroupId::named("g")).await.expect("subscribe");
    let state = Arc::new(ApiState::new(handle.clone(), transport, prometheus, &settings, watch::channel(true).1));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("listen");
    let http = listener.local_addr().expect("addr");
    tokio::spawn(axum::serve(listener, router(state)).into_future());
    (http, handle)
}

/// The process-wide recorder, as the agent installs it (both agents of
/// this test record into it).
fn prometheus() -> metrics_exporter_prometheus::PrometheusHandle {
    static HANDLE: OnceLock<metrics_exporter_prometheus::PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| gossip_node::exporter::install().expect("the only recorder")).clone()
}

async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_stream_members_and_metrics() {
    let (http_a, a) = agent("alpha", vec![]).await;
    let (http_b, b) = agent("beta", vec![]).await;
    b.join_within(vec![*a.local_addr()], Duration::from_secs(10)).await.expect("joined");
    a.joined().await.expect("a joined");

    let stream = blocking(move || Deliveries::open(http_b, "g").expect("stream")).await;
    let id = blocking(move || publish(http_a, "g", "hello").expect("published")).await;
    let seen = stream.seen.clone();
    let delivered = tokio::time::timeout(Duration::from_secs(10), async {
        while !seen.lock().unwrap().counts.contains_key(&id) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(delivered.is_ok(), "beta's stream never delivered {id}");
    assert_eq!(stream.seen.lock().unwrap().counts.get(&id), Some(&1));

    // The probe histogram appears with the first acknowledged probe.
    let metrics = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let metrics = blocking(move || request(http_a, "GET", "/metrics", b"").expect("metrics")).await;
            if metrics.1.contains("gossip_probe_rtt_seconds_count") {
                break metrics;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("/metrics never showed a probe round trip");
    let (members, health, stats, unknown) = blocking(move || {
        (
            get_json(http_a, "/members").expect("members"),
            get_json(http_a, "/health").expect("health"),
            get_json(http_b, "/stats").expect("stats"),
            request(http_a, "GET", "/groups/other/messages", b"").expect("unknown group"),
        )
    })
    .await;
    let peer = members.as_array().unwrap().iter().find(|m| m["self"] == false).expect("a peer");
    assert_eq!(peer["name"], "beta");
    assert_eq!(peer["tags"]["role"], "beta-role");
    assert_eq!(peer["status"], "alive");
    assert_eq!(peer["groups"][0], "g");
    assert_eq!(health["status"], "ready");
    assert_eq!(stats["engine"]["deliveries"], 1);
    assert_eq!(metrics.0, 200);
    for name in ["gossip_timer_seconds_bucket", "gossip_probe_rtt_seconds_bucket", "gossip_probes_total"] {
        assert!(metrics.1.contains(name), "/metrics lacks {name}:\n{}", metrics.1);
    }
    let probes = metrics.1.lines().find(|l| l.starts_with("gossip_probe_rtt_seconds_count")).expect("count line");
    let count: f64 = probes.rsplit(' ').next().and_then(|n| n.parse().ok()).expect("a count");
    assert!(count >= 1.0, "{probes}");
    assert_eq!(unknown.0, 404);
    a.shutdown().await;
    b.shutdown().await;
}

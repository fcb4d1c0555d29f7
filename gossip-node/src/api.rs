//! The local HTTP API (loopback by default).
//!
//! | route | what |
//! | --- | --- |
//! | `POST /groups/{group}/messages` | multicasts the request body to the named group; `202` with the message id as JSON |
//! | `GET /groups/{group}/messages` | this node's deliveries for a group it joined, as Server-Sent Events (below) |
//! | `GET /members` | this node and every member it knows: id, address, status (`alive`, `suspect`, `dead`, `left`), incarnation, groups, name and tags (from the member meta, see [`crate::meta`]) |
//! | `GET /stats` | every counter as JSON (engine, transport, runtime) |
//! | `GET /health` | `200 {"status":"ready"}` once joined (or when started without seeds), else `503 {"status":"joining"}` |
//! | `GET /metrics` | Prometheus text format |
//!
//! Each delivery is one event `delivery` whose `id:` line is the message id
//! and whose `data:` is a JSON object: `id`, `origin` (16 hex digits),
//! `group`, `seq`, `hops`, and `payload` (the body as text when it is
//! UTF-8) or `payload_base64`. When the stream falls behind the node, an
//! event `lagged` says how many deliveries it missed (`{"missed":N}`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use bytes::Bytes;
use gossip_core::{Delivery, GroupId, MemberStatus};
use gossip_runtime::{Handle, Missed, RuntimeError, StreamExt};
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use tokio::sync::watch;

use crate::config::Settings;
use crate::meta::NodeMeta;
use crate::network::TransportHandle;

/// What the handlers share.
pub struct ApiState {
    /// The node.
    pub handle: Handle<SocketAddr>,
    /// Its transport, for transport-specific counters.
    pub transport: TransportHandle,
    /// Renders `/metrics`.
    pub prometheus: PrometheusHandle,
    /// This node's name.
    pub name: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// The groups it joined.
    pub groups: Vec<String>,
    /// Whether `/health` reports ready.
    pub ready: watch::Receiver<bool>,
}

impl ApiState {
    /// The API's state for a node started from `settings`.
    pub fn new(
        handle: Handle<SocketAddr>,
        transport: TransportHandle,
        prometheus: PrometheusHandle,
        settings: &Settings,
        ready: watch::Receiver<bool>,
    ) -> Self {
        ApiState {
            handle,
            transport,
            prometheus,
            name: settings.name.clone(),
            tags: settings.tags.clone(),
            groups: settings.groups.clone(),
            ready,
        }
    }
}

/// The router.
pub fn router(state: Arc<ApiState>) -> Router {
    Router::new()
        .route("/groups/{group}/messages", get(deliveries).post(publish))
        .route("/members", get(members))
        .route("/stats", get(stats))
        .route("/health", get(health))
        .route("/metrics", get(render_metrics))
        .with_state(state)
}

fn unavailable(err: RuntimeError) -> Response {
    let status = match err {
        RuntimeError::Closed => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    (status, Json(json!({ "error": err.to_string() }))).into_response()
}

async fn publish(State(state): State<Arc<ApiState>>, Path(group): Path<String>, body: Bytes) -> Response {
    match state.handle.multicast(GroupId::named(&group), body).await {
        Ok(id) => (
            StatusCode::ACCEPTED,
            Json(json!({ "id": id.to_string(), "origin": id.origin.to_string(), "group": group, "seq": id.seq })),
        )
            .into_response(),
        Err(err) => unavailable(err),
    }
}

/// One delivery as the JSON of its SSE event.
pub fn delivery_json(group: &str, d: &Delivery) -> serde_json::Value {
    let mut value = json!({
        "id": d.id.to_string(), "origin": d.id.origin.to_string(), "group": group,
        "seq": d.id.seq, "hops": d.hops,
    });
    match std::str::from_utf8(&d.payload) {
        Ok(text) => value["payload"] = json!(text),
        Err(_) => value["payload_base64"] = json!(base64::engine::general_purpose::STANDARD.encode(&d.payload)),
    }
    value
}

async fn deliveries(State(state): State<Arc<ApiState>>, Path(group): Path<String>) -> Response {
    if !state.groups.contains(&group) {
        let error = format!("this node is not in group `{group}` (see the `groups` key)");
        return (StatusCode::NOT_FOUND, Json(json!({ "error": error }))).into_response();
    }
    let subscription = match state.handle.subscribe(GroupId::named(&group)).await {
        Ok(s) => s,
        Err(err) => return unavailable(err),
    };
    let events = subscription.map(move |item| {
        Ok::<_, Infallible>(match item {
            Ok(d) => {
                Event::default().event("delivery").id(d.id.to_string()).data(delivery_json(&group, &d).to_string())
            }
            Err(Missed::Lagged(missed)) => Event::default().event("lagged").data(json!({ "missed": missed }).to_string()),
            Err(Missed::Gap(gap)) => Event::default().event("gap").data(
                json!({ "origin": gap.origin.to_string(), "from": gap.from, "to": gap.to, "reason": format!("{:?}", gap.reason) })
                    .to_string(),
            ),
            Err(other) => Event::default().event("missed").data(json!({ "error": other.to_string() }).to_string()),
        })
    });
    Sse::new(events).keep_alive(KeepAlive::default()).into_response()
}

/// A member status as the API names it.
fn status(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::Alive => "alive",
        MemberStatus::Suspect => "suspect",
        MemberStatus::Dead => "dead",
        MemberStatus::Left => "left",
        _ => "unknown",
    }
}

impl ApiState {
    /// A group's name if this node joined it, else its number.
    fn group_name(&self, id: GroupId) -> String {
        self.groups.iter().find(|g| GroupId::named(g) == id).cloned().unwrap_or_else(|| id.to_string())
    }
}

async fn members(State(state): State<Arc<ApiState>>) -> Response {
    let members = match state.handle.members().await {
        Ok(m) => m,
        Err(err) => return unavailable(err),
    };
    let mut list = vec![json!({
        "id": state.handle.id().to_string(), "addr": state.handle.local_addr().to_string(),
        "status": "alive", "self": true, "name": state.name, "tags": state.tags, "groups": state.groups,
    })];
    for member in members {
        let meta = NodeMeta::decode(&member.meta).ok();
        let groups: Vec<String> = member.groups.iter().map(|g| state.group_name(*g)).collect();
        list.push(json!({
            "id": member.id.to_string(), "addr": member.addr.to_string(), "status": status(member.status),
            "incarnation": member.incarnation, "self": false, "groups": groups,
            "name": meta.as_ref().map(|m| m.name.clone()), "tags": meta.map(|m| m.tags).unwrap_or_default(),
        }));
    }
    Json(list).into_response()
}

async fn stats(State(state): State<Arc<ApiState>>) -> Response {
    match state.handle.stats().await {
        Ok(stats) => {
            let mut value = json!(stats);
            value["transport_detail"] = state.transport.stats_json();
            Json(value).into_response()
        }
        Err(err) => unavailable(err),
    }
}

async fn health(State(state): State<Arc<ApiState>>) -> Response {
    if *state.ready.borrow() {
        Json(json!({ "status": "ready" })).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "joining" }))).into_response()
    }
}

async fn render_metrics(State(state): State<Arc<ApiState>>) -> Response {
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.prometheus.render()).into_response()
}

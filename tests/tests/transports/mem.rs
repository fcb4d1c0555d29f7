//! MemNetwork endpoints pass gossip-runtime's transport conformance suite.

use transport_mem::{MemEndpoint, MemNetwork, NetConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mem_endpoints_conform() {
    gossip_runtime::conformance::run_all(
        || async {
            let net = MemNetwork::new(NetConfig::default()).unwrap();
            let a: MemEndpoint = net.bind(1).unwrap();
            let b = net.bind(2).unwrap();
            (a, b)
        },
        vec![9_999, u32::MAX],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mem_endpoints_conform_with_latency() {
    use std::time::Duration;
    use transport_mem::{Latency, LinkModel};
    gossip_runtime::conformance::run_all(
        || async {
            let link = LinkModel::new()
                .with_latency(Latency::Uniform { min: Duration::from_micros(100), max: Duration::from_millis(2) })
                .unwrap();
            let net = MemNetwork::new(NetConfig { link, seed: 3, ..NetConfig::default() }).unwrap();
            (net.bind(1).unwrap(), net.bind(2).unwrap())
        },
        vec![9_999],
    )
    .await;
}

//! `Handle::joined` and `Handle::join_within` on the in-memory network, in
//! virtual time: a node whose seed answers is joined; one whose seed is
//! cut off gets `NotJoined` and becomes joined once the seed is reachable.

use std::time::Duration;

use gossip_runtime::{Builder, RuntimeError};
use transport_mem::{MemNetwork, NetConfig};

#[tokio::test(start_paused = true)]
async fn join_within_reports_whether_a_member_answered() {
    let net = MemNetwork::new(NetConfig { seed: 7, ..NetConfig::default() }).unwrap();
    let spawn = |i: u32, seed: u64| {
        Builder::new(net.bind(i).unwrap()).config(gossip_tests::config()).seed(seed).spawn().unwrap()
    };
    let (a, b, c) = (spawn(0, 1), spawn(1, 2), spawn(2, 3));
    assert!(!a.is_joined() && !b.is_joined());

    b.join_within(vec![0], Duration::from_secs(5)).await.expect("the seed answers");
    assert!(b.is_joined());
    a.joined().await.expect("the seed learns of the joiner too");

    net.handle().partition(&[vec![0, 1], vec![2]]);
    let refused = c.join_within(vec![0], Duration::from_secs(2)).await;
    assert_eq!(refused, Err(RuntimeError::NotJoined(Duration::from_secs(2))));
    assert!(!c.is_joined());

    // The node keeps retrying its seeds: it joins once they are reachable.
    net.handle().heal();
    tokio::time::timeout(Duration::from_secs(10), c.joined()).await.expect("joined after healing").unwrap();

    for h in [a, b, c] {
        h.shutdown().await;
    }
}

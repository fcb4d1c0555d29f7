//! A conformance suite every [`Transport`] should pass (feature `conformance`).
//!
//! Write the test once per transport:
//!
//! ```ignore
//! #[tokio::test]
//! async fn conformance() {
//!     gossip_runtime::conformance::run_all(|| async { make_two_connected_endpoints().await }, vec![bad_addr]).await;
//! }
//! ```
//!
//! `make_pair` returns two fresh endpoints that can reach each other
//! without injected faults; `bad_addresses` are addresses every `send`
//! to which must fail with an error other than `Oversized`
//! (for example an address of the wrong family). The checks panic with a
//! message naming what failed, as test code does.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::timeout;

use crate::transport::{Transport, TransportError};

/// How long a check waits for a datagram that should arrive.
pub const WAIT: Duration = Duration::from_secs(5);

fn payload(tag: u32, len: usize) -> Bytes {
    let mut bytes = Vec::with_capacity(len);
    let seed = tag.to_le_bytes();
    for i in 0..len {
        bytes.push(seed[i % 4] ^ (i as u8).wrapping_mul(31));
    }
    if len >= 4 {
        bytes[..4].copy_from_slice(&seed);
    }
    Bytes::from(bytes)
}

async fn recv_one<T: Transport>(t: &T, what: &str) -> (T::Address, Bytes) {
    match timeout(WAIT, t.recv()).await {
        Ok(Ok(got)) => got,
        Ok(Err(err)) => panic!("{what}: recv failed: {err}"),
        Err(_) => panic!("{what}: nothing received within {WAIT:?}"),
    }
}

/// Runs every check, each on a fresh pair from `make_pair`.
pub async fn run_all<T, F, Fut>(mut make_pair: F, bad_addresses: Vec<T::Address>)
where
    T: Transport,
    F: FnMut() -> Fut,
    Fut: Future<Output = (T, T)>,
{
    let (a, b) = make_pair().await;
    basics(&a, &b);
    let (a, b) = make_pair().await;
    send_and_receive(&a, &b).await;
    let (a, b) = make_pair().await;
    max_size_arrives(&a, &b).await;
    let (a, b) = make_pair().await;
    oversize_is_rejected(&a, &b).await;
    let (a, b) = make_pair().await;
    bad_addresses_are_rejected(&a, &b, &bad_addresses).await;
    let (a, b) = make_pair().await;
    many_datagrams_intact(&a, &b).await;
    let (a, b) = make_pair().await;
    batches(&a, &b).await;
    let (a, b) = make_pair().await;
    recv_is_cancel_safe(&a, &b).await;
    let (a, b) = make_pair().await;
    concurrent_send_and_recv(Arc::new(a), Arc::new(b)).await;
}

/// Local addresses differ and are stable; the maximum size is one the
/// engine can use.
pub fn basics<T: Transport>(a: &T, b: &T) {
    assert_ne!(a.local_addr(), b.local_addr(), "two endpoints share an address");
    assert_eq!(a.local_addr(), a.local_addr(), "local_addr is not stable");
    assert!(
        a.max_packet_size() >= gossip_core::MIN_PACKET_SIZE,
        "max_packet_size {} is below the engine minimum {}",
        a.max_packet_size(),
        gossip_core::MIN_PACKET_SIZE
    );
}

/// A datagram goes each way, intact, with the sender's address as `from`.
pub async fn send_and_receive<T: Transport>(a: &T, b: &T) {
    let hello = payload(1, 100);
    a.send(&b.local_addr(), hello.clone()).await.expect("send a→b");
    let (from, got) = recv_one(b, "a→b").await;
    assert_eq!(got, hello, "a→b payload changed");
    assert_eq!(from, a.local_addr(), "a→b: from is not a's local_addr");

    let back = payload(2, 1);
    b.send(&from, back.clone()).await.expect("reply b→a");
    let (from, got) = recv_one(a, "b→a").await;
    assert_eq!(got, back, "b→a payload changed");
    assert_eq!(from, b.local_addr(), "b→a: from is not b's local_addr");
}

/// A datagram of exactly `max_packet_size` bytes arrives intact.
pub async fn max_size_arrives<T: Transport>(a: &T, b: &T) {
    let max = a.max_packet_size();
    let big = payload(3, max);
    a.send(&b.local_addr(), big.clone()).await.expect("send of exactly max_packet_size");
    let (_, got) = recv_one(b, "max size").await;
    assert_eq!(got.len(), max, "max-size datagram truncated");
    assert_eq!(got, big, "max-size datagram changed");
}

/// One byte more than `max_packet_size` is refused with `Oversized`, and
/// the endpoint keeps working.
pub async fn oversize_is_rejected<T: Transport>(a: &T, b: &T) {
    let max = a.max_packet_size();
    match a.send(&b.local_addr(), payload(4, max + 1)).await {
        Err(TransportError::Oversized { len, max: reported }) => {
            assert_eq!(len, max + 1, "Oversized.len");
            assert_eq!(reported, max, "Oversized.max");
        }
        other => panic!("oversized send returned {other:?}, expected Err(Oversized)"),
    }
    let results = a.send_batch(&[(b.local_addr(), payload(5, max + 1)), (b.local_addr(), payload(6, 10))]).await;
    assert_eq!(results.len(), 2, "send_batch returns one result per datagram");
    assert!(matches!(results[0], Err(TransportError::Oversized { .. })), "oversized in a batch: {:?}", results[0]);
    assert!(results[1].is_ok(), "a valid datagram after an oversized one in a batch: {:?}", results[1]);
    let (_, got) = recv_one(b, "after oversize").await;
    assert_eq!(got, payload(6, 10), "only the valid datagram arrives");
}

/// Sends to each bad address fail with an error (not `Oversized`), and
/// the endpoint keeps working.
pub async fn bad_addresses_are_rejected<T: Transport>(a: &T, b: &T, bad: &[T::Address]) {
    for addr in bad {
        match a.send(addr, payload(7, 10)).await {
            Err(TransportError::Oversized { .. }) => panic!("send to bad address {addr:?} reported Oversized"),
            Err(_) => {}
            Ok(()) => panic!("send to bad address {addr:?} succeeded"),
        }
    }
    a.send(&b.local_addr(), payload(8, 10)).await.expect("send after bad addresses");
    let (_, got) = recv_one(b, "after bad addresses").await;
    assert_eq!(got, payload(8, 10));
}

/// 200 distinct datagrams: every one that arrives is intact and was sent,
/// none arrives twice, and on an unfaulted pair at least 90% arrive.
pub async fn many_datagrams_intact<T: Transport>(a: &T, b: &T) {
    let count = 200u32;
    let to = b.local_addr();
    for i in 0..count {
        a.send(&to, payload(1000 + i, 64 + (i as usize % 200))).await.expect("send");
        if i % 32 == 31 {
            tokio::task::yield_now().await;
        }
    }
    let mut seen = HashSet::new();
    while seen.len() < count as usize {
        let Ok(got) = timeout(Duration::from_millis(500), b.recv()).await else { break };
        let (_, bytes) = got.expect("recv");
        let tag = u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"));
        assert!((1000..1000 + count).contains(&tag), "received a datagram that was never sent");
        assert_eq!(bytes, payload(tag, 64 + ((tag - 1000) as usize % 200)), "datagram {tag} changed");
        assert!(seen.insert(tag), "datagram {tag} arrived twice");
    }
    assert!(seen.len() * 10 >= count as usize * 9, "only {} of {count} datagrams arrived", seen.len());
}

/// `send_batch` and `recv_batch` move several datagrams at once.
pub async fn batches<T: Transport>(a: &T, b: &T) {
    let to = b.local_addr();
    let batch: Vec<_> = (0..32u32).map(|i| (to.clone(), payload(2000 + i, 80))).collect();
    let results = a.send_batch(&batch).await;
    assert_eq!(results.len(), 32);
    assert!(results.iter().all(Result::is_ok), "send_batch: {results:?}");
    let mut got = Vec::new();
    while got.len() < 32 {
        let before = got.len();
        match timeout(WAIT, b.recv_batch(&mut got, 16)).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => panic!("recv_batch failed: {err}"),
            Err(_) => break,
        }
        let added = got.len() - before;
        assert!((1..=16).contains(&added), "recv_batch added {added} datagrams, expected 1..=16");
    }
    let tags: HashSet<u32> =
        got.iter().map(|(_, bytes)| u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes"))).collect();
    assert_eq!(tags.len(), got.len(), "duplicates in recv_batch");
    assert!(got.len() >= 29, "only {} of 32 batched datagrams arrived", got.len());
    for (from, _) in &got {
        assert_eq!(*from, a.local_addr());
    }
}

/// Dropping `recv` futures (as `select!` does) loses no datagram.
pub async fn recv_is_cancel_safe<T: Transport>(a: &T, b: &T) {
    let to = b.local_addr();
    let count = 50u32;
    let mut seen = HashSet::new();
    let mut sent = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    while seen.len() < count as usize && tokio::time::Instant::now() < deadline {
        if sent < count {
            a.send(&to, payload(3000 + sent, 40)).await.expect("send");
            sent += 1;
        }
        // A very short timeout cancels many recv futures mid-wait.
        for _ in 0..3 {
            if let Ok(got) = timeout(Duration::from_micros(50), b.recv()).await {
                let (_, bytes) = got.expect("recv");
                seen.insert(u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")));
            }
        }
        if sent == count {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
    assert_eq!(seen.len(), count as usize, "datagrams lost when recv futures were cancelled");
}

/// One `Arc` sends while another task receives on it concurrently.
pub async fn concurrent_send_and_recv<T: Transport>(a: Arc<T>, b: Arc<T>) {
    let count = 100u32;
    let receiver = {
        let b = b.clone();
        tokio::spawn(async move {
            let mut seen = HashSet::new();
            while seen.len() < count as usize {
                let Ok(got) = timeout(Duration::from_millis(500), b.recv()).await else { break };
                let (_, bytes) = got.expect("recv");
                seen.insert(u32::from_le_bytes(bytes[..4].try_into().expect("4 bytes")));
            }
            seen.len()
        })
    };
    let to = b.local_addr();
    for i in 0..count {
        a.send(&to, payload(4000 + i, 100)).await.expect("send");
        // b also sends while its receiver task is parked in recv.
        b.send(&a.local_addr(), payload(5000 + i, 10)).await.expect("send while receiving");
        if i % 16 == 15 {
            tokio::task::yield_now().await;
        }
    }
    let got = receiver.await.expect("receiver task");
    assert!(got * 10 >= count as usize * 9, "only {got} of {count} arrived with concurrent send and recv");
}

//! Sealed datagrams: the header, sealing with XChaCha20-Poly1305 under a
//! nonce made of the sender instance and its counter, and opening with
//! the clock and replay checks. The layout is in `docs/wire.md`.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};

use crate::clock::WallClock;
use crate::framing::{CLUSTER_ID_LEN, Rejection};
use crate::keys::KeyRing;
use crate::replay::{ReplayTable, Verdict};

/// Bytes of the sealed header: cluster id (8), key id (1), sender
/// instance (8), counter (8), unix seconds (4). All of it is associated
/// data.
pub const HEADER_LEN: usize = CLUSTER_ID_LEN + 1 + 8 + 8 + 4;
/// Bytes of the Poly1305 tag.
pub const TAG_LEN: usize = 16;
/// Bytes a sealed datagram adds to the engine's packet.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;

const KEY_ID_AT: usize = CLUSTER_ID_LEN;
const INSTANCE_AT: usize = KEY_ID_AT + 1;
const COUNTER_AT: usize = INSTANCE_AT + 8;
const TIME_AT: usize = COUNTER_AT + 8;

/// The sender's counter reached `u64::MAX`: sealing more would repeat a
/// nonce (2^64 datagrams; no transport lives that long).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CounterExhausted;

/// What one sealed transport needs: its ciphers for the cluster, its
/// sender instance and counter, its clock and its receivers' windows.
pub(crate) struct Sealer {
    cluster_id: u64,
    instance: u64,
    next_counter: AtomicU64,
    /// The sealing key first, then every accepted key, by key id.
    ciphers: Vec<(u8, XChaCha20Poly1305)>,
    clock: WallClock,
    max_skew: u64,
    replay: Mutex<ReplayTable>,
}

impl Sealer {
    /// Ciphers for `cluster_id` from `keys`; datagrams from this sender
    /// carry `instance` (drawn at random per transport).
    pub(crate) fn new(
        keys: &KeyRing,
        cluster_id: u64,
        instance: u64,
        clock: WallClock,
        max_skew: Duration,
        senders: usize,
    ) -> Self {
        let ciphers =
            keys.keys().map(|key| (key.id(), XChaCha20Poly1305::new(&Key::from(key.cipher_key(cluster_id))))).collect();
        Sealer {
            cluster_id,
            instance,
            next_counter: AtomicU64::new(0),
            ciphers,
            clock,
            max_skew: max_skew.as_secs(),
            replay: Mutex::new(ReplayTable::new(senders)),
        }
    }

    /// Appends the sealed form of `plain` to `out`: the header, then
    /// `plain` encrypted in place where it was copied, then the tag. No
    /// allocation when `out` has room.
    pub(crate) fn seal_into(&self, plain: &[u8], out: &mut Vec<u8>) -> Result<(), CounterExhausted> {
        let counter = self
            .next_counter
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| c.checked_add(1))
            .map_err(|_| CounterExhausted)?;
        let (id, cipher) = &self.ciphers[0];
        let start = out.len();
        out.reserve(plain.len() + OVERHEAD);
        out.extend_from_slice(&self.cluster_id.to_le_bytes());
        out.push(*id);
        out.extend_from_slice(&self.instance.to_le_bytes());
        out.extend_from_slice(&counter.to_le_bytes());
        out.extend_from_slice(&self.clock.now_secs().to_le_bytes());
        let body = out.len();
        out.extend_from_slice(plain);
        let (header, body) = out[start..].split_at_mut(body - start);
        let tag = cipher
            .encrypt_inout_detached(&nonce(self.instance, counter), header, body.into())
            .expect("XChaCha20-Poly1305 seals any datagram-sized buffer");
        out.extend_from_slice(tag.as_slice());
        Ok(())
    }

    /// Opens a sealed datagram in place and returns the plaintext's range,
    /// or why it is refused: another cluster, not authentic under any key
    /// of its id, a timestamp further than the allowed skew from this
    /// node's clock, or a counter its sender's window has seen or left
    /// behind.
    pub(crate) fn open(&self, datagram: &mut [u8]) -> Result<Range<usize>, Rejection> {
        if datagram.len() < OVERHEAD {
            return Err(Rejection::Unauthentic);
        }
        let field = |at: usize| u64::from_le_bytes(datagram[at..at + 8].try_into().unwrap_or_default());
        if field(0) != self.cluster_id {
            return Err(Rejection::ForeignCluster);
        }
        let (id, instance, counter) = (datagram[KEY_ID_AT], field(INSTANCE_AT), field(COUNTER_AT));
        let time = u32::from_le_bytes(datagram[TIME_AT..HEADER_LEN].try_into().unwrap_or_default());
        let tag_at = datagram.len() - TAG_LEN;
        let tag = Tag::try_from(&datagram[tag_at..]).map_err(|_| Rejection::Unauthentic)?;
        let nonce = nonce(instance, counter);
        let (header, rest) = datagram.split_at_mut(HEADER_LEN);
        let body = &mut rest[..tag_at - HEADER_LEN];
        // XChaCha20-Poly1305 checks the tag before it decrypts, so a failed
        // attempt leaves the ciphertext intact for the next key.
        let opened = self
            .ciphers
            .iter()
            .filter(|(key_id, _)| *key_id == id)
            .any(|(_, cipher)| cipher.decrypt_inout_detached(&nonce, header, body.into(), &tag).is_ok());
        if !opened {
            return Err(Rejection::Unauthentic);
        }
        if u64::from(time).abs_diff(u64::from(self.clock.now_secs())) > self.max_skew {
            return Err(Rejection::ClockSkew);
        }
        let verdict = self.replay.lock().unwrap_or_else(PoisonError::into_inner).admit((id, instance), counter);
        match verdict {
            Verdict::Fresh => Ok(HEADER_LEN..tag_at),
            Verdict::Replayed => Err(Rejection::Replayed),
            Verdict::TooOld => Err(Rejection::TooOld),
        }
    }

    /// Replay windows evicted to make room for new senders.
    pub(crate) fn window_evictions(&self) -> u64 {
        self.replay.lock().unwrap_or_else(PoisonError::into_inner).evictions()
    }
}

/// The 24-byte nonce: sender instance, counter, zeros. Unique per key as
/// long as instances differ (64 random bits each) and a counter never
/// repeats within an instance.
fn nonce(instance: u64, counter: u64) -> XNonce {
    let mut nonce = [0u8; 24];
    nonce[..8].copy_from_slice(&instance.to_le_bytes());
    nonce[8..16].copy_from_slice(&counter.to_le_bytes());
    XNonce::from(nonce)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ClusterKey;

    fn sealer(keys: &KeyRing, cluster: u64, instance: u64, clock: WallClock) -> Sealer {
        Sealer::new(keys, cluster, instance, clock, Duration::from_secs(60), 16)
    }

    fn sealed(by: &Sealer, plain: &[u8]) -> Vec<u8> {
        let mut out = vec![0xAA];
        by.seal_into(plain, &mut out).unwrap();
        assert_eq!(out.remove(0), 0xAA, "appended after what the buffer held");
        out
    }

    #[tokio::test(start_paused = true)]
    async fn seal_open_rotate_and_reject() {
        let clock = WallClock::system();
        let (old, new) = (ClusterKey::from_bytes(1, [1; 32]), ClusterKey::from_bytes(2, [2; 32]));
        let sender = sealer(&KeyRing::new(old.clone()), 9, 77, clock);
        let receiver = sealer(&KeyRing::new(new.clone()).accept(old), 9, 78, clock);
        let first = sealed(&sender, b"hello");
        assert_eq!(first.len(), 5 + OVERHEAD);
        assert_eq!(first[KEY_ID_AT], 1);
        assert_eq!(receiver.open(&mut first.clone()), Ok(HEADER_LEN..HEADER_LEN + 5));
        let mut copy = first.clone();
        let range = sealer(&KeyRing::new(new.clone()).accept(ClusterKey::from_bytes(1, [1; 32])), 9, 1, clock)
            .open(&mut copy)
            .unwrap();
        assert_eq!(&copy[range], b"hello");
        assert_eq!(receiver.open(&mut first.clone()), Err(Rejection::Replayed));

        let strict = sealer(&KeyRing::new(new), 9, 79, clock);
        assert_eq!(strict.open(&mut first.clone()), Err(Rejection::Unauthentic));
        let second = sealed(&sender, b"hello");
        assert_ne!(second[COUNTER_AT..TIME_AT], first[COUNTER_AT..TIME_AT], "counters differ");
        for i in 0..second.len() {
            let mut bad = second.clone();
            bad[i] ^= 0x40;
            let refused = receiver.open(&mut bad);
            let expected = if i < CLUSTER_ID_LEN { Rejection::ForeignCluster } else { Rejection::Unauthentic };
            assert_eq!(refused, Err(expected), "bit flip at {i}");
        }
        assert_eq!(receiver.open(&mut second.clone()).map(|r| r.len()), Ok(5), "flips did not burn the counter");
        assert_eq!(receiver.open(&mut [9u8; 10]), Err(Rejection::Unauthentic));
    }

    #[tokio::test(start_paused = true)]
    async fn timestamps_beyond_the_skew_and_other_clusters_are_refused() {
        let clock = WallClock::system();
        let keys = KeyRing::new(ClusterKey::from_bytes(1, [1; 32]));
        let receiver = sealer(&keys, 9, 1, clock);
        let ahead = sealed(&sealer(&keys, 9, 2, clock.shifted(61)), b"x");
        assert_eq!(receiver.open(&mut ahead.clone()), Err(Rejection::ClockSkew));
        let behind = sealed(&sealer(&keys, 9, 3, clock.shifted(-61)), b"x");
        assert_eq!(receiver.open(&mut behind.clone()), Err(Rejection::ClockSkew));
        let within = sealed(&sealer(&keys, 9, 4, clock.shifted(-59)), b"x");
        assert!(receiver.open(&mut within.clone()).is_ok());
        // The same secret in another cluster: another cluster id, and a
        // cipher key that does not open this cluster's datagrams either.
        let mut foreign = sealed(&sealer(&keys, 10, 5, clock), b"x");
        assert_eq!(receiver.open(&mut foreign.clone()), Err(Rejection::ForeignCluster));
        foreign[..CLUSTER_ID_LEN].copy_from_slice(&9u64.to_le_bytes());
        assert_eq!(receiver.open(&mut foreign), Err(Rejection::Unauthentic));
        // A capture replayed after a long silence.
        let capture = sealed(&sealer(&keys, 9, 6, clock), b"x");
        assert!(receiver.open(&mut capture.clone()).is_ok());
        tokio::time::advance(Duration::from_secs(76)).await;
        assert_eq!(receiver.open(&mut capture.clone()), Err(Rejection::ClockSkew));
    }
}

//! Cluster keys and the sealing of datagrams with ChaCha20-Poly1305.

use std::fmt;
use std::sync::Mutex;

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use sha2::{Digest, Sha256};

/// Bytes of the key id.
pub const KEY_ID_LEN: usize = 1;
/// Bytes of the nonce.
pub const NONCE_LEN: usize = 12;
/// Bytes of the authentication tag.
pub const TAG_LEN: usize = 16;
/// Bytes a sealed datagram adds to its contents.
pub const OVERHEAD: usize = KEY_ID_LEN + NONCE_LEN + TAG_LEN;

/// A 32-byte cluster key with a one-byte id that travels in every datagram
/// so the receiver knows which key to try.
#[derive(Clone)]
pub struct ClusterKey {
    id: u8,
    cipher: ChaCha20Poly1305,
}

impl fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl ClusterKey {
    /// A key from 32 raw bytes (from a secrets store, say).
    pub fn from_bytes(id: u8, bytes: [u8; 32]) -> Self {
        ClusterKey { id, cipher: ChaCha20Poly1305::new(&Key::from(bytes)) }
    }

    /// A key derived from a passphrase: SHA-256 over a fixed domain label,
    /// the passphrase's length and the passphrase. This is no password
    /// hash: use a long random passphrase (it is a shared machine secret).
    pub fn from_passphrase(id: u8, passphrase: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"gossip transport-udp cluster key v1\0");
        hash.update((passphrase.len() as u64).to_le_bytes());
        hash.update(passphrase.as_bytes());
        let digest: [u8; 32] = hash.finalize().into();
        Self::from_bytes(id, digest)
    }

    /// The key id.
    pub fn id(&self) -> u8 {
        self.id
    }
}

/// The keys of a cluster: one that seals what this node sends, and older
/// ones still accepted on receipt, so keys can be rotated without a flag
/// day (add the new key as accepted everywhere, then make it the sealing
/// key everywhere, then drop the old one).
pub struct KeyRing {
    sealing: ClusterKey,
    accepted: Vec<ClusterKey>,
    /// The next nonce: a random 96-bit start, incremented per datagram, so
    /// nonces never repeat within a process and collide across processes
    /// only with negligible probability.
    nonce: Mutex<u128>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing").field("sealing", &self.sealing).field("accepted", &self.accepted).finish()
    }
}

impl Clone for KeyRing {
    /// A copy with a fresh random nonce start.
    fn clone(&self) -> Self {
        let mut ring = KeyRing::new(self.sealing.clone());
        ring.accepted = self.accepted.clone();
        ring
    }
}

/// Why a datagram did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OpenError;

impl KeyRing {
    /// A ring that seals and accepts `key`.
    pub fn new(key: ClusterKey) -> Self {
        let mut seed = [0u8; 16];
        if getrandom::fill(&mut seed).is_err() {
            // No OS randomness: fall back to the clock and address-space
            // layout; nonces still never repeat within this process.
            let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            seed = (t.as_nanos() ^ (&seed as *const _ as usize as u128)).to_le_bytes();
        }
        KeyRing { sealing: key, accepted: Vec::new(), nonce: Mutex::new(u128::from_le_bytes(seed)) }
    }

    /// Also accept `key` on receipt (an older or a newer key).
    pub fn accept(mut self, key: ClusterKey) -> Self {
        self.accepted.push(key);
        self
    }

    fn next_nonce(&self) -> [u8; NONCE_LEN] {
        let mut guard = self.nonce.lock().unwrap_or_else(|p| p.into_inner());
        *guard = guard.wrapping_add(1);
        let bytes = guard.to_le_bytes();
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[..NONCE_LEN]);
        nonce
    }

    /// Appends the sealed form of `plain` to `out`: key id, nonce, then
    /// `plain` encrypted in place where it was copied, then the tag. No
    /// allocation when `out` has room.
    pub(crate) fn seal_into(&self, plain: &[u8], out: &mut Vec<u8>) {
        let nonce = self.next_nonce();
        out.reserve(plain.len() + OVERHEAD);
        out.push(self.sealing.id);
        out.extend_from_slice(&nonce);
        let body = out.len();
        out.extend_from_slice(plain);
        let aad = [self.sealing.id];
        let tag = self
            .sealing
            .cipher
            .encrypt_inout_detached(&Nonce::from(nonce), &aad, (&mut out[body..]).into())
            .expect("ChaCha20-Poly1305 seals any datagram-sized buffer");
        out.extend_from_slice(tag.as_slice());
    }

    /// Opens a sealed datagram in place; returns the plaintext's range.
    pub(crate) fn open(&self, datagram: &mut [u8]) -> Result<std::ops::Range<usize>, OpenError> {
        if datagram.len() < OVERHEAD {
            return Err(OpenError);
        }
        let id = datagram[0];
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&datagram[KEY_ID_LEN..KEY_ID_LEN + NONCE_LEN]);
        let tag_at = datagram.len() - TAG_LEN;
        let mut tag_bytes = [0u8; TAG_LEN];
        tag_bytes.copy_from_slice(&datagram[tag_at..]);
        let tag = Tag::from(tag_bytes);
        let body = KEY_ID_LEN + NONCE_LEN..tag_at;
        let nonce = Nonce::from(nonce);
        for key in std::iter::once(&self.sealing).chain(&self.accepted).filter(|k| k.id == id) {
            // ChaCha20-Poly1305 verifies the tag before it decrypts, so a
            // failed attempt leaves the ciphertext intact for the next key.
            if key.cipher.decrypt_inout_detached(&nonce, &[id], (&mut datagram[body.clone()]).into(), &tag).is_ok() {
                return Ok(body);
            }
        }
        Err(OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_rotate_and_reject() {
        let old = ClusterKey::from_passphrase(1, "old secret");
        let new = ClusterKey::from_passphrase(2, "new secret");
        let sender_old = KeyRing::new(old.clone());
        let receiver = KeyRing::new(new.clone()).accept(old.clone());
        let mut sealed = vec![0xAA];
        sender_old.seal_into(b"hello", &mut sealed);
        // Appended after what the buffer held.
        assert_eq!(sealed.remove(0), 0xAA);
        assert_eq!(sealed.len(), 5 + OVERHEAD);
        assert_eq!(sealed[0], 1);
        let mut copy = sealed.clone();
        let range = receiver.open(&mut copy).unwrap();
        assert_eq!(&copy[range], b"hello");

        // A ring without the old key rejects it.
        let strict = KeyRing::new(new);
        assert_eq!(strict.open(&mut sealed.clone()), Err(OpenError));
        // Any flipped bit is rejected.
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x40;
            assert_eq!(receiver.open(&mut bad), Err(OpenError), "bit flip at {i} accepted");
        }
        assert_eq!(receiver.open(&mut [1u8; 10]), Err(OpenError));
        // Nonces differ between datagrams.
        let mut again = Vec::new();
        sender_old.seal_into(b"hello", &mut again);
        assert_ne!(again[1..13], sealed[1..13]);
    }
}

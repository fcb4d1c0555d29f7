//! Cluster keys: where their secret comes from (HKDF-SHA256 over 32 random
//! bytes, Argon2id over a passphrase) and the ring of keys a node seals
//! with and accepts.

use std::fmt;

use argon2::{Algorithm, Argon2, Params, Version};
use hkdf::Hkdf;
use sha2::Sha256;
use thiserror::Error;

/// HKDF-Extract salt: the domain of every key this crate makes.
const EXTRACT_SALT: &[u8] = b"gossip transport-udp cluster key v2";
/// HKDF-Expand info prefix of the AEAD key; the cluster id and key id follow.
const EXPAND_LABEL: &[u8] = b"gossip transport-udp xchacha20poly1305 v2";
/// Argon2id salt prefix; the cluster id (8 bytes, little endian) follows.
const PASSPHRASE_SALT: &[u8] = b"gossip transport-udp passphrase v2";

/// Argon2id memory cost, KiB (19 MiB: OWASP's first recommended setting).
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id passes over the memory.
pub const ARGON2_PASSES: u32 = 2;
/// Argon2id lanes.
pub const ARGON2_LANES: u32 = 1;

/// Why a key could not be made.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Argon2id refused the passphrase (longer than 2^32 - 1 bytes).
    #[error("passphrase key derivation failed: {0}")]
    Passphrase(String),
}

/// A cluster secret with a one-byte id that travels in every datagram so
/// the receiver knows which key to try. It holds the HKDF pseudo-random key;
/// the cipher key is expanded from it per cluster id when a transport is
/// bound. `Debug` shows the id only.
#[derive(Clone)]
pub struct ClusterKey {
    id: u8,
    prk: [u8; 32],
}

impl fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl ClusterKey {
    /// A key from 32 secret random bytes (a key file, a secrets store):
    /// HKDF-SHA256 extract with a fixed domain salt. Cheap.
    pub fn from_bytes(id: u8, bytes: [u8; 32]) -> Self {
        let (prk, _) = Hkdf::<Sha256>::extract(Some(EXTRACT_SALT), &bytes);
        ClusterKey { id, prk: prk.into() }
    }

    /// A key from a passphrase: Argon2id (memory [`ARGON2_MEMORY_KIB`],
    /// [`ARGON2_PASSES`] passes, [`ARGON2_LANES`] lane) salted with a domain
    /// label and `cluster_id` (give the same id as
    /// [`UdpConfig::cluster_id`](crate::UdpConfig::cluster_id)), then as
    /// [`from_bytes`](Self::from_bytes). Deliberately slow: about 50–100 ms
    /// and 19 MiB once per key on a current core, so a captured datagram
    /// does not let an outsider try passphrases fast. A short or guessable
    /// passphrase is still weak; a key file of random bytes is better.
    pub fn from_passphrase(id: u8, passphrase: &str, cluster_id: u64) -> Result<Self, KeyError> {
        let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES, Some(32))
            .map_err(|e| KeyError::Passphrase(e.to_string()))?;
        let mut salt = PASSPHRASE_SALT.to_vec();
        salt.extend_from_slice(&cluster_id.to_le_bytes());
        let mut secret = [0u8; 32];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), &salt, &mut secret)
            .map_err(|e| KeyError::Passphrase(e.to_string()))?;
        Ok(Self::from_bytes(id, secret))
    }

    /// The key id.
    pub fn id(&self) -> u8 {
        self.id
    }

    /// The 32-byte AEAD key for `cluster_id`: HKDF-SHA256 expand with a
    /// label, the cluster id and the key id, so one secret gives unrelated
    /// keys in two clusters.
    pub(crate) fn cipher_key(&self, cluster_id: u64) -> [u8; 32] {
        let mut info = EXPAND_LABEL.to_vec();
        info.extend_from_slice(&cluster_id.to_le_bytes());
        info.push(self.id);
        let mut key = [0u8; 32];
        let hk = Hkdf::<Sha256>::from_prk(&self.prk).expect("a SHA-256 PRK is 32 bytes");
        hk.expand(&info, &mut key).expect("HKDF-SHA256 expands 32 bytes");
        key
    }
}

/// The keys of a cluster: one that seals what this node sends, and older
/// or newer ones still accepted on receipt, so keys can be rotated without
/// a flag day (add the new key as accepted everywhere, then make it the
/// sealing key everywhere, then drop the old one).
#[derive(Clone, Debug)]
pub struct KeyRing {
    sealing: ClusterKey,
    accepted: Vec<ClusterKey>,
}

impl KeyRing {
    /// A ring that seals and accepts `key`.
    pub fn new(key: ClusterKey) -> Self {
        KeyRing { sealing: key, accepted: Vec::new() }
    }

    /// Also accept `key` on receipt (an older or a newer key).
    pub fn accept(mut self, key: ClusterKey) -> Self {
        self.accepted.push(key);
        self
    }

    /// The sealing key, then every accepted key.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &ClusterKey> {
        std::iter::once(&self.sealing).chain(&self.accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_keys_differ_by_secret_cluster_and_id() {
        let a = ClusterKey::from_bytes(1, [7; 32]);
        assert_eq!(a.cipher_key(5), ClusterKey::from_bytes(1, [7; 32]).cipher_key(5));
        assert_ne!(a.cipher_key(5), a.cipher_key(6));
        assert_ne!(a.cipher_key(5), ClusterKey::from_bytes(2, [7; 32]).cipher_key(5));
        assert_ne!(a.cipher_key(5), ClusterKey::from_bytes(1, [8; 32]).cipher_key(5));
        assert!(!format!("{a:?}").contains('7'), "Debug leaks the secret: {a:?}");
    }

    #[test]
    fn passphrase_keys_are_salted_by_cluster_id() {
        let one = ClusterKey::from_passphrase(1, "secret", 1).unwrap();
        let again = ClusterKey::from_passphrase(1, "secret", 1).unwrap();
        let other_cluster = ClusterKey::from_passphrase(1, "secret", 2).unwrap();
        assert_eq!(one.prk, again.prk);
        assert_ne!(one.prk, other_cluster.prk);
        assert_ne!(one.prk, ClusterKey::from_passphrase(1, "secreT", 1).unwrap().prk);
    }
}

//! A member's name and tags, as they travel in the member `meta` bytes.
//!
//! The compact format, version 1: one byte `1`, then length-prefixed
//! strings (one length byte, then that many UTF-8 bytes): the name, then
//! each tag's key and value in key order. At most [`MAX_META`] bytes in all.
//! Another first byte is an error, and so is a key without a value.

use std::collections::BTreeMap;

use thiserror::Error;

/// The format's version byte.
pub const VERSION: u8 = 1;
/// The longest name, tag key or tag value, in bytes.
pub const MAX_FIELD: usize = 255;
/// The most bytes the encoding may take (the engine's default meta cap).
pub const MAX_META: usize = 512;

/// A member's name and tags.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct NodeMeta {
    /// The node's name.
    pub name: String,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
}

/// Why meta bytes could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MetaError {
    /// A name, key or value is longer than [`MAX_FIELD`] bytes.
    #[error("`{0}` is longer than 255 bytes")]
    FieldTooLong(String),
    /// The whole encoding exceeds [`MAX_META`] bytes.
    #[error("name and tags take {0} bytes, more than the 512 allowed")]
    TooLarge(usize),
    /// Not version 1.
    #[error("unknown meta version {0}")]
    Version(u8),
    /// Cut short, or a string that is not UTF-8, or a key without value.
    #[error("malformed meta")]
    Malformed,
}

impl NodeMeta {
    /// Encodes in the compact format.
    pub fn encode(&self) -> Result<Vec<u8>, MetaError> {
        let mut out = vec![VERSION];
        let mut put = |s: &str| {
            if s.len() > MAX_FIELD {
                return Err(MetaError::FieldTooLong(s.to_owned()));
            }
            out.push(s.len() as u8);
            out.extend_from_slice(s.as_bytes());
            Ok(())
        };
        put(&self.name)?;
        for (k, v) in &self.tags {
            put(k)?;
            put(v)?;
        }
        if out.len() > MAX_META {
            return Err(MetaError::TooLarge(out.len()));
        }
        Ok(out)
    }

    /// Decodes the compact format.
    pub fn decode(bytes: &[u8]) -> Result<Self, MetaError> {
        let (&version, mut rest) = bytes.split_first().ok_or(MetaError::Malformed)?;
        if version != VERSION {
            return Err(MetaError::Version(version));
        }
        let name = take(&mut rest)?;
        let mut tags = BTreeMap::new();
        while !rest.is_empty() {
            let key = take(&mut rest)?;
            tags.insert(key, take(&mut rest)?);
        }
        Ok(NodeMeta { name, tags })
    }
}

/// One length-prefixed string off the front of `rest`.
fn take(rest: &mut &[u8]) -> Result<String, MetaError> {
    let (&len, tail) = rest.split_first().ok_or(MetaError::Malformed)?;
    let (s, tail) = tail.split_at_checked(usize::from(len)).ok_or(MetaError::Malformed)?;
    *rest = tail;
    String::from_utf8(s.to_vec()).map_err(|_| MetaError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let meta =
            NodeMeta { name: "web-1".into(), tags: [("dc".into(), "fra".into()), ("role".into(), "".into())].into() };
        let bytes = meta.encode().unwrap();
        assert_eq!(&bytes[..7], b"\x01\x05web-1");
        assert_eq!(NodeMeta::decode(&bytes).unwrap(), meta);
        for cut in 0..bytes.len() {
            // Every strict prefix that ends inside a field, or after a key, fails.
            let prefix = &bytes[..cut];
            if let Ok(m) = NodeMeta::decode(prefix) {
                assert!(m.tags.len() < meta.tags.len());
            }
        }
        assert_eq!(NodeMeta::decode(&[2, 0]), Err(MetaError::Version(2)));
        assert_eq!(NodeMeta::decode(&[1, 1, 0xff]), Err(MetaError::Malformed));
        assert_eq!(NodeMeta::decode(&[1, 0, 1, b'k']), Err(MetaError::Malformed));
        let long = NodeMeta { name: "x".repeat(256), tags: BTreeMap::new() };
        assert!(matches!(long.encode(), Err(MetaError::FieldTooLong(_))));
        let big = NodeMeta { name: "n".into(), tags: (0..3).map(|i| (format!("{i}"), "v".repeat(200))).collect() };
        assert!(matches!(big.encode(), Err(MetaError::TooLarge(_))));
    }
}

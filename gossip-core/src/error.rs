//! Typed errors: malformed packets, refused multicasts, invalid configs.

use thiserror::Error;

/// Why a packet could not be decoded. The packet is dropped whole and
/// counted in [`CommonStats::decode_errors`](crate::CommonStats::decode_errors).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet or one of its fields ended early.
    #[error("packet truncated")]
    Truncated,
    /// The first byte names a wire version this build does not speak.
    #[error("unknown wire version {0}")]
    UnknownVersion(u8),
    /// A frame type this build does not know.
    #[error("unknown frame type {0:#04x}")]
    UnknownFrame(u8),
    /// A variable-length integer ran past 10 bytes or past 64 bits.
    #[error("malformed varint")]
    BadVarint,
    /// A count or length is larger than the wire format allows.
    #[error("{field} too large: {value}")]
    TooLarge {
        /// Which field.
        field: &'static str,
        /// The value found.
        value: u64,
    },
    /// An address did not decode.
    #[error("malformed address")]
    BadAddress,
    /// A field holds a value outside its range (an unknown status, say).
    #[error("invalid value for {0}")]
    InvalidValue(&'static str),
    /// The packet is longer than the configured maximum packet size.
    #[error("packet of {len} bytes exceeds the maximum of {max}")]
    Oversized {
        /// Length of the packet.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The protocol keeps no member metadata.
    #[error("this protocol keeps no member metadata")]
    Unsupported,
}

/// Why [`multicast`](crate::Protocol::multicast) refused a message.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MulticastError {
    /// The payload is larger than `max_message_size` (by default, what fits
    /// in one packet of `max_packet_size`).
    #[error("payload of {size} bytes exceeds the maximum message size of {max} bytes")]
    PayloadTooLarge {
        /// Payload length.
        size: usize,
        /// The largest payload that fits.
        max: usize,
    },
    /// The node has left the cluster and no longer sends.
    #[error("the node has left")]
    Left,
    /// The node's stream table is full and this group would need a new one.
    #[error("too many active streams")]
    TooManyStreams,
}

/// Why [`Config`](crate::Config) rejected a value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid config `{field}`: {reason}")]
pub struct ConfigError {
    /// The name of the offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

/// Why a group subscription was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum SubscribeError {
    /// The node already belongs to `max_groups` groups.
    #[error("already subscribed to the maximum of {max} groups")]
    TooManyGroups {
        /// The configured cap.
        max: usize,
    },
}

/// Every error the engine returns, for callers that want one type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A packet did not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A multicast was refused.
    #[error(transparent)]
    Multicast(#[from] MulticastError),
    /// A config value was invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A subscription was refused.
    #[error(transparent)]
    Subscribe(#[from] SubscribeError),
}

/// Why [`Node::set_meta`](crate::Node::set_meta) refused.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MetaError {
    /// The metadata is larger than `max_meta_len`.
    #[error("metadata of {size} bytes exceeds the {max}-byte maximum")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The protocol keeps no member metadata.
    #[error("this protocol keeps no member metadata")]
    Unsupported,
}

//! The wire codec, for this crate's own tests, fuzzers and benchmarks only.
//!
//! Compiled only with the `codec` feature (off by default). It re-exports
//! the private `wire` module as it is: frame types, the decoder and the
//! packet writer, so a property test can build and mangle packets and a
//! benchmark can time encoding and decoding. It is not a stable API and
//! follows the wire format (`docs/wire.md`) wherever that goes; a driver
//! never needs it, since every [`Transmit`](crate::Transmit) says what it is
//! for ([`TransmitKind`](crate::TransmitKind)).

pub use crate::wire::*;

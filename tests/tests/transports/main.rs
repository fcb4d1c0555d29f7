//! Every transport in the workspace against `gossip_runtime::conformance`,
//! plus each transport's own checks at the transport level.

mod mem;
mod quic;
mod udp;

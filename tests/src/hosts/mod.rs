//! The multi-host suite's machinery: network namespaces on a bridge with
//! `nft` loss and partition rules ([`net`]), one `gossip-node` process per
//! namespace ([`agent`]), and a small HTTP/1.1 client with a Server-Sent
//! Events reader that counts deliveries ([`http`]).

pub mod agent;
pub mod http;
pub mod net;

//! The protocols gossip-bench can run: the gossip engine and the four
//! baselines of the `baselines` crate, built for the simulator or for live
//! transports (a slow member is the link model's: `LinkModel::set_slow`).

use baselines::wire::WireError;
use baselines::{BaselineConfig, BaselineStats, Rmtp, Seat, Srm, Tree, Unicast};
use bytes::Bytes;
use clap::ValueEnum;
use gossip_core::{Event, GroupId, MessageId, MulticastError, Protocol, SubscribeError, Time, Transmit};

/// Which protocol to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, ValueEnum)]
pub enum ProtocolKind {
    /// The gossip engine (gossip-core's `Node`).
    Gossip,
    /// Unicast loop: the origin sends a copy to every member.
    Unicast,
    /// Balanced k-ary spanning tree rooted at the origin, no repair.
    Tree,
    /// Tree plus SRM-style NACK repair with random back-off.
    Srm,
    /// Tree plus RMTP-style ACKs to designated receivers and retransmission.
    Rmtp,
}

impl ProtocolKind {
    /// Every protocol, gossip first.
    pub const ALL: [ProtocolKind; 5] =
        [ProtocolKind::Gossip, ProtocolKind::Unicast, ProtocolKind::Tree, ProtocolKind::Srm, ProtocolKind::Rmtp];

    /// The name used in results.
    pub fn name(self) -> &'static str {
        match self {
            ProtocolKind::Gossip => "gossip",
            ProtocolKind::Unicast => "unicast",
            ProtocolKind::Tree => "tree",
            ProtocolKind::Srm => "srm",
            ProtocolKind::Rmtp => "rmtp",
        }
    }

    /// Whether the protocol arranges members in a k-ary tree (where
    /// `--fanout` is the tree's arity k).
    pub fn uses_tree(self) -> bool {
        matches!(self, ProtocolKind::Tree | ProtocolKind::Srm | ProtocolKind::Rmtp)
    }
}

/// The baselines' settings for a tree of arity `k` and packets of `max_packet_size`.
pub fn baseline_config(k: u32, max_packet_size: usize) -> BaselineConfig {
    BaselineConfig { k: k.max(1), max_packet_size, ..BaselineConfig::default() }
}

/// A baseline protocol of any kind, so that one type runs all four.
pub enum Baseline<A> {
    /// Unicast loop.
    Unicast(Unicast<A>),
    /// Spanning tree.
    Tree(Tree<A>),
    /// SRM-style.
    Srm(Srm<A>),
    /// RMTP-style.
    Rmtp(Rmtp<A>),
}

impl<A: gossip_core::Address> Baseline<A> {
    /// Builds the node taking `seat` as `kind` (which must not be gossip).
    pub fn new(kind: ProtocolKind, seat: Seat<A>) -> Option<Self> {
        Some(match kind {
            ProtocolKind::Gossip => return None,
            ProtocolKind::Unicast => Baseline::Unicast(Unicast::new(seat)),
            ProtocolKind::Tree => Baseline::Tree(Tree::new(seat)),
            ProtocolKind::Srm => Baseline::Srm(Srm::new(seat)),
            ProtocolKind::Rmtp => Baseline::Rmtp(Rmtp::new(seat)),
        })
    }
}

macro_rules! each {
    ($self:expr, $p:ident => $e:expr) => {
        match $self {
            Baseline::Unicast($p) => $e,
            Baseline::Tree($p) => $e,
            Baseline::Srm($p) => $e,
            Baseline::Rmtp($p) => $e,
        }
    };
}

impl<A: gossip_core::Address> Protocol for Baseline<A> {
    type Address = A;
    type Stats = BaselineStats;
    type Error = WireError;
    type Custom = std::convert::Infallible;

    fn handle_packet(&mut self, now: Time, from: A, packet: Bytes) -> Result<(), WireError> {
        each!(self, p => p.handle_packet(now, from, packet))
    }
    fn handle_timeout(&mut self, now: Time) {
        each!(self, p => p.handle_timeout(now))
    }
    fn multicast(&mut self, now: Time, group: GroupId, payload: Bytes) -> Result<MessageId, MulticastError> {
        each!(self, p => p.multicast(now, group, payload))
    }
    fn subscribe(&mut self, now: Time, group: GroupId) -> Result<(), SubscribeError> {
        each!(self, p => p.subscribe(now, group))
    }
    fn unsubscribe(&mut self, now: Time, group: GroupId) {
        each!(self, p => p.unsubscribe(now, group))
    }
    fn join(&mut self, now: Time, seeds: &[A]) {
        each!(self, p => p.join(now, seeds))
    }
    fn leave(&mut self, now: Time) {
        each!(self, p => p.leave(now))
    }
    fn poll_transmit(&mut self) -> Option<Transmit<A>> {
        each!(self, p => p.poll_transmit())
    }
    fn poll_event(&mut self) -> Option<Event<A>> {
        each!(self, p => p.poll_event())
    }
    fn poll_timeout(&self) -> Option<Time> {
        each!(self, p => p.poll_timeout())
    }
    fn stats(&self) -> &BaselineStats {
        each!(self, p => p.stats())
    }
}

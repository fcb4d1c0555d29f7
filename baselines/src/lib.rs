//! The classic alternatives to gossip multicast, as sans-IO protocols.
//!
//! Four protocols implement gossip-core's [`Protocol`](gossip_core::Protocol)
//! trait, so the simulator, the in-memory network, UDP and QUIC run them as
//! they run the gossip `Node`:
//!
//! * [`Unicast`]: the origin sends a copy to every member.
//! * [`Tree`]: a balanced k-ary spanning tree rooted at the origin, no repair.
//! * [`Srm`]: tree (or direct) dissemination plus SRM-style receiver-driven
//!   repair: session messages and sequence gaps reveal losses, NACKs and
//!   repairs are multicast after random delays with suppression and
//!   exponential back-off.
//! * [`Rmtp`]: RMTP-style: the tree's interior nodes are designated
//!   receivers of their children, which ACK (several messages per ACK); a
//!   designated receiver retransmits what a child has not acknowledged and,
//!   when a child stays silent, serves the child's children itself.
//!
//! Membership is a read-only [`SharedMembers`](gossip_core::SharedMembers)
//! list shared by every node (the tree is a function of the list, sorted by
//! index, and of the origin's rank); each node is told its own index.
//! Packets name nodes by index ([`wire`]). Time and randomness are injected;
//! every queue and timer table is capped and its drops are counted.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod common;
mod config;
pub mod rmtp;
pub mod srm;
mod stats;
pub mod tree;
pub mod unicast;
pub mod wire;

pub use common::{Seat, tree_children, tree_parent};
pub use config::{BaselineConfig, Dissemination};
pub use rmtp::Rmtp;
pub use srm::Srm;
pub use stats::BaselineStats;
pub use tree::Tree;
pub use unicast::Unicast;

/// The [`Protocol`](gossip_core::Protocol) items every baseline shares:
/// its associated types and the methods it forwards to its `core`
/// unchanged; `delegate_protocol!(without_timers)` also adds the timer
/// methods of a baseline that sets none.
#[macro_export]
#[doc(hidden)]
macro_rules! delegate_protocol {
    (without_timers) => {
        $crate::delegate_protocol!();

        fn handle_timeout(&mut self, _now: Time) {}

        fn poll_timeout(&self) -> Option<Time> {
            None
        }
    };
    () => {
        type Address = A;
        type Stats = BaselineStats;
        type Error = WireError;
        type Custom = std::convert::Infallible;

        fn subscribe(&mut self, _now: Time, group: GroupId) -> Result<(), SubscribeError> {
            self.core.subscribe(group)
        }

        fn unsubscribe(&mut self, _now: Time, group: GroupId) {
            self.core.unsubscribe(group)
        }

        fn join(&mut self, _now: Time, _seeds: &[A]) {}

        fn leave(&mut self, _now: Time) {
            self.core.left = true;
        }

        fn poll_transmit(&mut self) -> Option<Transmit<A>> {
            self.core.poll_transmit()
        }

        fn poll_event(&mut self) -> Option<Event<A>> {
            self.core.poll_event()
        }

        fn stats(&self) -> &BaselineStats {
            &self.core.stats
        }
    };
}

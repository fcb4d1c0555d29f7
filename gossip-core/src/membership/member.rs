//! What a node knows of one member, as the public API shows it.

use bytes::Bytes;

use crate::ids::{GroupId, NodeId};

/// A member's state as this node believes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum MemberStatus {
    /// Answering probes (or not yet suspected).
    Alive,
    /// A probe went unanswered; dead unless it refutes within the
    /// suspicion timeout.
    Suspect,
    /// The suspicion timed out without a refutation.
    Dead,
    /// It announced that it left.
    Left,
}

impl MemberStatus {
    /// Whether it counts as a live member (a gossip target).
    pub fn is_live(self) -> bool {
        matches!(self, MemberStatus::Alive | MemberStatus::Suspect)
    }
}

/// One member of the cluster, as listed by [`Node::members`](crate::Node::members).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Member<A> {
    /// Its id (drawn afresh at every start).
    pub id: NodeId,
    /// Its transport address.
    pub addr: A,
    /// Alive, suspect, dead or left.
    pub status: MemberStatus,
    /// Its incarnation: raised only by the member itself, to refute a
    /// suspicion or announce a change of its own entry.
    pub incarnation: u64,
    /// The groups it belongs to, sorted.
    pub groups: Vec<GroupId>,
    /// The metadata it set for itself (opaque to the engine).
    pub meta: Bytes,
}

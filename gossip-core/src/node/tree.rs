//! [`Mode::Tree`]: each message travels down a spanning tree of its group
//! rooted at its origin, so a payload crosses each member about once; the
//! periodic pull repairs what a lost edge or a stale view missed.
//!
//! The tree needs no messages of its own: every member lays the group's
//! members (itself included) on a ring ordered by id (or by list index on a
//! shared list), starting at the origin; the member at ring rank `r` sends
//! to ranks `k·r + 1 ..= k·r + k` (`k` = the fan-out). Members whose views
//! agree build the same tree; where they do not, a member is reached twice
//! or not at all, and pull fills the gap within a round or two.

use super::*;

/// The sorted ring of one group's members, as this node last built it
/// (this node itself without an address).
#[derive(Debug)]
pub(super) struct Ring<A> {
    members: Vec<(NodeId, Option<A>)>,
}

/// Rings of the gossiped view, rebuilt when the membership changed.
#[derive(Debug)]
pub(super) struct Rings<A> {
    rings: BTreeMap<GroupId, Ring<A>>,
    /// A member came up or went down since the rings were built.
    pub(super) dirty: bool,
    /// The round they were built in (groups of members may change without
    /// an event: they are rebuilt at least every [`REBUILD_ROUNDS`]).
    built: u64,
    /// The last round a message found them dirty and rebuilt them.
    rebuilt_for_message: Option<u64>,
    /// A message was sent along them since they were built (rings no
    /// message uses are not kept fresh at each round).
    used: bool,
}

impl<A> Default for Rings<A> {
    fn default() -> Self {
        Rings { rings: BTreeMap::new(), dirty: true, built: 0, rebuilt_for_message: None, used: false }
    }
}

/// Rounds between rebuilds of the rings when no member came or went.
const REBUILD_ROUNDS: u64 = 10;

/// The ring ranks a member at rank `rank` of a ring of `len` sends to.
fn child_ranks(rank: usize, len: usize, arity: usize) -> impl Iterator<Item = usize> {
    let first = rank.saturating_mul(arity).saturating_add(1);
    (first..first.saturating_add(arity)).take_while(move |r| *r < len)
}

impl<A: Address, R: RngCore> Node<A, R> {
    /// Targets of a copy of a message of `group` from `origin` in tree mode:
    /// this node's children in the origin's tree. `None` when the origin is
    /// not on this node's ring of the group (a sender outside the group):
    /// such copies spread by random push instead.
    pub(super) fn tree_children(&mut self, group: GroupId, origin: NodeId, out: &mut Vec<A>) -> Option<()> {
        out.clear();
        let arity = (self.config.fanout as usize).max(2);
        match &self.view {
            View::Shared { members, index } => {
                let list = members.group(group);
                let own = match index {
                    Some(own) => *own,
                    None => members.index_of(self.id)?,
                };
                let origin_at = list.binary_search(&members.index_of(origin)?).ok()?;
                let me = list.binary_search(&own).ok()?;
                let len = list.len();
                let rank = (me + len - origin_at) % len;
                for child in child_ranks(rank, len, arity) {
                    let at = list[(origin_at + child) % len];
                    if let Some((_, addr)) = members.get(at) {
                        out.push(addr.clone());
                    }
                }
            }
            View::Gossiped(_) => {
                if (self.rings.dirty && self.rings.rebuilt_for_message != Some(self.round)) || self.rings_stale() {
                    self.rebuild_rings();
                    self.rings.rebuilt_for_message = Some(self.round);
                }
                self.rings.used = true;
                let ring = &self.rings.rings.get(&group)?.members;
                let origin_at = ring.binary_search_by_key(&origin, |(id, _)| *id).ok()?;
                let me = ring.binary_search_by_key(&self.id, |(id, _)| *id).ok()?;
                let len = ring.len();
                let rank = (me + len - origin_at) % len;
                for child in child_ranks(rank, len, arity) {
                    out.extend(ring[(origin_at + child) % len].1.clone());
                }
            }
        }
        Some(())
    }

    /// Rebuilds the rings of the subscribed groups from the member table
    /// at the start of a round, if messages use them and a member came or
    /// went since or they are [`REBUILD_ROUNDS`] old; so that no delivery
    /// waits for a rebuild. A message that finds them dirty between rounds
    /// (or stale after idle rounds) rebuilds them too, once a round at
    /// most, so a burst of membership changes costs one rebuild, not one
    /// per packet.
    pub(super) fn rebuild_rings_for_round(&mut self) {
        if self.rings.used && (self.rings.dirty || self.rings_stale()) {
            self.rebuild_rings();
        }
    }

    fn rings_stale(&self) -> bool {
        self.round >= self.rings.built.saturating_add(REBUILD_ROUNDS)
    }

    fn rebuild_rings(&mut self) {
        let View::Gossiped(m) = &self.view else { return };
        let mut rings: BTreeMap<GroupId, Ring<A>> = BTreeMap::new();
        for group in &self.subscriptions {
            let mut members = Vec::with_capacity(m.group_len(*group) + 1);
            members.push((self.id, None));
            members.extend(m.group_members(*group).map(|(id, addr)| (id, Some(addr.clone()))));
            members.sort_unstable_by_key(|(id, _)| *id);
            members.dedup_by_key(|(id, _)| *id);
            rings.insert(*group, Ring { members });
        }
        let rebuilt_for_message = self.rings.rebuilt_for_message;
        self.rings = Rings { rings, dirty: false, built: self.round, rebuilt_for_message, used: false };
    }

    /// Tree mode's eager step for new messages (multicast or relayed):
    /// queues copies of `frames` for the children in each origin's tree,
    /// sent when the transmits are next polled, so that what one input
    /// batch (a turn of commands, a batch of packets) brings shares packets.
    /// A full queue is sent at once.
    pub(super) fn defer_tree(&mut self, frames: impl IntoIterator<Item = MessageFrame>) {
        self.eager.extend(frames);
        if self.eager.len() >= MAX_DEFERRED {
            self.flush_tree();
        }
    }

    /// Sends what [`defer_tree`](Self::defer_tree) queued.
    pub(super) fn flush_tree(&mut self) {
        let mut frames = std::mem::take(&mut self.eager);
        frames.sort_by_key(|frame| frame.id.group);
        let mut rest = &frames[..];
        while let Some(group) = rest.first().map(|frame| frame.id.group) {
            let end = rest.iter().take_while(|f| f.id.group == group).count();
            self.push_tree(group, &rest[..end]);
            rest = &rest[end..];
        }
        // Keep the buffer: `push_tree` queues nothing here.
        frames.clear();
        self.eager = frames;
    }

    /// Sends `frames` (all of `group`) to this node's children in each
    /// origin's tree, or by random push for origins off the ring. Returns
    /// whether anything was sent.
    pub(super) fn push_tree(&mut self, group: GroupId, frames: &[MessageFrame]) -> bool {
        let mut sent = false;
        let mut by_origin: Vec<&MessageFrame> = frames.iter().collect();
        by_origin.sort_by_key(|frame| (frame.id.origin, frame.id.seq));
        let mut start = 0;
        let mut targets = Vec::new();
        while start < by_origin.len() {
            let origin = by_origin[start].id.origin;
            let end = start + by_origin[start..].iter().take_while(|f| f.id.origin == origin).count();
            let batch: Vec<MessageFrame> = by_origin[start..end].iter().map(|f| (*f).clone()).collect();
            match self.tree_children(group, origin, &mut targets) {
                Some(()) => {
                    if !targets.is_empty() {
                        self.push_to(&targets, &batch);
                    }
                    // A leaf has sent all it should.
                    sent = true;
                }
                None => sent |= self.push_now(group, &batch),
            }
            start = end;
        }
        sent
    }
}

/// New messages queued for the tree at most before they are sent without
/// waiting for the next poll.
pub(super) const MAX_DEFERRED: usize = 256;

#[cfg(test)]
mod tests {
    use super::child_ranks;

    #[test]
    fn every_rank_but_the_root_has_exactly_one_parent() {
        for len in 1..200 {
            for arity in 2..5 {
                let mut parents = vec![0; len];
                for rank in 0..len {
                    for child in child_ranks(rank, len, arity) {
                        parents[child] += 1;
                    }
                }
                assert_eq!(parents[0], 0);
                assert!(parents[1..].iter().all(|p| *p == 1), "len {len} arity {arity}");
            }
        }
    }
}

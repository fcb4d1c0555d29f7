//! Catching up after joining: a node that has just learned its first member
//! asks it for its whole table at once (a JOIN from a node the answerer
//! already knows is answered with the whole table, [`FullAnswer`]), then
//! asks a live seed (a random member if none is) again 1, 2, 4, then every
//! 8 gossip periods until two answers in a row taught it nothing. A bulk join then completes within a
//! few gossip periods of the last join, instead of waiting for piggy-backed
//! updates (a few per packet) and one table slice per sync interval.

use rand::{Rng, RngCore};

use super::detector::random_of;

use super::*;

/// Requests in a row that taught nothing, after which a catch-up ends.
const QUIET_REQUESTS: u32 = 2;

/// Requests are 1, 2, 4 and then 8 gossip periods apart, so members that
/// join later are still caught within 8 periods.
const MAX_DOUBLINGS: u32 = 3;

/// The backed-off whole-table requests of a node that has just joined.
#[derive(Clone, Debug)]
pub(crate) struct CatchUp {
    /// When the next request is due.
    pub(crate) at: Time,
    /// Requests sent so far.
    step: u32,
    /// Members first learned since the last request.
    learned: u32,
    /// Requests in a row that taught nothing (joins may still be on their
    /// way to the member asked, so one quiet answer does not end it).
    quiet: u32,
    /// The member asked last: its answer is the table this node asked
    /// for, so the cap on new members per sender does not apply to it.
    asked: NodeId,
}

/// Recipients of whole-table answers remembered, at most (the oldest is
/// forgotten first).
pub(crate) const MAX_FULL_ANSWERED: usize = 64;

/// A whole-table answer being written, one SYNC packet at a time.
#[derive(Clone, Debug)]
pub(crate) struct FullAnswer<A> {
    to: A,
    /// Live entries still to write (the live count when asked).
    left: usize,
    /// The packet being written belongs to this answer.
    writing: bool,
}

impl<A: Address> Membership<A> {
    /// The first member is known: ask it for its whole table now, and
    /// schedule the backed-off requests.
    pub(super) fn start_catch_up(&mut self, id: NodeId, to: A) {
        self.out.push_back(Outgoing::Join { to });
        self.catch_up = Some(CatchUp { at: self.now + self.config.period, step: 1, learned: 0, quiet: 0, asked: id });
    }

    /// The packet being handled is (part of) the table this node asked
    /// `sender` for.
    pub(super) fn asked_for(&self, sender: NodeId) -> bool {
        self.in_sync_answer && self.catch_up.as_ref().is_some_and(|c| c.asked == sender)
    }

    /// Counts members learned while catching up.
    pub(super) fn count_caught_up(&mut self, learned: u32) {
        if let Some(c) = &mut self.catch_up {
            c.learned = c.learned.saturating_add(learned);
        }
    }

    /// A request is due: stop if the last [`QUIET_REQUESTS`] taught nothing
    /// (or the back-off has reached the sync interval), else ask a random live
    /// member for its whole table.
    pub(super) fn advance_catch_up(&mut self, now: Time, rng: &mut impl RngCore) {
        let Some(c) = &self.catch_up else { return };
        if now < c.at {
            return;
        }
        let delay = self.config.period.saturating_mul(1 << c.step.min(MAX_DOUBLINGS));
        let quiet = if c.learned == 0 { c.quiet + 1 } else { 0 };
        if quiet >= QUIET_REQUESTS || delay > self.config.sync_interval {
            self.catch_up = None;
            return;
        }
        let step = c.step + 1;
        let to = self
            .live_seed(rng)
            .or_else(|| random_of(self.table.live(), rng).and_then(|slot| self.table.slot(slot)).map(|e| e.id));
        let Some((id, addr)) = to.and_then(|id| self.table.get(id)).map(|e| (e.id, e.addr.clone())) else {
            self.catch_up = None;
            return;
        };
        self.catch_up = Some(CatchUp { at: now + delay, step, learned: 0, quiet, asked: id });
        self.out.push_back(Outgoing::Join { to: addr });
    }

    /// A random seed that is a live member: requests go to one, as seeds
    /// learn each joiner first-hand (to a random member when none is).
    fn live_seed(&self, rng: &mut impl RngCore) -> Option<NodeId> {
        let live = |seed: &A| self.table.by_addr(seed).filter(|&id| self.is_member_at(id, seed));
        let seeds: Vec<NodeId> = self.seeds.iter().filter_map(live).collect();
        (!seeds.is_empty()).then(|| seeds[rng.random_range(0..seeds.len())])
    }

    /// A JOIN: a node already known as a live member at this address gets
    /// the whole table; any other gets one packet of it (its address is
    /// not proven yet, so the answer stays about the size of its request).
    /// One whole-table answer is written at a time.
    ///
    /// An address gets the whole table at most once per half gossip period
    /// (a catch-up asks at most once a period): a replayed or forged JOIN
    /// that claims a member's address draws one slice, not the table, so
    /// it cannot turn one small packet into many toward that member.
    pub(crate) fn handle_join(&mut self, from: &A) {
        if self.left {
            return;
        }
        let spacing = self.config.period / 2;
        while self.full_answered.front().is_some_and(|(_, at)| self.now.saturating_duration_since(*at) >= spacing) {
            self.full_answered.pop_front();
        }
        let lately = self.full_answered.iter().any(|(to, _)| to == from);
        if self.sender_known && lately {
            self.stats.full_answers_limited = self.stats.full_answers_limited.saturating_add(1);
        }
        if self.sender_known && !lately && self.full_answer.is_none() {
            let left = self.table.live().len();
            self.full_answer = Some(FullAnswer { to: from.clone(), left, writing: false });
            if self.full_answered.len() >= MAX_FULL_ANSWERED {
                self.full_answered.pop_front();
            }
            self.full_answered.push_back((from.clone(), self.now));
        } else {
            self.out.push_back(Outgoing::Sync { to: from.clone(), reply: false });
        }
    }

    /// The next packet of the whole-table answer, if one is being written.
    pub(super) fn next_full_answer(&mut self) -> Option<Outgoing<A>> {
        let answer = self.full_answer.as_mut()?;
        if answer.left == 0 {
            self.full_answer = None;
            return None;
        }
        answer.writing = true;
        Some(Outgoing::Sync { to: answer.to.clone(), reply: false })
    }

    /// Counts the `live` entries of the packet just written (of `all` it
    /// took, dead and departed ones included) against the whole-table
    /// answer, if it was one of its packets; a packet that took none ends
    /// the answer (nothing more would fit).
    pub(super) fn wrote_slice(&mut self, live: usize, all: usize) {
        let Some(answer) = &mut self.full_answer else { return };
        if std::mem::take(&mut answer.writing) {
            answer.left = if all == 0 { 0 } else { answer.left.saturating_sub(live) };
        }
    }
}

//! Catching up after joining: a node that has just learned its first member
//! asks it for its whole table at once (a JOIN from a node the answerer
//! already knows is answered with the whole table, [`FullAnswer`]), then
//! asks again 1, 2, 4, then every 8 gossip periods until two answers in a
//! row taught it nothing. A bulk join then completes within a few gossip
//! periods of the last join, instead of waiting for piggy-backed updates (a
//! few per packet) and one table slice per sync interval.
//!
//! The requests after the first are deltas: they go to the same member
//! while it is live, with the answerer's change mark of its last complete
//! answer (a CATCH-UP frame), and are answered with only the entries that
//! changed after it. So a catch-up costs about one table, not one per
//! request.

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
    /// The change mark of `asked`'s last answer that arrived whole (0:
    /// none yet): the next request asks only for what changed after it.
    since: u64,
    /// The answer arriving from `asked`: its mark, entries in all, and
    /// entries seen so far (an answer whose packets were lost never
    /// completes, so the next request asks again from `since`).
    answer: Option<(u64, u64, u64)>,
}

/// Recipients of whole-table answers remembered, at most (the oldest is
/// forgotten first).
pub(crate) const MAX_FULL_ANSWERED: usize = 64;

/// A whole-table answer being written, one SYNC packet at a time: every
/// entry changed after `since`, up to the change mark `mark`.
#[derive(Clone, Debug)]
pub(crate) struct FullAnswer<A> {
    to: A,
    since: u64,
    mark: u64,
    /// Entries in the answer.
    total: usize,
    /// Entries still to write.
    left: usize,
    /// The packet being written belongs to this answer.
    writing: bool,
}

impl<A: Address> Membership<A> {
    /// The first member is known: ask it for its whole table now, and
    /// schedule the backed-off requests.
    pub(super) fn start_catch_up(&mut self, id: NodeId, to: A) {
        self.out.push_back(Outgoing::Join { to, since: 0 });
        let at = self.now + self.config.period;
        self.catch_up = Some(CatchUp { at, step: 1, learned: 0, quiet: 0, asked: id, since: 0, answer: None });
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

    /// A [`Frame::Table`](crate::wire::Frame::Table) from `sender`: counts
    /// its entries toward the answer it belongs to, and once the whole
    /// answer has come, the next request asks only for what changed after
    /// its mark. (A replayed packet counted twice can end an answer early;
    /// what it missed then comes by anti-entropy.)
    pub(crate) fn handle_table(&mut self, sender: NodeId, mark: u64, total: u64, here: u64) {
        let Some(c) = self.catch_up.as_mut().filter(|c| c.asked == sender) else { return };
        if c.answer.is_none_or(|(seen, _, _)| seen != mark) {
            c.answer = Some((mark, total, 0));
            // Room for the answer's entries (most of them new to a node that
            // has just joined), within the cap on members.
            let room = self.config.max_members.saturating_sub(self.table.len());
            let more = usize::try_from(total).unwrap_or(usize::MAX).min(room);
            self.table.reserve(more);
            self.prober.reserve(more);
        }
        let Some((mark, total, got)) = c.answer.as_mut() else { return };
        *got = got.saturating_add(here);
        if *got >= *total {
            let mark = *mark;
            c.since = c.since.max(mark);
            c.answer = None;
        }
    }

    /// A request is due: stop if the last [`QUIET_REQUESTS`] taught nothing
    /// (or the back-off has reached the sync interval), else ask again: the
    /// member asked last while it is live (for what changed since its last
    /// whole answer), else a live seed or a random live member (for its
    /// whole table).
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
        let (step, asked, since) = (c.step + 1, c.asked, c.since);
        let (to, since) = if self.table.get(asked).is_some_and(|e| e.status.is_live()) {
            (Some(asked), since)
        } else {
            let to = self
                .live_seed(rng)
                .or_else(|| random_of(self.table.live(), rng).and_then(|slot| self.table.slot(slot)).map(|e| e.id));
            (to, 0)
        };
        let Some((id, addr)) = to.and_then(|id| self.table.get(id)).map(|e| (e.id, e.addr.clone())) else {
            self.catch_up = None;
            return;
        };
        self.catch_up = Some(CatchUp { at: now + delay, step, learned: 0, quiet, asked: id, since, answer: None });
        self.out.push_back(Outgoing::Join { to: addr, since });
    }

    /// A random seed that is a live member: requests go to one, as seeds
    /// learn each joiner first-hand (to a random member when none is).
    fn live_seed(&self, rng: &mut impl RngCore) -> Option<NodeId> {
        let live = |seed: &A| self.table.by_addr(seed).filter(|&id| self.is_member_at(id, seed));
        let seeds: Vec<NodeId> = self.seeds.iter().filter_map(live).collect();
        (!seeds.is_empty()).then(|| seeds[rng.random_range(0..seeds.len())])
    }

    /// A JOIN: a node already known as a live member at this address gets
    /// the whole table (only the entries changed after mark `since`, when
    /// it sent one); any other gets one packet of it (its address is not
    /// proven yet, so the answer stays about the size of its request). One
    /// whole-table answer is written at a time.
    ///
    /// An address gets the whole table at most once per half gossip period
    /// (a catch-up asks at most once a period): a replayed or forged JOIN
    /// that claims a member's address draws one slice, not the table, so
    /// it cannot turn one small packet into many toward that member.
    pub(crate) fn handle_join(&mut self, from: &A, since: u64) {
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
            // A mark from the future (this node restarted, or the request is
            // forged) asks for nothing a mark can name: send everything.
            let mark = self.table.changes();
            let since = if since > mark { 0 } else { since };
            let total = self.table.changed_after(since);
            self.full_answer = Some(FullAnswer { to: from.clone(), since, mark, total, left: total, writing: false });
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

    /// The answer a packet being written belongs to, if it does: its
    /// `since` and `mark`, and how many entries are still to write.
    pub(super) fn answer_range(&self) -> Option<(u64, u64, usize)> {
        self.full_answer.as_ref().filter(|a| a.writing).map(|a| (a.since, a.mark, a.left))
    }

    /// Counts the `written` entries of the packet just written against the
    /// whole-table answer it belongs to, and tags the packet with its
    /// [`Frame::Table`](crate::wire::Frame::Table); a packet that took none
    /// ends the answer (nothing more would fit).
    pub(super) fn wrote_answer_slice(&mut self, written: usize, writer: &mut PacketWriter) {
        let Some(answer) = self.full_answer.as_mut().filter(|a| a.writing) else { return };
        answer.writing = false;
        answer.left = if written == 0 { 0 } else { answer.left.saturating_sub(written) };
        writer.push_table(answer.mark, answer.total as u64, written as u64);
    }
}

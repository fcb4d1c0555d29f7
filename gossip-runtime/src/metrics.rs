//! Recording through the [`metrics`] facade (feature `metrics`): the
//! runtime publishes its counters, its member count and the time the engine
//! spends per timer, and the application installs whichever exporter it
//! likes (Prometheus, say). Without an installed recorder this costs a few
//! atomic loads.
//!
//! Names (all prefixed `gossip_`): counters `deliveries_total`,
//! `duplicates_total`, `multicasts_total`, `packets_total{direction}`,
//! `bytes_total{direction}`, `drops_total{reason}`, `decode_errors_total`,
//! `probes_total{kind}` (`direct`, `indirect`), `probe_failures_total`,
//! `suspicions_total`, `suspicions_refuted_total`, `deaths_total`,
//! `refutations_total`, `corrections_total`, `syncs_agreed_total`,
//! `member_events_total{kind}` (`up`, `suspect`, `down`); gauge
//! `members{status}` (`alive`, `suspect`, `dead`, `left`); histograms
//! `timer_seconds` (engine time per timer: gossip rounds, probes, retries)
//! and `probe_rtt_seconds` (round trip of each direct failure-detector
//! probe: ping sent to ack handled, so it includes both nodes' queues).

use std::time::Duration;

use gossip_core::{Member, MemberStatus};
use metrics::{counter, gauge, histogram};
use tokio::time::Instant;

use crate::stats::RuntimeStats;

/// How often counters are copied to the facade.
const PUBLISH_EVERY: Duration = Duration::from_millis(250);

/// The task's recorder: remembers when it last published.
pub(crate) struct Recorder {
    last: Option<Instant>,
}

impl Recorder {
    pub(crate) fn new() -> Self {
        Recorder { last: None }
    }

    /// Records the engine's time for one timer.
    pub(crate) fn timer(&self, took: Duration) {
        histogram!("gossip_timer_seconds").record(took.as_secs_f64());
    }

    /// Records the round trip of one direct probe.
    pub(crate) fn probe_rtt(&self, rtt: Duration) {
        histogram!("gossip_probe_rtt_seconds").record(rtt.as_secs_f64());
    }

    /// Records one membership event of `kind` (`up`, `suspect`: a
    /// suspicion raised, `down`).
    pub(crate) fn member_event(&self, kind: &'static str) {
        counter!("gossip_member_events_total", "kind" => kind).increment(1);
    }

    /// Whether [`PUBLISH_EVERY`] has passed since the last publication (and
    /// if so, starts a new period).
    pub(crate) fn due(&mut self) -> bool {
        let now = Instant::now();
        if self.last.is_some_and(|last| now.duration_since(last) < PUBLISH_EVERY) {
            return false;
        }
        self.last = Some(now);
        true
    }

    /// Copies the counters, and the member counts by status, to the facade.
    pub(crate) fn publish<A>(&self, s: &RuntimeStats, members: &[Member<A>]) {
        let e = &s.engine;
        counter!("gossip_deliveries_total").absolute(e.deliveries);
        counter!("gossip_duplicates_total").absolute(e.duplicates);
        counter!("gossip_multicasts_total").absolute(e.multicasts);
        counter!("gossip_decode_errors_total").absolute(e.decode_errors);
        counter!("gossip_packets_total", "direction" => "in").absolute(e.packets_in);
        counter!("gossip_packets_total", "direction" => "out").absolute(e.packets_out);
        counter!("gossip_bytes_total", "direction" => "in").absolute(e.bytes_in);
        counter!("gossip_bytes_total", "direction" => "out").absolute(e.bytes_out);
        if let Some(m) = &s.membership {
            counter!("gossip_probes_total", "kind" => "direct").absolute(m.probes);
            counter!("gossip_probes_total", "kind" => "indirect").absolute(m.indirect_probes);
            counter!("gossip_probe_failures_total").absolute(m.probe_failures);
            counter!("gossip_suspicions_total").absolute(m.suspicions);
            counter!("gossip_suspicions_refuted_total").absolute(m.refuted);
            counter!("gossip_deaths_total").absolute(m.deaths);
            counter!("gossip_refutations_total").absolute(m.refutations);
            counter!("gossip_corrections_total").absolute(m.corrections);
            counter!("gossip_syncs_agreed_total").absolute(m.syncs_agreed);
        }
        for (reason, n) in drops(s) {
            counter!("gossip_drops_total", "reason" => reason).absolute(n);
        }
        // Ranges of messages the engine gave up on (see `gossip_core::Gap`).
        counter!("gossip_gaps_total").absolute(s.gaps);
        let mut by_status = [("alive", 0usize), ("suspect", 0), ("dead", 0), ("left", 0)];
        for member in members {
            let slot = match member.status {
                MemberStatus::Alive => 0,
                MemberStatus::Suspect => 1,
                MemberStatus::Dead => 2,
                MemberStatus::Left => 3,
                _ => continue,
            };
            by_status[slot].1 += 1;
        }
        for (status, n) in by_status {
            gauge!("gossip_members", "status" => status).set(n as f64);
        }
    }
}

/// Every drop the runtime knows of, by reason: the engine's, the
/// transport's and the runtime's own.
fn drops(s: &RuntimeStats) -> Vec<(&'static str, u64)> {
    let mut all = s.engine_drops.clone();
    all.extend([
        ("auth_failure", s.transport.auth_failures),
        ("transport", s.transport.dropped),
        ("send_queue_full", s.send_queue_full),
        ("send_error", s.send_errors),
        ("subscriber_lagged", s.lagged),
    ]);
    all
}

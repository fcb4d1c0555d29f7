//! Recording through the [`metrics`] facade (feature `metrics`): the
//! runtime publishes its counters, its member count and the time the engine
//! spends per timer, and the application installs whichever exporter it
//! likes (Prometheus, say). Without an installed recorder this costs a few
//! atomic loads.
//!
//! Names (all prefixed `gossip_`): counters `deliveries_total`,
//! `duplicates_total`, `multicasts_total`, `packets_total{direction}`,
//! `bytes_total{direction}`, `drops_total{reason}`, `decode_errors_total`,
//! `member_events_total{kind}`; gauge `members{status}`; histogram
//! `timer_seconds` (engine time per timer: gossip rounds, probes, retries).

use std::time::Duration;

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

    /// Records one membership event of `kind` (`up`, `suspect`, `down`).
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

    /// Copies the counters and member counts by status to the facade.
    pub(crate) fn publish(&self, s: &RuntimeStats, members: &[(&'static str, usize)]) {
        let e = &s.engine;
        counter!("gossip_deliveries_total").absolute(e.deliveries);
        counter!("gossip_duplicates_total").absolute(e.duplicates);
        counter!("gossip_multicasts_total").absolute(e.multicasts);
        counter!("gossip_decode_errors_total").absolute(e.decode_errors);
        counter!("gossip_packets_total", "direction" => "in").absolute(e.packets_in);
        counter!("gossip_packets_total", "direction" => "out").absolute(e.packets_out);
        counter!("gossip_bytes_total", "direction" => "in").absolute(e.bytes_in);
        counter!("gossip_bytes_total", "direction" => "out").absolute(e.bytes_out);
        for (reason, n) in drops(s) {
            counter!("gossip_drops_total", "reason" => reason).absolute(n);
        }
        for &(status, n) in members {
            gauge!("gossip_members", "status" => status).set(n as f64);
        }
    }
}

/// Every drop the runtime knows of, by reason: the engine's, the
/// transport's and the runtime's own.
fn drops(s: &RuntimeStats) -> [(&'static str, u64); 14] {
    let d = &s.engine.drops;
    [
        ("transmit_queue_full", d.transmit_queue_full),
        ("event_queue_full", d.event_queue_full),
        ("buffer_evicted", d.buffer_evicted),
        ("streams_full", d.streams_full),
        ("window_skipped", d.window_skipped),
        ("not_member", d.not_member),
        ("too_old", d.too_old),
        ("members_full", d.members_full),
        ("after_leave", d.after_leave),
        ("auth_failure", s.transport.auth_failures),
        ("transport", s.transport.dropped),
        ("send_queue_full", s.send_queue_full),
        ("send_error", s.send_errors),
        ("subscriber_lagged", s.lagged),
    ]
}

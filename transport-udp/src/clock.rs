//! The coarse wall clock stamped into sealed datagrams.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Unix seconds as the transport sees them: the system's wall clock read
/// once, when the clock is made, advanced by tokio's monotonic clock
/// since. So a wall-clock step (NTP, an operator) does not move it, and
/// in tests under `tokio::time::pause` it runs in virtual time: transports
/// sharing one clone of a `WallClock` agree on the time however far a test
/// advances it. Cheap to clone.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    unix_at_anchor: Duration,
    anchor: Instant,
}

impl WallClock {
    /// The system clock, anchored now (call inside the runtime whose time
    /// it should follow, paused or not).
    pub fn system() -> Self {
        WallClock {
            unix_at_anchor: SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default(),
            anchor: Instant::now(),
        }
    }

    /// This clock moved `seconds` ahead (negative: behind), as a node with
    /// a wrong clock would see it.
    pub fn shifted(self, seconds: i64) -> Self {
        let by = Duration::from_secs(seconds.unsigned_abs());
        let unix_at_anchor =
            if seconds >= 0 { self.unix_at_anchor.saturating_add(by) } else { self.unix_at_anchor.saturating_sub(by) };
        WallClock { unix_at_anchor, ..self }
    }

    /// Unix seconds now, as carried in a datagram (saturating at
    /// `u32::MAX`, the year 2106).
    pub fn now_secs(&self) -> u32 {
        let now = self.unix_at_anchor.saturating_add(self.anchor.elapsed());
        u32::try_from(now.as_secs()).unwrap_or(u32::MAX)
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_virtual_time_and_shifts() {
        let clock = WallClock::system();
        let start = clock.now_secs();
        assert!(start > 1_600_000_000, "{start}");
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(clock.now_secs(), start + 90);
        assert_eq!(clock.shifted(-100).now_secs(), start - 10);
        assert_eq!(clock.shifted(30).now_secs(), start + 120);
    }
}

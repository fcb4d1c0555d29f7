//! The defaults of each live scenario, before the flags override them.

use crate::cli::LiveScenario;

/// What a scenario runs when no flag says otherwise (the engine's own
/// settings come from `Config::lan()`).
#[derive(Clone, Debug, PartialEq)]
pub struct Preset {
    /// Group size.
    pub nodes: u32,
    /// Fan-out values, one row each; `None`: `Config::lan()`'s fan-out.
    pub fanouts: Option<Vec<u32>>,
    /// Messages per row.
    pub messages: u64,
    /// Messages of the final burst; `None`: a quarter of the messages.
    pub burst: Option<u64>,
    /// Steady rate over all senders, messages per second.
    pub rate: f64,
    /// Messages not yet delivered everywhere that pace the sender instead of the rate.
    pub window: Option<u64>,
    /// Nodes that multicast.
    pub senders: u32,
}

impl Preset {
    /// The defaults of `scenario`.
    pub fn of(scenario: LiveScenario) -> Preset {
        let one_origin = |nodes, messages, burst, rate, window| Preset {
            nodes,
            fanouts: None,
            messages,
            burst: Some(burst),
            rate,
            window,
            senders: 1,
        };
        match scenario {
            LiveScenario::Sweep => Preset {
                nodes: 100,
                fanouts: Some(vec![1, 2, 3, 4, 6]),
                messages: 400,
                burst: None,
                rate: 500.0,
                window: None,
                senders: 4,
            },
            LiveScenario::Single => one_origin(100, 50, 0, 10.0, None),
            LiveScenario::Burst => one_origin(100, 1_000, 1_000, 500.0, None),
            LiveScenario::Throughput => one_origin(10, 100_000, 0, 500.0, Some(1_000)),
        }
    }
}

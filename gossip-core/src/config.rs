//! The engine's knobs, validated once, with presets.

use std::time::Duration;

use crate::error::ConfigError;

/// How rumors spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Infected nodes send messages to random members every period.
    Push,
    /// Every node sends random members a digest every period; they answer
    /// with what the asker lacks.
    Pull,
    /// Push for new messages, pull as the repair path.
    PushPull,
    /// Each message goes down a spanning tree of its group rooted at its
    /// origin, laid out from each member's view (so a payload crosses each
    /// member about once, in `log_b N` hops), never pushed again; the
    /// periodic pull repairs what a lost edge or a stale view missed.
    Tree,
}

impl Mode {
    /// Whether this mode pushes messages.
    pub fn pushes(self) -> bool {
        matches!(self, Mode::Push | Mode::PushPull)
    }

    /// Whether this mode sends pull digests.
    pub fn pulls(self) -> bool {
        matches!(self, Mode::Pull | Mode::PushPull | Mode::Tree)
    }
}

/// How the `b` targets of one round are drawn from a group's members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Targets {
    /// Uniformly, with replacement: the classic model; a round may pick the
    /// same member twice (it then gets the packet twice).
    WithReplacement,
    /// Uniformly, without replacement: `b` distinct members (or all of them
    /// when the group has fewer).
    WithoutReplacement,
}

/// How long a node keeps pushing a message it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lifetime {
    /// For a fixed number of rounds after the message was multicast.
    Rounds(u32),
    /// For as many rounds as push needs, by the mean-field recurrence
    /// `u' = u·e^(−b(1−u))`, until the expected uninformed fraction of the
    /// group is below 10^-6 (computed from the group's current size).
    Automatic,
    /// Demers' counter with feedback: stop after `k` pushes that reached a
    /// member that already held the message (capped at 4× the automatic
    /// lifetime).
    Counter(u32),
}

/// How many messages one packet carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Batching {
    /// One message per packet.
    Single,
    /// As many as fit in `max_packet_size`.
    Packed,
}

/// Which messages go first when not all fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Order {
    /// Oldest first.
    Fifo,
    /// Newest first.
    NewestFirst,
    /// Highest priority (given at multicast time) first, then oldest.
    Priority,
}

/// The largest allowed `max_message_size`: 64 MiB.
pub const MAX_MESSAGE_SIZE: usize = 64 << 20;

/// The smallest allowed `max_packet_size`.
pub const MIN_PACKET_SIZE: usize = 512;
/// The largest allowed `max_packet_size`.
pub const MAX_PACKET_SIZE: usize = 65_000;

/// A validated engine configuration. Build one with [`Config::builder`], or
/// start from a preset ([`Config::lan`], [`Config::wan`]) and adjust it with
/// [`Config::to_builder`].
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub(crate) mode: Mode,
    pub(crate) fanout: u32,
    pub(crate) period: Duration,
    pub(crate) targets: Targets,
    pub(crate) eager_push: bool,
    pub(crate) lifetime: Lifetime,
    pub(crate) batching: Batching,
    pub(crate) order: Order,
    pub(crate) max_packet_size: usize,
    pub(crate) max_message_size: Option<usize>,
    pub(crate) retention: Duration,
    pub(crate) max_buffer_bytes: usize,
    pub(crate) max_buffer_messages: usize,
    pub(crate) max_transmits: usize,
    pub(crate) max_events: usize,
    pub(crate) max_streams: usize,
    pub(crate) max_stream_floors: usize,
    pub(crate) dedup_window: u32,
    pub(crate) max_groups: usize,
    pub(crate) max_members: usize,
    pub(crate) probe_interval: Duration,
    pub(crate) probe_timeout: Duration,
    pub(crate) indirect_probes: u32,
    pub(crate) retransmit_mult: u32,
    pub(crate) suspicion_mult: u32,
    pub(crate) suspicion_max_mult: u32,
    pub(crate) max_health: u32,
    pub(crate) sync_interval: Duration,
    pub(crate) reconnect_interval: Duration,
    pub(crate) dead_retention: Duration,
    pub(crate) max_piggyback: usize,
    pub(crate) max_meta_len: usize,
    pub(crate) max_new_members: u32,
    pub(crate) join_retry: Duration,
}

impl Default for Config {
    /// The [`Config::lan`] preset.
    fn default() -> Self {
        Config::lan()
    }
}

macro_rules! getters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty;)*) => {
        impl Config {
            $($(#[$doc])* pub fn $name(&self) -> $ty { self.$name })*
        }
        impl ConfigBuilder {
            $($(#[$doc])* pub fn $name(mut self, value: $ty) -> Self { self.config.$name = value; self })*
        }
    };
}

getters! {
    /// Push, pull, push-pull or tree. Default: tree (each payload crosses
    /// each member about once; push-pull is the textbook epidemic).
    mode: Mode;
    /// Fan-out `b`: targets per round (and per eager push). 1..=64. Default 3.
    fanout: u32;
    /// Gossip period `t`: time between rounds. 1 ms..=1 h. Default 100 ms (LAN), 500 ms (WAN).
    period: Duration;
    /// How targets are drawn. Default: with replacement.
    targets: Targets;
    /// Push a newly received message to `b` targets at once, not only at the
    /// next round. Default on; off gives the textbook periodic model.
    eager_push: bool;
    /// How long a rumor is pushed. Default: automatic.
    lifetime: Lifetime;
    /// One message per packet, or packed. Default: packed.
    batching: Batching;
    /// Which messages go first. Default: FIFO.
    order: Order;
    /// Largest packet built, in bytes, and largest accepted. 512..=65,000. Default 1200.
    max_packet_size: usize;
    /// How long a received message stays buffered to answer pulls. At least
    /// one period. Default 30 s (LAN), 120 s (WAN).
    retention: Duration;
    /// Cap on buffered payload bytes; the oldest are evicted first. At least
    /// `max_packet_size`. Default 32 MiB.
    max_buffer_bytes: usize;
    /// Cap on buffered messages; the oldest are evicted first. At least 1. Default 65,536.
    max_buffer_messages: usize;
    /// Cap on transmits waiting for `poll_transmit`; new ones are dropped when
    /// full. At least 1. Default 4,096.
    max_transmits: usize;
    /// Cap on events waiting for `poll_event`; new ones are dropped when full.
    /// At least 1. Default 65,536.
    max_events: usize;
    /// Cap on (origin, group) streams tracked with a dedup window; when
    /// full, the stream delivered to least recently stops being tracked
    /// (its floor is kept, its missing numbers are reported as a gap). At
    /// least 1. Default 4,096.
    max_streams: usize;
    /// Cap on the floors kept of streams no longer tracked (idle, evicted or
    /// of a group left): the highest number each had seen, below which
    /// nothing is delivered again. The oldest floors go first when full. At
    /// least `max_streams`. Default 65,536 (about 3 MiB).
    max_stream_floors: usize;
    /// Messages per stream that may arrive out of order and still be
    /// delivered, in bits of the dedup window. A multiple of 64 in
    /// 64..=8192. Default 1,024.
    dedup_window: u32;
    /// Cap on groups one node joins (and on groups listed per member). 1..=256. Default 64.
    max_groups: usize;
    /// Cap on known members; newcomers are ignored when full. At least 1. Default 65,536.
    max_members: usize;
    /// SWIM probe interval: each interval a node probes one member, in a
    /// shuffled round-robin order (stretched by the local health
    /// multiplier). At least 1 ms and more than `probe_timeout`. Default
    /// 1 s (LAN), 5 s (WAN).
    probe_interval: Duration;
    /// How long a direct probe waits for its ack before asking
    /// `indirect_probes` members to try (stretched by the local health
    /// multiplier). At least 1 ms. Default 500 ms (LAN), 3 s (WAN).
    probe_timeout: Duration;
    /// `k`: members asked to probe indirectly when a direct probe failed
    /// (times the local health multiplier, at most 16 in all; the target is
    /// pinged once more directly at the same time). 0..=16. Default 3.
    indirect_probes: u32;
    /// `λ`: each membership update is piggy-backed about
    /// `λ·⌈log10(N+1)⌉` times, least-sent first. 1..=64. Default 4.
    retransmit_mult: u32;
    /// The shortest suspicion lasts `suspicion_mult·max(1, log10 N)` probe
    /// intervals. 1..=64. Default 4 (LAN), 6 (WAN).
    suspicion_mult: u32;
    /// Lifeguard: a fresh suspicion lasts `suspicion_max_mult` times the
    /// shortest and shrinks toward it with each independent confirmation.
    /// 1..=64. Default 6.
    suspicion_max_mult: u32;
    /// Lifeguard: the local health multiplier's ceiling; probe interval and
    /// timeout stretch by up to this factor while this node's own probes go
    /// unanswered. 1..=64. Default 8.
    max_health: u32;
    /// Anti-entropy: every interval a node swaps a packet's worth of its
    /// member table with one random member, so views converge after loss
    /// and bulk joins. At least 1 ms. Default 5 s (LAN), 30 s (WAN).
    sync_interval: Duration;
    /// Every interval a node probes one dead member and contacts one seed,
    /// so a partition heals without an operator. At least 1 ms. Default
    /// 10 s (LAN), 60 s (WAN).
    reconnect_interval: Duration;
    /// How long dead and departed members are remembered (to reject their
    /// stale entries and to try them again) before they are forgotten. At
    /// least one probe interval. Default 60 s (LAN), 300 s (WAN).
    dead_retention: Duration;
    /// Cap on membership updates piggy-backed on one packet, room
    /// permitting. 0..=255. Default 32.
    max_piggyback: usize;
    /// Cap on the metadata a member may set for itself, in bytes. 0..=1024.
    /// Default 512.
    max_meta_len: usize;
    /// Cap on members first learned from one sender per probe interval, so
    /// that forged entries cannot fill `max_members` (the whole table this
    /// node asked one member for while catching up after its join is
    /// exempt, still within `max_members`). At least 1. Default 512.
    max_new_members: u32;
    /// Interval between join attempts while no member answered. At least 1 ms. Default 1 s.
    join_retry: Duration;
}

impl Config {
    /// Preset for a local network: 100 ms period, fan-out 3, tree mode.
    pub fn lan() -> Self {
        Config {
            mode: Mode::Tree,
            fanout: 3,
            period: Duration::from_millis(100),
            targets: Targets::WithReplacement,
            eager_push: true,
            lifetime: Lifetime::Automatic,
            batching: Batching::Packed,
            order: Order::Fifo,
            max_packet_size: 1200,
            max_message_size: None,
            retention: Duration::from_secs(30),
            max_buffer_bytes: 32 << 20,
            max_buffer_messages: 65_536,
            max_transmits: 4_096,
            max_events: 65_536,
            max_streams: 4_096,
            max_stream_floors: 65_536,
            dedup_window: 1_024,
            max_groups: 64,
            max_members: 65_536,
            probe_interval: Duration::from_secs(1),
            probe_timeout: Duration::from_millis(500),
            indirect_probes: 3,
            retransmit_mult: 4,
            suspicion_mult: 4,
            suspicion_max_mult: 6,
            max_health: 8,
            sync_interval: Duration::from_secs(5),
            reconnect_interval: Duration::from_secs(10),
            dead_retention: Duration::from_secs(60),
            max_piggyback: 32,
            max_meta_len: 512,
            max_new_members: 512,
            join_retry: Duration::from_secs(1),
        }
    }

    /// Preset for a wide-area network: 500 ms period, fan-out 4, longer
    /// retention, probe interval and timeouts.
    pub fn wan() -> Self {
        Config {
            fanout: 4,
            period: Duration::from_millis(500),
            retention: Duration::from_secs(120),
            probe_interval: Duration::from_secs(5),
            probe_timeout: Duration::from_secs(3),
            suspicion_mult: 6,
            sync_interval: Duration::from_secs(30),
            reconnect_interval: Duration::from_secs(60),
            dead_retention: Duration::from_secs(300),
            ..Config::lan()
        }
    }

    /// A builder starting from the defaults ([`Config::lan`]).
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder { config: Config::lan() }
    }

    /// A builder starting from this config.
    pub fn to_builder(&self) -> ConfigBuilder {
        ConfigBuilder { config: self.clone() }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        fn check(ok: bool, field: &'static str, reason: &'static str) -> Result<(), ConfigError> {
            if ok { Ok(()) } else { Err(ConfigError { field, reason }) }
        }
        check((1..=64).contains(&self.fanout), "fanout", "must be in 1..=64")?;
        check(
            self.period >= Duration::from_millis(1) && self.period <= Duration::from_secs(3600),
            "period",
            "must be between 1 ms and 1 h",
        )?;
        if let Lifetime::Rounds(r) = self.lifetime {
            check((1..=10_000).contains(&r), "lifetime", "rounds must be in 1..=10000")?;
        }
        if let Lifetime::Counter(k) = self.lifetime {
            check((1..=1_000).contains(&k), "lifetime", "counter k must be in 1..=1000")?;
        }
        check(
            (MIN_PACKET_SIZE..=MAX_PACKET_SIZE).contains(&self.max_packet_size),
            "max_packet_size",
            "must be in 512..=65000",
        )?;
        if let Some(size) = self.max_message_size {
            check((1..=MAX_MESSAGE_SIZE).contains(&size), "max_message_size", "must be in 1..=64 MiB")?;
        }
        check(self.retention >= self.period, "retention", "must be at least one period")?;
        check(
            self.retention.as_micros() / self.period.as_micros().max(1) <= 60_000,
            "retention",
            "must be at most 60,000 periods (ages are carried in 16 bits)",
        )?;
        check(
            self.max_buffer_bytes >= self.max_packet_size.max(self.max_message_size()),
            "max_buffer_bytes",
            "must be at least max_packet_size and max_message_size",
        )?;
        check(self.max_buffer_messages >= 1, "max_buffer_messages", "must be at least 1")?;
        check(self.max_transmits >= 1, "max_transmits", "must be at least 1")?;
        check(self.max_events >= 1, "max_events", "must be at least 1")?;
        check(self.max_streams >= 1, "max_streams", "must be at least 1")?;
        check(self.max_stream_floors >= self.max_streams, "max_stream_floors", "must be at least max_streams")?;
        check(
            self.dedup_window % 64 == 0 && (64..=8192).contains(&self.dedup_window),
            "dedup_window",
            "must be a multiple of 64 in 64..=8192",
        )?;
        check((1..=256).contains(&self.max_groups), "max_groups", "must be in 1..=256")?;
        check(self.max_members >= 1, "max_members", "must be at least 1")?;
        let ms = Duration::from_millis(1);
        check(self.probe_timeout >= ms, "probe_timeout", "must be at least 1 ms")?;
        check(self.probe_interval > self.probe_timeout, "probe_interval", "must be longer than probe_timeout")?;
        check(self.probe_interval <= Duration::from_secs(3600), "probe_interval", "must be at most 1 h")?;
        check(self.indirect_probes <= 16, "indirect_probes", "must be in 0..=16")?;
        check((1..=64).contains(&self.retransmit_mult), "retransmit_mult", "must be in 1..=64")?;
        check((1..=64).contains(&self.suspicion_mult), "suspicion_mult", "must be in 1..=64")?;
        check((1..=64).contains(&self.suspicion_max_mult), "suspicion_max_mult", "must be in 1..=64")?;
        check((1..=64).contains(&self.max_health), "max_health", "must be in 1..=64")?;
        check(self.sync_interval >= ms, "sync_interval", "must be at least 1 ms")?;
        check(self.reconnect_interval >= ms, "reconnect_interval", "must be at least 1 ms")?;
        check(self.dead_retention >= self.probe_interval, "dead_retention", "must be at least one probe interval")?;
        check(self.max_piggyback <= 255, "max_piggyback", "must be in 0..=255")?;
        check(self.max_meta_len <= crate::wire::MAX_META_LEN, "max_meta_len", "must be in 0..=1024")?;
        check(self.max_new_members >= 1, "max_new_members", "must be at least 1")?;
        check(self.join_retry >= Duration::from_millis(1), "join_retry", "must be at least 1 ms")?;
        Ok(())
    }

    /// The largest payload [`multicast`](crate::Protocol::multicast)
    /// accepts: `max_message_size` if set, else what fits in one packet of
    /// `max_packet_size`.
    pub fn max_payload(&self) -> usize {
        self.max_message_size()
    }

    /// Largest payload, in bytes. Unset (the default), it is what fits in
    /// one packet of `max_packet_size` (1,146 bytes for 1,200). Set larger
    /// (up to 64 MiB) for transports that carry large packets, such as QUIC
    /// streams: a message too large for `max_packet_size` then travels
    /// alone in a packet of its own size. `max_buffer_bytes` must hold it.
    pub fn max_message_size(&self) -> usize {
        self.max_message_size.unwrap_or_else(|| crate::wire::max_payload(self.max_packet_size))
    }

    /// The largest packet this node builds or accepts: `max_packet_size`,
    /// or a single message of `max_message_size` with its headers if that
    /// is larger. A transport must carry packets of this size.
    pub fn max_wire_size(&self) -> usize {
        self.max_packet_size.max(crate::wire::single_message_packet_len(self.max_message_size()))
    }
}

/// Builds a [`Config`]; [`ConfigBuilder::build`] validates every field.
#[derive(Clone, Debug)]
pub struct ConfigBuilder {
    config: Config,
}

impl ConfigBuilder {
    /// Largest payload, in bytes; see [`Config::max_message_size`].
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = Some(bytes);
        self
    }

    /// Validates and returns the config, or names the first invalid field.
    pub fn build(self) -> Result<Config, ConfigError> {
        self.config.validate()?;
        Ok(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid() {
        Config::lan().to_builder().build().unwrap();
        Config::wan().to_builder().build().unwrap();
        assert_eq!(Config::default(), Config::lan());
    }

    #[test]
    fn invalid_values_name_the_field() {
        let err = Config::builder().fanout(0).build().unwrap_err();
        assert_eq!(err.field, "fanout");
        let err = Config::builder().max_packet_size(100).build().unwrap_err();
        assert_eq!(err.field, "max_packet_size");
        let err = Config::builder().max_message_size(64 << 20).build().unwrap_err();
        assert_eq!(err.field, "max_buffer_bytes");
        let large = Config::builder().max_message_size(1 << 20).max_buffer_bytes(8 << 20).build().unwrap();
        assert_eq!((large.max_payload(), large.max_wire_size()), (1 << 20, (1 << 20) + 54));
        assert_eq!(Config::lan().max_wire_size(), 1200);
        let err = Config::builder().dedup_window(100).build().unwrap_err();
        assert_eq!(err.field, "dedup_window");
        let err = Config::builder()
            .probe_interval(Duration::from_millis(500))
            .probe_timeout(Duration::from_millis(500))
            .build()
            .unwrap_err();
        assert_eq!(err.field, "probe_interval");
        assert!(err.to_string().contains("probe_timeout"));
    }
}

//! [`SubscribeFrom`]: where a new subscription starts in each stream.

/// Which messages a new subscription delivers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SubscribeFrom {
    /// Only messages multicast from now on (by the age each copy carries):
    /// older ones that arrive, by pull or by push, are recorded as seen and
    /// not delivered. What [`Protocol::subscribe`](crate::Protocol::subscribe) does.
    #[default]
    Now,
    /// Also whatever other members still buffer (up to `retention` old),
    /// fetched by pull: a late member catches up on recent history.
    Buffered,
}

/// Rounds of slack for the age test of [`SubscribeFrom::Now`]: a message
/// multicast this many rounds before the subscription still counts as new
/// (round boundaries of origin and receiver are not aligned).
pub(crate) const AGE_SLACK: u64 = 1;

/// Whether a copy of `age` rounds was multicast before a subscription made
/// at round `since`, judged at round `now`.
pub(crate) fn before(age: u32, since: u64, now: u64) -> bool {
    u64::from(age) > now.saturating_sub(since).saturating_add(AGE_SLACK)
}

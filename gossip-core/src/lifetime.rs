//! How many rounds a rumor must be pushed, from the mean-field model of push
//! gossip.

/// Target expected uninformed fraction for [`Lifetime::Automatic`](crate::Lifetime::Automatic).
pub const AUTOMATIC_RESIDUE: f64 = 1e-6;

/// Rounds added to the mean-field figure for the noisy start.
pub const START_MARGIN: u32 = 2;

/// Rounds of push with fan-out `b` until the expected uninformed fraction of
/// a group of `n` falls below `residue`, by the recurrence
/// `u' = u·e^(−b(1−u))` from `u = 1 − 1/n` (one informed node).
///
/// The recurrence follows the mean, and the start of an epidemic is noisy
/// (one unlucky early round delays everything after it), so two rounds are
/// added as a margin; at N = 10^4, b = 2 this gives 18 rounds against the
/// 99% stopping rule's 17.6 in docs/theory.md.
///
/// Returns at least 1; groups of one or two need one round.
pub fn push_rounds(n: usize, b: u32, residue: f64) -> u32 {
    if n <= 2 {
        return 1;
    }
    let n = n as f64;
    let b = f64::from(b.max(1));
    let mut u = 1.0 - 1.0 / n;
    let mut rounds = 0;
    while u >= residue && rounds < 10_000 {
        u *= (-b * (1.0 - u)).exp();
        rounds += 1;
    }
    rounds + START_MARGIN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_with_n_and_shrinks_with_fanout() {
        assert_eq!(push_rounds(1, 3, AUTOMATIC_RESIDUE), 1);
        let r100 = push_rounds(100, 2, AUTOMATIC_RESIDUE);
        let r10k = push_rounds(10_000, 2, AUTOMATIC_RESIDUE);
        assert!(r10k > r100);
        assert!(push_rounds(10_000, 6, AUTOMATIC_RESIDUE) < r10k);
        // The 99% stopping rule of docs/theory.md is log_{1+b} N + (ln N + 4.6)/b + 1
        // = 17.6 at N = 10^4, b = 2; a residue of 10^-6 asks for more.
        assert!((18..=30).contains(&r10k), "{r10k}");
    }
}

//! The yardsticks of `docs/design.md` and `docs/theory.md`: closed-form estimates of
//! the rounds to inform all `N` nodes, and the simulated reference table.

use gossip_core::Mode;

/// The effective fan-out with loss `p` and a crashed fraction `f`:
/// `b(1−p)(1−f)`.
pub fn effective_fanout(fanout: u32, loss: f64, crash: f64) -> f64 {
    f64::from(fanout) * (1.0 - loss) * (1.0 - crash)
}

fn log(base: f64, x: f64) -> f64 {
    x.ln() / base.ln()
}

/// Rounds to inform all `n` nodes in the synchronous model, from the
/// formulas of `docs/theory.md`, with `b` replaced by the effective fan-out:
///
/// * push: `log_{b+1} N + (ln N)/b + 1`
/// * push-pull: `log_{1+2b} N + log_{1+b}(ln N)`
/// * pull: `log_{1+b} N + log_{1+b}(ln N) + 1` (the `b = 1` formula
///   `log2 N + log2(ln N) + 1`, with base `1 + b` for larger fan-outs: an
///   extrapolation, not a published result)
pub fn rounds(mode: Mode, n: u32, fanout: u32, loss: f64, crash: f64) -> f64 {
    let n = f64::from(n.max(2));
    let b = effective_fanout(fanout, loss, crash).max(1e-9);
    let ln_n = n.ln();
    match mode {
        Mode::Push => log(b + 1.0, n) + ln_n / b + 1.0,
        Mode::PushPull => log(1.0 + 2.0 * b, n) + log(1.0 + b, ln_n).max(0.0),
        Mode::Pull => log(1.0 + b, n) + log(1.0 + b, ln_n).max(0.0) + 1.0,
        // No formula for a mode added to gossip-core after this harness.
        _ => f64::NAN,
    }
}

/// Rounds after which push has reached everyone with 99% probability
/// (`docs/theory.md`): `log_{1+b} N + (ln N + 4.6)/b + 1`.
pub fn push_rounds_99(n: u32, fanout: u32, loss: f64, crash: f64) -> f64 {
    let n = f64::from(n.max(2));
    let b = effective_fanout(fanout, loss, crash).max(1e-9);
    log(1.0 + b, n) + (n.ln() + 4.6) / b + 1.0
}

/// The mean-field uninformed fraction of push after each round, from
/// `u(r+1) = u(r)·e^(−b(1−u(r)))` starting at `u(0) = 1 − 1/N`, until it
/// drops below `1/(10N)` or `max_rounds` pass.
pub fn push_uninformed(n: u32, fanout: u32, loss: f64, crash: f64, max_rounds: usize) -> Vec<f64> {
    let n = f64::from(n.max(2));
    let b = effective_fanout(fanout, loss, crash);
    let mut u = 1.0 - 1.0 / n;
    let mut out = vec![u];
    while out.len() < max_rounds && u > 0.1 / n {
        u *= (-b * (1.0 - u)).exp();
        out.push(u);
    }
    out
}

const SIZES: [u32; 4] = [100, 1_000, 10_000, 100_000];
const FANOUTS: [u32; 5] = [1, 2, 3, 4, 6];

/// docs/theory.md, push: (mean, p99) by N (rows) and b (columns).
const PUSH: [[(f64, u32); 5]; 4] = [
    [(12.3, 16), (7.4, 9), (5.7, 7), (4.9, 6), (4.0, 5)],
    [(18.0, 22), (10.7, 13), (8.2, 10), (7.0, 8), (5.5, 6)],
    [(23.7, 28), (13.9, 16), (10.6, 12), (9.0, 10), (7.0, 8)],
    [(29.2, 33), (17.2, 20), (13.1, 14), (11.0, 12), (8.8, 9)],
];

/// docs/theory.md, push-pull: (mean, p99) by N (rows) and b (columns).
const PUSH_PULL: [[(f64, u32); 5]; 4] = [
    [(6.5, 8), (4.5, 5), (3.9, 4), (3.2, 4), (3.0, 3)],
    [(9.2, 10), (6.2, 7), (5.1, 6), (4.9, 5), (4.0, 4)],
    [(11.6, 13), (8.0, 8), (6.7, 7), (6.0, 6), (5.0, 5)],
    [(14.0, 15), (9.6, 10), (8.0, 8), (7.0, 7), (6.0, 6)],
];

/// docs/theory.md, pull, b = 1: mean by N.
const PULL_B1: [f64; 4] = [9.8, 13.8, 17.5, 21.2];

/// docs/theory.md, push, N = 10^4, b = 2, by loss.
const PUSH_LOSS: [(f64, f64); 4] = [(0.0, 14.0), (0.1, 15.0), (0.3, 18.2), (0.5, 23.8)];
/// docs/theory.md, push, N = 10^4, b = 2, by crashed fraction.
const PUSH_CRASH: [(f64, f64); 3] = [(0.2, 16.1), (0.5, 22.2), (0.8, 44.6)];

/// A cell of docs/theory.md's simulated reference table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reference {
    /// Mean rounds to inform everyone.
    pub mean: f64,
    /// The 99th percentile, where the table gives it.
    pub p99: Option<u32>,
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// docs/theory.md's simulated mean (and p99) for this cell, if the table has it.
pub fn reference(mode: Mode, n: u32, fanout: u32, loss: f64, crash: f64) -> Option<Reference> {
    let row = SIZES.iter().position(|&s| s == n);
    let col = FANOUTS.iter().position(|&b| b == fanout);
    let faultless = close(loss, 0.0) && close(crash, 0.0);
    match mode {
        Mode::Push if faultless => {
            let (mean, p99) = PUSH[row?][col?];
            Some(Reference { mean, p99: Some(p99) })
        }
        Mode::Push if n == 10_000 && fanout == 2 => {
            let mean = if close(crash, 0.0) {
                PUSH_LOSS.iter().find(|(l, _)| close(*l, loss))?.1
            } else if close(loss, 0.0) {
                PUSH_CRASH.iter().find(|(c, _)| close(*c, crash))?.1
            } else {
                return None;
            };
            Some(Reference { mean, p99: None })
        }
        Mode::PushPull if faultless => {
            let (mean, p99) = PUSH_PULL[row?][col?];
            Some(Reference { mean, p99: Some(p99) })
        }
        Mode::Pull if faultless && fanout == 1 => Some(Reference { mean: PULL_B1[row?], p99: None }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_near_the_reference_means() {
        // The closed forms are approximations: within 1.5 rounds of the
        // simulated means over the table.
        for (i, &n) in SIZES.iter().enumerate() {
            for (j, &b) in FANOUTS.iter().enumerate() {
                let push = rounds(Mode::Push, n, b, 0.0, 0.0);
                assert!((push - PUSH[i][j].0).abs() < 1.5, "push N={n} b={b}: {push:.2} vs {}", PUSH[i][j].0);
                let pp = rounds(Mode::PushPull, n, b, 0.0, 0.0);
                assert!((pp - PUSH_PULL[i][j].0).abs() < 1.5, "push-pull N={n} b={b}: {pp:.2}");
            }
            let pull = rounds(Mode::Pull, n, 1, 0.0, 0.0);
            assert!((pull - PULL_B1[i]).abs() < 1.5, "pull N={n}: {pull:.2}");
        }
        assert!((rounds(Mode::Push, 10_000, 2, 0.3, 0.0) - 18.2).abs() < 1.0);
    }

    #[test]
    fn reference_lookup() {
        assert_eq!(reference(Mode::Push, 1_000, 3, 0.0, 0.0).unwrap().mean, 8.2);
        assert_eq!(reference(Mode::PushPull, 100, 6, 0.0, 0.0).unwrap().p99, Some(3));
        assert_eq!(reference(Mode::Push, 10_000, 2, 0.3, 0.0).unwrap().mean, 18.2);
        assert_eq!(reference(Mode::Push, 10_000, 2, 0.0, 0.8).unwrap().mean, 44.6);
        assert_eq!(reference(Mode::Pull, 100, 1, 0.0, 0.0).unwrap().mean, 9.8);
        assert!(reference(Mode::Push, 500, 2, 0.0, 0.0).is_none());
        assert!(reference(Mode::Pull, 100, 2, 0.0, 0.0).is_none());
        assert!(reference(Mode::PushPull, 100, 2, 0.1, 0.0).is_none());
    }

    #[test]
    fn mean_field_decreases() {
        let u = push_uninformed(1_000, 2, 0.0, 0.0, 100);
        assert!(u.windows(2).all(|w| w[1] < w[0]));
        assert!(*u.last().unwrap() < 1e-3);
    }
}

//! Drawing gossip targets from a list, with or without replacement.

use rand::{Rng, RngCore};

use crate::config::Targets;

/// Draws `count` of `len` candidates; `pick` maps an index to an address or
/// `None` to skip it (this node itself, say).
pub(crate) fn draw<A>(
    len: usize,
    count: usize,
    how: Targets,
    rng: &mut impl RngCore,
    mut pick: impl FnMut(usize) -> Option<A>,
    out: &mut Vec<A>,
) {
    if len == 0 {
        return;
    }
    match how {
        Targets::WithReplacement => {
            // Redraw when `pick` skips a candidate; bounded so that a list
            // holding only skipped candidates cannot loop for ever.
            let mut tries = 0;
            let mut drawn = 0;
            while drawn < count && tries < count * 4 + 8 {
                tries += 1;
                if let Some(addr) = pick(rng.random_range(0..len)) {
                    out.push(addr);
                    drawn += 1;
                }
            }
        }
        Targets::WithoutReplacement => {
            if len <= count * 2 {
                // Small list: shuffle the prefix.
                let mut order: Vec<usize> = (0..len).collect();
                let mut drawn = 0;
                for i in 0..len {
                    if drawn == count {
                        break;
                    }
                    let j = rng.random_range(i..len);
                    order.swap(i, j);
                    if let Some(addr) = pick(order[i]) {
                        out.push(addr);
                        drawn += 1;
                    }
                }
            } else {
                let mut chosen: Vec<usize> = Vec::with_capacity(count);
                let mut drawn = 0;
                let mut tries = 0;
                while drawn < count && tries < count * 8 + 8 {
                    tries += 1;
                    let i = rng.random_range(0..len);
                    if chosen.contains(&i) {
                        continue;
                    }
                    chosen.push(i);
                    if let Some(addr) = pick(i) {
                        out.push(addr);
                        drawn += 1;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    #[test]
    fn draws_respect_the_replacement_rule() {
        let mut rng = SmallRng::seed_from_u64(1);
        let mut out = Vec::new();
        draw(5, 5, Targets::WithoutReplacement, &mut rng, Some, &mut out);
        out.sort_unstable();
        assert_eq!(out, vec![0, 1, 2, 3, 4]);
        out.clear();
        draw(3, 100, Targets::WithReplacement, &mut rng, Some, &mut out);
        assert_eq!(out.len(), 100);
        out.clear();
        // Index 0 is "self": never drawn.
        draw(2, 10, Targets::WithReplacement, &mut rng, |i| (i != 0).then_some(i), &mut out);
        assert!(out.iter().all(|i| *i == 1) && out.len() == 10);
    }
}

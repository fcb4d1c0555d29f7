//! Running the seeds of one simulated cell on every CPU, each from its own
//! seed.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use indicatif::ProgressBar;

use crate::error::HarnessError;
use crate::system;

/// Runs `one(run)` for every run in `0..seeds`, spread over the CPUs, and
/// returns the outcomes in run order with the CPU seconds they took. The
/// first error stops the remaining runs and is returned.
pub fn run_seeds<O, F>(seeds: u32, progress: &ProgressBar, one: F) -> Result<(Vec<O>, f64), HarnessError>
where
    O: Send,
    F: Fn(u32) -> Result<O, HarnessError> + Sync,
{
    let cpu_start = system::cpu_seconds();
    let outcomes: Mutex<Vec<(u32, O)>> = Mutex::new(Vec::with_capacity(seeds as usize));
    let next = AtomicU32::new(0);
    let error: Mutex<Option<HarnessError>> = Mutex::new(None);
    let workers = system::cpus().min(seeds as usize).max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let run = next.fetch_add(1, Ordering::Relaxed);
                    if run >= seeds || error.lock().map(|e| e.is_some()).unwrap_or(true) {
                        break;
                    }
                    match one(run) {
                        Ok(outcome) => {
                            if let Ok(mut all) = outcomes.lock() {
                                all.push((run, outcome));
                            }
                        }
                        Err(e) => {
                            if let Ok(mut slot) = error.lock() {
                                slot.get_or_insert(e);
                            }
                        }
                    }
                    progress.inc(1);
                }
            });
        }
    });
    if let Some(e) = error.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut outcomes = outcomes.into_inner().map_err(|_| HarnessError::run("a simulation thread panicked"))?;
    outcomes.sort_by_key(|(run, _)| *run);
    let cpu_s = system::cpu_seconds() - cpu_start;
    Ok((outcomes.into_iter().map(|(_, o)| o).collect(), cpu_s))
}

/// The seed of run `run` of a cell whose base seed is `base`, for whatever
/// `salt` names (0, or a protocol): the runs of one cell are independent.
pub(crate) fn run_seed(base: u64, run: u32, salt: u64) -> u64 {
    mix(base ^ mix(u64::from(run) + 1) ^ salt)
}

/// SplitMix64's finaliser: spreads every bit of `x` over the result.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

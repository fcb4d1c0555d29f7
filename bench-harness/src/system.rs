//! Process and machine facts read from `/proc`: CPU time, peak resident
//! memory, and a one-line description of the machine. Linux only; elsewhere
//! the figures are 0 and the description says "unknown".

use std::fs;

/// Clock ticks per second in `/proc/self/stat` (`USER_HZ`, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// CPU seconds (user + system) this process used so far.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // The command name (field 2) may hold spaces; fields after ')' are plain.
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After ')': state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    (tick(11) + tick(12)) as f64 / USER_HZ
}

fn status_kib(key: &str) -> u64 {
    let Ok(status) = fs::read_to_string("/proc/self/status") else { return 0 };
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// The peak resident set size of this process (`VmHWM`), in bytes.
pub fn peak_rss_bytes() -> u64 {
    status_kib("VmHWM:") * 1024
}

/// Resets the peak resident set size to the current one, so that the next
/// [`peak_rss_bytes`] covers only what follows. Best effort: it writes `5`
/// to `/proc/self/clear_refs`, which some kernels or sandboxes refuse.
pub fn reset_peak_rss() {
    let _ = fs::write("/proc/self/clear_refs", "5");
}

/// Logical CPUs available to this process.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// "N cores, CPU model, OS kernel", for results files and the README.
pub fn machine() -> String {
    let model = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string()))
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_default();
    let mem_gib = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.to_string())))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kib| kib as f64 / (1024.0 * 1024.0));
    let mut out = format!("{} logical CPUs, {model}", cpus());
    if let Some(gib) = mem_gib {
        out.push_str(&format!(", {gib:.0} GiB RAM"));
    }
    if !kernel.is_empty() {
        out.push_str(&format!(", Linux {kernel}"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_plausible() {
        let spin: u64 = (0..2_000_000u64).map(|x| x ^ (x >> 3)).sum();
        assert!(spin > 0);
        assert!(cpu_seconds() >= 0.0);
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes() > 1 << 20, "a process has at least a MiB resident");
            assert!(machine().contains("logical CPUs"));
        }
    }
}

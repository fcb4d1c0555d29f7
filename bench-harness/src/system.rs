//! Process and machine facts: CPU time and peak resident memory from
//! `getrusage` (through `nix`), the load average, the memory the machine can
//! still hand out, and a one-line description of the machine. Off Linux the
//! load average and memory are unknown (`None`) and the description says
//! "unknown".

use std::fs;

use nix::sys::resource::{UsageWho, getrusage};
use serde::{Deserialize, Serialize};

/// What `getrusage(RUSAGE_SELF)` says about this process so far.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// CPU seconds, user plus system, since the process started.
    pub cpu_s: f64,
    /// Peak resident set size since the process started, in bytes.
    pub peak_rss_bytes: u64,
}

/// This process's CPU time and peak resident memory (zeros if the call fails).
pub fn usage() -> Usage {
    let Ok(u) = getrusage(UsageWho::RUSAGE_SELF) else { return Usage::default() };
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 * 1e-6;
    Usage {
        cpu_s: seconds(u.user_time()) + seconds(u.system_time()),
        // Linux reports ru_maxrss in KiB.
        peak_rss_bytes: u64::try_from(u.max_rss()).unwrap_or(0).saturating_mul(1024),
    }
}

/// CPU seconds (user + system) this process used so far.
pub fn cpu_seconds() -> f64 {
    usage().cpu_s
}

/// The peak resident set size of this process so far, in bytes. The kernel
/// keeps one peak per process, so a row's figure is the peak of the process
/// up to the end of that row, not of the row alone.
pub fn peak_rss_bytes() -> u64 {
    usage().peak_rss_bytes
}

/// The 1-, 5- and 15-minute load averages of the machine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadAverage {
    /// Over the last minute.
    pub one: f64,
    /// Over the last five minutes.
    pub five: f64,
    /// Over the last fifteen minutes.
    pub fifteen: f64,
}

impl std::fmt::Display for LoadAverage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2} {:.2} {:.2}", self.one, self.five, self.fifteen)
    }
}

/// The machine's load average now, from `/proc/loadavg`.
pub fn load_average() -> Option<LoadAverage> {
    parse_loadavg(&fs::read_to_string("/proc/loadavg").ok()?)
}

fn parse_loadavg(text: &str) -> Option<LoadAverage> {
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some(LoadAverage { one: fields.next()??, five: fields.next()??, fifteen: fields.next()?? })
}

fn meminfo_kib(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Memory the machine can give a new workload without swapping
/// (`MemAvailable` of `/proc/meminfo`), in bytes.
pub fn available_memory_bytes() -> Option<u64> {
    let text = fs::read_to_string("/proc/meminfo").ok()?;
    meminfo_kib(&text, "MemAvailable:").map(|kib| kib.saturating_mul(1024))
}

/// Logical CPUs available to this process.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// "N cores, CPU model, RAM, OS kernel", for results files and the README.
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
        .and_then(|m| meminfo_kib(&m, "MemTotal:"))
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
    fn cpu_time_grows_with_work() {
        let before = usage();
        let deadline = before.cpu_s + 0.05;
        let mut spin = 0u64;
        // Spin until the kernel has charged us 50 ms more (bounded: at most ~10^10 steps).
        for x in 0..10_000_000_000u64 {
            spin = spin.wrapping_add(x ^ (x >> 3));
            if x % 1_000_000 == 0 && usage().cpu_s >= deadline {
                break;
            }
        }
        assert!(spin > 0);
        let after = usage();
        assert!(after.cpu_s >= deadline, "cpu {} -> {}", before.cpu_s, after.cpu_s);
        assert!(after.cpu_s < before.cpu_s + 60.0);
    }

    #[test]
    fn peak_rss_sees_a_large_allocation() {
        let before = usage().peak_rss_bytes;
        assert!(before > 1 << 20, "a process has at least a MiB resident");
        let block = vec![1u8; before as usize + (64 << 20)];
        let touched: u64 = block.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        assert!(touched > 0);
        assert!(usage().peak_rss_bytes >= before + (64 << 20), "64 MiB touched, peak did not grow");
    }

    #[test]
    fn load_average_and_meminfo_parse() {
        assert_eq!(
            parse_loadavg("0.52 1.10 0.96 2/345 6789\n"),
            Some(LoadAverage { one: 0.52, five: 1.10, fifteen: 0.96 })
        );
        assert_eq!(parse_loadavg("garbage"), None);
        assert_eq!(meminfo_kib("MemTotal: 100 kB\nMemAvailable:   42 kB\n", "MemAvailable:"), Some(42));
        if cfg!(target_os = "linux") {
            assert!(load_average().is_some());
            assert!(available_memory_bytes().is_some_and(|b| b > 1 << 20));
            assert!(machine().contains("logical CPUs"));
        }
    }
}

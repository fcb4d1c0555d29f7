//! The machine's load average, printed with every measurement: figures
//! taken on a busy machine are low for that reason, and should say so.

use std::fmt;

/// The 1, 5 and 15 minute load averages, and the number of CPUs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadAverage {
    /// Runnable tasks averaged over the last minute.
    pub one: f64,
    /// Over the last five minutes.
    pub five: f64,
    /// Over the last fifteen minutes.
    pub fifteen: f64,
    /// CPUs this process may use.
    pub cpus: usize,
}

impl LoadAverage {
    /// Reads `/proc/loadavg`; `None` where there is none (not Linux).
    pub fn now() -> Option<Self> {
        let text = std::fs::read_to_string("/proc/loadavg").ok()?;
        Self::parse(&text)
    }

    fn parse(text: &str) -> Option<Self> {
        let mut fields = text.split_whitespace().map(str::parse::<f64>);
        let (one, five, fifteen) = (fields.next()?.ok()?, fields.next()?.ok()?, fields.next()?.ok()?);
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Some(LoadAverage { one, five, fifteen, cpus })
    }

    /// Whether the last minute's load exceeds the CPUs (figures are then
    /// low because of other work).
    pub fn busy(&self) -> bool {
        self.one > self.cpus as f64
    }
}

impl fmt::Display for LoadAverage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2} {:.2} {:.2} on {} CPUs", self.one, self.five, self.fifteen, self.cpus)?;
        if self.busy() {
            f.write_str(" (busy: figures will be low)")?;
        }
        Ok(())
    }
}

/// Prints `load average at WHEN: …` (or that it is unavailable).
pub fn print(when: &str) {
    match LoadAverage::now() {
        Some(load) => println!("load average at {when}: {load}"),
        None => println!("load average at {when}: unavailable"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_loadavg() {
        let load = LoadAverage::parse("3.10 2.50 1.25 4/321 12345\n").unwrap();
        assert_eq!((load.one, load.five, load.fifteen), (3.10, 2.50, 1.25));
        assert!(LoadAverage::parse("garbage").is_none());
    }
}

//! CPU time and memory of a process, read from Linux's `/proc`: what `accord bench` reports per node and for
//! itself, without asking the node (a node under load answers late, and a remote one may not say).

use std::path::PathBuf;

/// `/proc` reports CPU time in clock ticks of `USER_HZ`, which Linux fixes at 100 for user space on every
/// architecture it ships.
const USER_HZ: f64 = 100.0;

/// One process's counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessSample {
    /// User plus system CPU seconds since the process started, all threads.
    pub cpu_seconds: f64,
    /// Resident memory now, bytes.
    pub rss_bytes: u64,
    /// Highest resident memory so far (`VmHWM`), bytes.
    pub peak_rss_bytes: u64,
}

/// Reads `pid`'s counters (`None` for this process); `None` when the process is gone or `/proc` is absent.
pub fn sample(pid: Option<u32>) -> Option<ProcessSample> {
    let dir = match pid {
        Some(p) => PathBuf::from(format!("/proc/{p}")),
        None => PathBuf::from("/proc/self"),
    };
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the whole line (utime, stime) are the 12th and 13th after the name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    let status = std::fs::read_to_string(dir.join("status")).ok()?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .map(|k| k * 1024)
    };
    Some(ProcessSample {
        cpu_seconds: ticks / USER_HZ,
        rss_bytes: kib("VmRSS:").unwrap_or(0),
        peak_rss_bytes: kib("VmHWM:").unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_counters_that_grow_with_work() {
        let before = sample(None).expect("/proc/self");
        assert!(before.rss_bytes > 0 && before.peak_rss_bytes >= before.rss_bytes);
        // Burn some CPU: a counter in ticks of 10 ms must move within a second of work.
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let after = sample(None).expect("/proc/self");
        assert!(after.cpu_seconds > before.cpu_seconds, "{before:?} -> {after:?}");
        assert_eq!(sample(Some(u32::MAX)), None);
    }
}

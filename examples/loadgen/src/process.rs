//! What the server process costs, read from `/proc/<pid>`: resident memory
//! now and at its peak, and CPU time used (user + system).

use std::time::Duration;

/// Linux reports CPU times in clock ticks of 1/100 s (`USER_HZ`) on every
/// architecture Rust targets.
const TICKS_PER_SECOND: u64 = 100;

/// One reading of a process.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Usage {
    /// Resident set size, in KiB.
    pub(crate) rss_kib: u64,
    /// Peak resident set size so far, in KiB.
    pub(crate) peak_rss_kib: u64,
    /// CPU time used so far, user and system together.
    pub(crate) cpu: Duration,
}

/// Reads `pid`'s usage; `None` when the process is gone or `/proc` is not there.
pub(crate) fn usage(pid: u32) -> Option<Usage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(Usage {
        rss_kib: status_kib(&status, "VmRSS:")?,
        peak_rss_kib: status_kib(&status, "VmHWM:")?,
        cpu: cpu_time(&stat)?,
    })
}

/// This process's own usage.
pub(crate) fn own() -> Option<Usage> {
    usage(std::process::id())
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// utime + stime: fields 14 and 15 of `/proc/<pid>/stat`, counted after the
/// command name (which may hold spaces, so split after its closing paren).
fn cpu_time(stat: &str) -> Option<Duration> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (user + system) * 1_000 / TICKS_PER_SECOND,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_process() {
        let usage = own().expect("/proc/self is readable on Linux");
        assert!(usage.rss_kib > 0);
        assert!(usage.peak_rss_kib >= usage.rss_kib);
    }

    #[test]
    fn cpu_time_skips_a_command_name_with_spaces() {
        let stat = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0";
        assert_eq!(cpu_time(stat), Some(Duration::from_secs(4)));
    }
}

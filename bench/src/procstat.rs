//! CPU time and memory of a process, read from `/proc` (Linux).

use std::fs;

/// A process's resource use at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// User + system CPU time consumed so far, in seconds.
    pub cpu_seconds: f64,
    /// Peak resident set size since start (or since the last [`reset_peak_rss`]), in bytes.
    pub peak_rss_bytes: u64,
    /// Current resident set size, in bytes.
    pub rss_bytes: u64,
}

/// Clock ticks per second used by `/proc/<pid>/stat`.
fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions and only reads a constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// Reads the CPU time and memory of `pid`; `None` if the process is gone or `/proc` unreadable.
pub fn usage(pid: u32) -> Option<Usage> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime is field 14, stime field 15 (1-based, man proc).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib = |key: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    Some(Usage {
        cpu_seconds: (utime + stime) as f64 / ticks_per_second(),
        peak_rss_bytes: kib("VmHWM:"),
        rss_bytes: kib("VmRSS:"),
    })
}

/// Resets the peak RSS (`VmHWM`) of `pid` to its current RSS, so that a later [`usage`] reports
/// the peak of the interval in between. Best effort: returns whether the kernel accepted it.
pub fn reset_peak_rss(pid: u32) -> bool {
    fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Bytes in MiB, the unit of the reports.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The sum of CPU seconds, and the largest peak and current RSS, over several processes.
pub fn total(pids: &[u32]) -> Usage {
    pids.iter()
        .filter_map(|&pid| usage(pid))
        .fold(Usage::default(), |acc, u| Usage {
            cpu_seconds: acc.cpu_seconds + u.cpu_seconds,
            peak_rss_bytes: acc.peak_rss_bytes.max(u.peak_rss_bytes),
            rss_bytes: acc.rss_bytes.max(u.rss_bytes),
        })
}

/// The whole machine's CPU time so far, from the first line of `/proc/stat`, in clock ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MachineCpu {
    /// Ticks spent idle or waiting for I/O.
    pub idle: u64,
    /// All ticks, over every CPU.
    pub total: u64,
}

/// Reads the machine's CPU time; `None` if `/proc/stat` is unreadable.
pub fn machine_cpu() -> Option<MachineCpu> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()?
        .strip_prefix("cpu ")?
        .split_whitespace()
        .map(|t| t.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already
    // counted in user and nice.
    let counted = &ticks[..ticks.len().min(8)];
    Some(MachineCpu {
        idle: ticks.get(3)? + ticks.get(4).unwrap_or(&0),
        total: counted.iter().sum(),
    })
}

/// The share of the machine's CPU time left idle between `before` and `after`, in percent:
/// near zero, everything on the machine (bayar, its database, the generator) was waiting for a
/// CPU, whatever any one process used.
pub fn idle_percent(before: MachineCpu, after: MachineCpu) -> Option<f64> {
    let total = after.total.checked_sub(before.total).filter(|&t| t > 0)?;
    let idle = after.idle.checked_sub(before.idle)?;
    Some(100.0 * idle as f64 / total as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let u = usage(std::process::id()).expect("/proc is readable");
        assert!(
            u.peak_rss_bytes >= u.rss_bytes / 2 && u.rss_bytes > 0,
            "{u:?}"
        );
        assert!(u.cpu_seconds >= 0.0);
    }

    #[test]
    fn the_machine_idles_less_while_this_thread_spins() {
        let before = machine_cpu().expect("/proc/stat is readable");
        let spin_until = std::time::Instant::now() + std::time::Duration::from_millis(300);
        let mut spins = 0u64;
        while std::time::Instant::now() < spin_until {
            spins = std::hint::black_box(spins + 1);
        }
        let after = machine_cpu().expect("/proc/stat is readable");
        let idle = idle_percent(before, after).expect("time passed");
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        // One spinning thread keeps at least one CPU busy (other load only lowers idle).
        assert!(
            (0.0..=100.0 - 100.0 / cpus + 5.0).contains(&idle),
            "idle {idle}% with one of {cpus} CPUs spinning"
        );
        assert_eq!(
            idle_percent(after, before),
            None,
            "time does not run backwards"
        );
    }
}

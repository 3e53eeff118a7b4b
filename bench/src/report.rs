//! The results: a JSON report, a text summary, and (see [`crate::chart`]) a PNG chart.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::load::StepResult;

/// Where and what the run measured on.
#[derive(Clone, Debug, Serialize)]
pub struct Environment {
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// The CPU model from `/proc/cpuinfo`.
    pub cpu_model: String,
    /// `/proc/loadavg` when the run started (other work on the machine).
    pub loadavg_at_start: String,
    /// `/proc/loadavg` when the load ended.
    pub loadavg_at_end: String,
    /// The git commit of the workspace, if known.
    pub git_commit: Option<String>,
    /// Whether the generator shares the machine with bayar (always, here).
    pub generator_on_same_machine: bool,
}

impl Environment {
    /// Reads the machine's description now.
    pub fn capture() -> Environment {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
            .unwrap_or_default();
        let git_commit = std::process::Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        Environment {
            started_at: chrono::Utc::now().to_rfc3339(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_model,
            loadavg_at_start: loadavg(),
            loadavg_at_end: String::new(),
            git_commit,
            generator_on_same_machine: true,
        }
    }
}

/// `/proc/loadavg`, trimmed.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// One measured step at a fixed fraction of the maximum sustainable rate.
#[derive(Clone, Debug, Serialize)]
pub struct AtFraction {
    /// The fraction of the maximum (0.25, 0.5, ...).
    pub fraction: f64,
    /// The step.
    #[serde(flatten)]
    pub step: StepResult,
}

/// One scenario's results.
#[derive(Clone, Debug, Serialize)]
pub struct ScenarioReport {
    /// Scenario name (`ceiling_healthz`, `doku_payment`, ...).
    pub name: String,
    /// What it sends.
    pub description: String,
    /// The p99 bound the search used.
    pub p99_bound_ms: f64,
    /// The highest offered rate that passed (no errors, p99 within the bound).
    pub max_sustainable_rate: f64,
    /// That rate as a fraction of the ceiling's.
    pub ratio_to_ceiling: Option<f64>,
    /// Every step of the search, in order.
    pub search: Vec<StepResult>,
    /// The steps at fixed fractions of the maximum.
    pub at_fractions: Vec<AtFraction>,
    /// CPU seconds of the bayar process(es) over the whole scenario.
    pub server_cpu_s: f64,
    /// Peak RSS of the largest bayar process during the scenario (overload steps included), MiB.
    pub server_peak_rss_mib: f64,
    /// Peak RSS during the search step that set the maximum sustainable rate, MiB (`None` when
    /// no rate passed): the memory at the sustained rate, apart from the overload steps.
    pub server_peak_rss_at_max_mib: Option<f64>,
    /// CPU seconds of the bench process over the scenario.
    pub generator_cpu_s: f64,
    /// Wall-clock seconds of the scenario.
    pub wall_s: f64,
}

/// The notification scenario (f).
#[derive(Clone, Debug, Serialize)]
pub struct NotifyReport {
    /// Payments in the burst.
    pub burst_payments: u64,
    /// Offered payment rate of the burst.
    pub burst_rate: f64,
    /// The burst's payment step.
    pub burst: StepResult,
    /// Notifications of the burst that arrived.
    pub delivered: u64,
    /// Seconds from the burst's first payment to the last notification.
    pub seconds_to_last_delivery: f64,
    /// Deliveries per second between the first and the last arrival.
    pub delivered_per_s: f64,
    /// Whether the delivery rate was bounded by the payment rate (the worker kept up).
    pub bounded_by_offered_rate: bool,
    /// Payment answer to notification arrival: median, ms.
    pub lag_p50_ms: f64,
    /// 99th percentile, ms.
    pub lag_p99_ms: f64,
    /// Largest, ms.
    pub lag_max_ms: f64,
    /// Token handshakes the receiver answered over the whole run.
    pub handshakes: u64,
    /// CPU seconds of bayar from the burst's start to its last delivery.
    pub server_cpu_s: f64,
}

/// One correctness check after the run.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// The numbers behind it.
    pub detail: String,
}

/// The failed checks, named with their numbers, or `None` when all held.
pub fn failures(checks: &[Check]) -> Option<String> {
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{} ({})", c.name, c.detail))
        .collect();
    (!failed.is_empty()).then(|| failed.join("; "))
}

/// Writes `value` as pretty JSON to `path`.
pub fn write_json(value: &impl Serialize, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Machine and time.
    pub environment: Environment,
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// bayar processes sharing the database.
    pub nodes: usize,
    /// Bound, customers, durations... as run.
    pub settings: serde_json::Value,
    /// `GET /healthz` under the same generator.
    pub ceiling: Option<ScenarioReport>,
    /// The scenarios, in the order run.
    pub scenarios: Vec<ScenarioReport>,
    /// The notification delivery scenario.
    pub notifications: Option<NotifyReport>,
    /// The correctness checks.
    pub checks: Vec<Check>,
    /// Successful payments over the run (every scenario).
    pub payments_ok: u64,
    /// Successful refunds over the run.
    pub refunds_ok: u64,
    /// DANA orders created over the run.
    pub dana_orders_ok: u64,
}

impl Report {
    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// Writes the report as pretty JSON.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        write_json(self, path)
    }

    /// The human summary printed at the end of a run.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "\nbayar-bench: {} x{} node(s), {} CPUs ({}), generator on the same machine",
            self.engine, self.nodes, self.environment.cpus, self.environment.cpu_model
        );
        let _ = writeln!(
            s,
            "load average at start: {}   at end: {}",
            self.environment.loadavg_at_start, self.environment.loadavg_at_end
        );
        let _ = writeln!(
            s,
            "\n{:<18} {:>9} {:>7} | {:>5} {:>9} {:>8} {:>8} {:>8} {:>6} | {:>8} {:>8} {:>7} {:>14}",
            "scenario",
            "max rps",
            "ceil%",
            "frac",
            "achieved",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "errors",
            "cpu us/r",
            "cpu s",
            "RSS MiB",
            "RSS at max MiB"
        );
        for sc in self.ceiling.iter().chain(self.scenarios.iter()) {
            let ratio = sc
                .ratio_to_ceiling
                .map_or("-".to_string(), |r| format!("{:.1}%", r * 100.0));
            let mut first = true;
            for f in &sc.at_fractions {
                let (name, max, ratio, cpu, rss, rss_at_max) = if first {
                    (
                        sc.name.as_str(),
                        format!("{:.0}", sc.max_sustainable_rate),
                        ratio.as_str(),
                        format!("{:.1}", sc.server_cpu_s),
                        format!("{:.0}", sc.server_peak_rss_mib),
                        sc.server_peak_rss_at_max_mib
                            .map_or("-".to_string(), |m| format!("{m:.0}")),
                    )
                } else {
                    (
                        "",
                        String::new(),
                        "",
                        String::new(),
                        String::new(),
                        String::new(),
                    )
                };
                first = false;
                let _ = writeln!(
                    s,
                    "{:<18} {:>9} {:>7} | {:>4.0}% {:>9.0} {:>8.2} {:>8.2} {:>8.2} {:>6} | {:>8.0} {:>8} {:>7} {:>14}",
                    name,
                    max,
                    ratio,
                    f.fraction * 100.0,
                    f.step.achieved_rate,
                    f.step.p50_ms,
                    f.step.p99_ms,
                    f.step.p999_ms,
                    f.step.errors,
                    f.step.server_cpu_us_per_request,
                    cpu,
                    rss,
                    rss_at_max
                );
            }
            if sc.at_fractions.is_empty() {
                let _ = writeln!(
                    s,
                    "{:<18} {:>9.0} {:>7} | no rate passed (p99 bound {} ms)",
                    sc.name, sc.max_sustainable_rate, ratio, sc.p99_bound_ms
                );
            }
        }
        if let Some(n) = &self.notifications {
            let _ = writeln!(
                s,
                "\nnotifications: burst of {} payments at {:.0}/s; {} delivered, {:.0} deliveries/s{} \
                 (first to last arrival), last {:.2} s after the burst began; lag p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                n.burst_payments,
                n.burst_rate,
                n.delivered,
                n.delivered_per_s,
                if n.bounded_by_offered_rate {
                    " (kept up: bounded by the offered payment rate)"
                } else {
                    ""
                },
                n.seconds_to_last_delivery,
                n.lag_p50_ms,
                n.lag_p99_ms,
                n.lag_max_ms
            );
        }
        let _ = writeln!(
            s,
            "\npayments ok: {}   refunds ok: {}",
            self.payments_ok, self.refunds_ok
        );
        let _ = writeln!(s, "checks:");
        for c in &self.checks {
            let _ = writeln!(
                s,
                "  [{}] {}: {}",
                if c.passed { "ok" } else { "FAIL" },
                c.name,
                c.detail
            );
        }
        s
    }
}

//! bayar-bench: an open-loop load benchmark of bayar.
//!
//! One [`run`] starts bayar on a fresh database (an SQLite file, or a new PostgreSQL database
//! on the server of `DATABASE_URL`), provisions a merchant and funded customers with bound
//! accounts, and for each scenario finds the highest arrival rate bayar sustains (no error, p99
//! within a bound) by doubling then bisecting the offered rate, then measures p50/p99/p99.9 at
//! fixed fractions of it. The ceiling, `GET /healthz` under the same generator, is measured in
//! the same run, and every throughput is also given as a ratio to it. After the load it checks
//! that the books balance (`bayar ledger verify`), that the database holds exactly the payments
//! and refunds that were answered with success, no duplicates, and that every notification
//! reached the merchant exactly once.
//!
//! Layout:
//! - [`database`]: the fresh database and the checks' queries;
//! - [`provision`]: merchant, customers and bindings through bayar's core library;
//! - [`server`]: starting and stopping bayar nodes ([`server::Launcher`]);
//! - [`client`]: the merchant's signed requests;
//! - [`load`]: the open-loop generator and its measurements;
//! - [`portal`]: the portal benchmark (page times with many payments behind them);
//! - [`receiver`]: the merchant's notification endpoint;
//! - [`report`], [`chart`]: JSON, text and PNG results;
//! - [`procstat`]: CPU time and RSS from `/proc`.

pub mod chart;
pub mod client;
pub mod database;
pub mod load;
pub mod portal;
pub mod procstat;
pub mod provision;
pub mod receiver;
pub mod report;
pub mod server;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use hdrhistogram::Histogram;
use serde_json::json;

use crate::client::{Merchant, Op};
use crate::database::{Engine, FreshDatabase};
use crate::load::{Picker, Step, StepResult};
use crate::receiver::Receiver;
use crate::report::{AtFraction, Check, Environment, NotifyReport, Report, ScenarioReport};
use crate::server::{Launcher, Node, NodeSpec};

/// The scenarios of the benchmark (the ceiling, `GET /healthz`, always runs first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// (a) DOKU Allo direct-debit payment host-to-host: HMAC, customer token, ledger, outbox.
    Payment,
    /// (b) DANA payment-gateway create order: SHA256withRSA signed by the merchant, verified by bayar.
    DanaOrder,
    /// (c) DOKU direct-debit status query: the read path.
    Status,
    /// (d) B2B token issuance: RSA signature verification.
    Token,
    /// (e) A mix: 60% payments, 20% partial refunds of earlier payments, 20% status queries.
    Mix,
    /// (f) Notification delivery rate after a burst of payments.
    Notify,
}

impl Scenario {
    /// Every scenario, in the order they run.
    pub const ALL: [Scenario; 6] = [
        Scenario::Payment,
        Scenario::DanaOrder,
        Scenario::Status,
        Scenario::Token,
        Scenario::Mix,
        Scenario::Notify,
    ];
}

/// Settings of a run.
#[derive(Clone, Debug)]
pub struct Config {
    /// SQLite or PostgreSQL.
    pub engine: Engine,
    /// For PostgreSQL: a database on the server where `bench_<random>` is created.
    pub admin_database_url: Option<String>,
    /// bayar processes sharing the database (more than one needs PostgreSQL).
    pub nodes: usize,
    /// Bound bank customers; payments go round-robin over them.
    pub customers: usize,
    /// Each customer's opening balance.
    pub balance: String,
    /// Which scenarios (the ceiling always runs).
    pub scenarios: Vec<Scenario>,
    /// The p99 bound of "sustainable"; default 20 ms on SQLite, 30 ms on PostgreSQL.
    pub p99_bound_ms: Option<f64>,
    /// Length of each search step.
    pub step_duration: Duration,
    /// Length of each fixed-fraction step.
    pub duration: Duration,
    /// The search's first rate.
    pub start_rate: f64,
    /// The search stops doubling beyond this rate.
    pub max_rate: f64,
    /// Bisection steps after the doubling.
    pub bisect_steps: u32,
    /// How often a search step that failed is run again before the search believes it: one
    /// stall of the machine (a VM's neighbour, a checkpoint's fsync) then does not set the
    /// maximum. Every run is reported.
    pub step_retries: u32,
    /// Fractions of the maximum measured at the end (0.25, 0.5, 0.75, 1.0).
    pub fractions: Vec<f64>,
    /// Pause between steps.
    pub cooldown: Duration,
    /// Payments in the notification burst.
    pub notify_burst: u64,
    /// How long to wait for the notification backlog to drain.
    pub notify_drain_timeout: Duration,
    /// Per-request timeout of the generator.
    pub request_timeout: Duration,
    /// Most requests in flight at once before the generator counts errors.
    pub max_in_flight: usize,
    /// Pass `--unsafe-no-fsync` to bayar (reported; never the default).
    pub unsafe_no_fsync: bool,
    /// `BAYAR_LOG` of the servers.
    pub server_log: String,
    /// The notification worker's poll interval.
    pub notify_poll_ms: u64,
    /// Where to write `<label>.json` and `<label>.png` (none: not written).
    pub results_dir: Option<PathBuf>,
    /// File name stem of the results (default `<engine>-<nodes>node`).
    pub label: Option<String>,
    /// Where the servers' logs are kept (default: a temporary directory removed at the end).
    pub log_dir: Option<PathBuf>,
}

impl Config {
    /// The defaults of a real run on `engine`.
    pub fn new(engine: Engine) -> Config {
        Config {
            engine,
            admin_database_url: std::env::var("DATABASE_URL").ok(),
            nodes: 1,
            customers: 200,
            balance: "1000000000.00".into(),
            scenarios: Scenario::ALL.to_vec(),
            p99_bound_ms: None,
            step_duration: Duration::from_secs(3),
            duration: Duration::from_secs(10),
            start_rate: 250.0,
            max_rate: 64_000.0,
            bisect_steps: 3,
            step_retries: 1,
            fractions: vec![0.25, 0.5, 0.75, 1.0],
            cooldown: Duration::from_secs(1),
            notify_burst: 5_000,
            notify_drain_timeout: Duration::from_secs(120),
            request_timeout: Duration::from_secs(10),
            max_in_flight: 20_000,
            unsafe_no_fsync: false,
            server_log: "warn".into(),
            notify_poll_ms: 500,
            results_dir: None,
            label: None,
            log_dir: None,
        }
    }

    /// The p99 bound in force.
    pub fn bound_ms(&self) -> f64 {
        self.p99_bound_ms.unwrap_or(match self.engine {
            Engine::Sqlite => 20.0,
            Engine::Postgres => 30.0,
        })
    }

    fn settings(&self) -> serde_json::Value {
        json!({
            "p99_bound_ms": self.bound_ms(),
            "customers": self.customers,
            "scenarios": self.scenarios.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>(),
            "step_duration_s": self.step_duration.as_secs_f64(),
            "fraction_duration_s": self.duration.as_secs_f64(),
            "start_rate": self.start_rate,
            "max_rate": self.max_rate,
            "bisect_steps": self.bisect_steps,
            "step_retries": self.step_retries,
            "fractions": self.fractions,
            "notify_burst": self.notify_burst,
            "durable_fsync": !self.unsafe_no_fsync,
            "server_log": self.server_log,
            "notify_poll_ms": self.notify_poll_ms,
            "payment_value": client::PAYMENT_VALUE,
            "refund_value": client::REFUND_VALUE,
            "token_requests": "one RSA signature per step, verified by bayar on every request",
        })
    }
}

/// The nodes of a run and the measuring of them.
struct Cluster {
    nodes: Vec<Box<dyn Node>>,
}

impl Cluster {
    fn pids(&self) -> Vec<u32> {
        self.nodes.iter().map(|n| n.pid()).collect()
    }

    async fn stop(self) -> Result<()> {
        let mut first_error = None;
        for node in self.nodes {
            if let Err(e) = node.stop().await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Everything a scenario needs.
struct Bench<'a> {
    config: &'a Config,
    merchant: Arc<Merchant>,
    receiver: &'a Receiver,
    pids: Vec<u32>,
}

impl Bench<'_> {
    fn step(&self, rate: f64, duration: Duration) -> Step {
        Step {
            rate: rate.max(1.0),
            duration,
            drain: self.config.request_timeout + Duration::from_secs(1),
            max_in_flight: self.config.max_in_flight,
        }
    }

    async fn run_step(&self, picker: &Picker, rate: f64, duration: Duration) -> Result<StepResult> {
        self.merchant
            .refresh_b2b_token()
            .await
            .context("getting a B2B token")?;
        self.merchant.presign_token_request()?;
        let result = load::run_step(
            self.merchant.clone(),
            picker.clone(),
            self.step(rate, duration),
            self.config.bound_ms(),
            &self.pids,
        )
        .await;
        eprintln!(
            "    {:>8.0}/s offered: {:>8.0}/s ok, p50 {:>7.2} ms, p99 {:>8.2} ms, p99.9 {:>8.2} ms, RSS peak {:>5.0} MiB, CPU idle {}, errors {}{} [{}]",
            result.offered_rate,
            result.achieved_rate,
            result.p50_ms,
            result.p99_ms,
            result.p999_ms,
            result.server_peak_rss_mib,
            result
                .machine_idle_pct
                .map_or_else(|| "?".to_string(), |idle| format!("{idle:>3.0}%")),
            result.errors,
            if result.error_kinds.is_empty() {
                String::new()
            } else {
                format!(" {:?}", result.error_kinds)
            },
            if result.passed { "pass" } else { "fail" }
        );
        tokio::time::sleep(self.config.cooldown).await;
        Ok(result)
    }

    /// Waits until every notification of a successful payment or refund so far arrived.
    async fn drain_notifications(&self, within: Duration) -> (bool, f64) {
        let started = Instant::now();
        loop {
            let expected = self
                .merchant
                .payments_ok
                .load(std::sync::atomic::Ordering::SeqCst)
                + self
                    .merchant
                    .refunds_ok
                    .load(std::sync::atomic::Ordering::SeqCst);
            if self.receiver.distinct() as u64 >= expected {
                return (true, started.elapsed().as_secs_f64());
            }
            if started.elapsed() > within {
                return (false, started.elapsed().as_secs_f64());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// One step of the search at `rate`, run again up to [`Config::step_retries`] times while
    /// it fails; every run goes into `steps`. Answers whether the last run passed.
    async fn search_step(
        &self,
        picker: &Picker,
        rate: f64,
        steps: &mut Vec<StepResult>,
    ) -> Result<bool> {
        for run in 0..=self.config.step_retries {
            if run > 0 {
                eprintln!("    (failed; running {rate:.0}/s again)");
            }
            let r = self
                .run_step(picker, rate, self.config.step_duration)
                .await?;
            let passed = r.passed;
            steps.push(r);
            if passed {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Doubling then bisecting: the highest offered rate that passed, and every step.
    async fn search(&self, picker: &Picker) -> Result<(f64, Vec<StepResult>)> {
        let c = self.config;
        let mut steps = Vec::new();
        let mut rate = c.start_rate.round().max(1.0);
        let mut lo = 0.0f64;
        let mut hi: Option<f64> = None;
        loop {
            let passed = self.search_step(picker, rate, &mut steps).await?;
            if !passed {
                hi = Some(rate);
                break;
            }
            lo = rate;
            if rate * 2.0 > c.max_rate {
                break;
            }
            rate *= 2.0;
        }
        // Even the first rate failed: come down until one passes.
        while lo == 0.0 && rate > (c.start_rate / 32.0).max(1.0) {
            rate = (rate / 2.0).round().max(1.0);
            if self.search_step(picker, rate, &mut steps).await? {
                lo = rate;
            } else {
                hi = Some(rate);
            }
        }
        if let Some(mut hi) = hi
            && lo > 0.0
        {
            for _ in 0..c.bisect_steps {
                if hi / lo < 1.08 {
                    break;
                }
                let mid = ((lo + hi) / 2.0).round();
                if self.search_step(picker, mid, &mut steps).await? {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
        }
        Ok((lo, steps))
    }

    /// Runs one latency scenario: search, then the fixed fractions.
    async fn scenario(
        &self,
        name: &str,
        description: &str,
        picker: Picker,
        ceiling: Option<f64>,
    ) -> Result<ScenarioReport> {
        eprintln!("\n== {name}: {description}");
        let (drained, waited) = self
            .drain_notifications(self.config.notify_drain_timeout)
            .await;
        if waited > 0.5 || !drained {
            eprintln!(
                "    (waited {waited:.1} s for the notification backlog{})",
                if drained { "" } else { ", NOT drained" }
            );
        }
        let started = Instant::now();
        let cpu_before = procstat::total(&self.pids);
        let gen_before = procstat::usage(std::process::id()).unwrap_or_default();
        let (max, search) = self.search(&picker).await?;
        let mut at_fractions = Vec::new();
        if max > 0.0 {
            eprintln!("    max sustainable: {max:.0}/s; measuring fractions of it");
            for &fraction in &self.config.fractions {
                let step = self
                    .run_step(&picker, (max * fraction).round(), self.config.duration)
                    .await?;
                at_fractions.push(AtFraction { fraction, step });
            }
        }
        let cpu_after = procstat::total(&self.pids);
        let gen_after = procstat::usage(std::process::id()).unwrap_or_default();
        // Each step resets VmHWM, so the scenario's peak is the largest of its steps' peaks and
        // of the VmHWM now (the last step and the pause after it).
        let server_peak_rss_mib = search
            .iter()
            .chain(at_fractions.iter().map(|f| &f.step))
            .map(|s| s.server_peak_rss_mib)
            .fold(procstat::mib(cpu_after.peak_rss_bytes), f64::max);
        // The step that set the maximum: RSS at the sustained rate, not at an overload step.
        let server_peak_rss_at_max_mib = search
            .iter()
            .find(|s| s.passed && s.offered_rate == max)
            .map(|s| s.server_peak_rss_mib);
        Ok(ScenarioReport {
            name: name.into(),
            description: description.into(),
            p99_bound_ms: self.config.bound_ms(),
            max_sustainable_rate: max,
            ratio_to_ceiling: ceiling.filter(|c| *c > 0.0).map(|c| max / c),
            search,
            at_fractions,
            server_cpu_s: cpu_after.cpu_seconds - cpu_before.cpu_seconds,
            server_peak_rss_mib,
            server_peak_rss_at_max_mib,
            generator_cpu_s: gen_after.cpu_seconds - gen_before.cpu_seconds,
            wall_s: started.elapsed().as_secs_f64(),
        })
    }

    /// Makes sure status queries and refunds have payments to work on.
    async fn seed_payments(&self) -> Result<()> {
        if self.merchant.paid_count() > 0 {
            return Ok(());
        }
        eprintln!("\n== seeding payments for status queries and refunds");
        let picker: Picker = Arc::new(|_| Op::Pay);
        let r = self
            .run_step(&picker, self.config.start_rate, self.config.step_duration)
            .await?;
        if r.ok == 0 {
            bail!("seeding payments failed: {:?}", r.error_kinds);
        }
        Ok(())
    }

    /// (f): a burst of payments, then how fast their notifications arrive.
    async fn notifications(&self, rate: f64) -> Result<NotifyReport> {
        // At most 20 s of payments.
        let count = self.config.notify_burst.min((rate * 20.0) as u64).max(1);
        eprintln!(
            "\n== notify: a burst of {count} payments at {rate:.0}/s, then their notifications"
        );
        let (drained, waited) = self
            .drain_notifications(self.config.notify_drain_timeout)
            .await;
        eprintln!(
            "    backlog before the burst {}drained after {waited:.1} s",
            if drained { "" } else { "NOT " }
        );
        let picker: Picker = Arc::new(|_| Op::Pay);
        let cpu_before = procstat::total(&self.pids);
        self.merchant.record_answers(true);
        let burst_start = Instant::now();
        let duration = Duration::from_secs_f64(count as f64 / rate.max(1.0));
        let burst = self.run_step(&picker, rate, duration).await?;
        self.merchant.record_answers(false);
        let answers = self.merchant.take_answers();
        let (drained, _) = self
            .drain_notifications(self.config.notify_drain_timeout)
            .await;
        let cpu_after = procstat::total(&self.pids);
        if !drained {
            eprintln!("    WARNING: the burst's notifications did not all arrive in time");
        }
        let seen = self.receiver.snapshot();
        let mut lag = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
        let (mut first, mut last): (Option<Instant>, Option<Instant>) = (None, None);
        let mut delivered = 0u64;
        for (reference, answered) in &answers {
            if let Some(s) = seen.get(&receiver::payment_key(reference)) {
                delivered += 1;
                lag.saturating_record(
                    s.first.saturating_duration_since(*answered).as_micros() as u64 + 1,
                );
                first = Some(first.map_or(s.first, |f| f.min(s.first)));
                last = Some(last.map_or(s.first, |l| l.max(s.first)));
            }
        }
        let window = match (first, last) {
            (Some(f), Some(l)) => (l - f).as_secs_f64(),
            _ => 0.0,
        };
        let delivered_per_s = if window > 0.0 {
            delivered as f64 / window
        } else {
            0.0
        };
        let to_last = last.map_or(0.0, |l| (l - burst_start).as_secs_f64());
        Ok(NotifyReport {
            burst_payments: answers.len() as u64,
            burst_rate: rate,
            burst,
            delivered,
            seconds_to_last_delivery: to_last,
            delivered_per_s,
            // The worker kept up if the deliveries' window was no longer than the burst plus a
            // little: the rate then measures the offered payments, a lower bound on delivery.
            bounded_by_offered_rate: window <= duration.as_secs_f64() * 1.1 + 0.25,
            lag_p50_ms: lag.value_at_quantile(0.5) as f64 / 1000.0,
            lag_p99_ms: lag.value_at_quantile(0.99) as f64 / 1000.0,
            lag_max_ms: lag.max() as f64 / 1000.0,
            handshakes: self.receiver.handshakes(),
            server_cpu_s: cpu_after.cpu_seconds - cpu_before.cpu_seconds,
        })
    }
}

/// Raises the open-files limit to its maximum (many connections; children inherit it).
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit on a local, fully initialised struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// Runs the benchmark with `launcher`'s bayar nodes; returns the report, or an error when a
/// correctness check failed (after writing the report).
pub async fn run(config: &Config, launcher: &dyn Launcher) -> Result<Report> {
    if config.nodes == 0 {
        bail!("--nodes must be at least 1");
    }
    if config.nodes > 1 && config.engine == Engine::Sqlite {
        bail!("several nodes share one database only on PostgreSQL (--engine postgres)");
    }
    raise_fd_limit();
    let mut environment = Environment::capture();
    let db = FreshDatabase::create(config.engine, config.admin_database_url.as_deref()).await?;
    let outcome = run_on(config, launcher, &db, &mut environment).await;
    if let Err(e) = db.drop_database().await {
        eprintln!("warning: could not drop the bench database: {e:#}");
    }
    outcome
}

async fn run_on(
    config: &Config,
    launcher: &dyn Launcher,
    db: &FreshDatabase,
    environment: &mut Environment,
) -> Result<Report> {
    let receiver = Receiver::start().await?;
    eprintln!(
        "provisioning a merchant and {} bound customers on {} ...",
        config.customers,
        config.engine.as_str()
    );
    let provisioned_at = Instant::now();
    let account = provision::provision(
        &db.url,
        &receiver.notify_url,
        config.customers,
        &config.balance,
    )
    .await
    .context("provisioning")?;
    eprintln!("  done in {:.1} s", provisioned_at.elapsed().as_secs_f64());
    let merchant_id = account.merchant_id.clone();

    let temporary_logs = tempfile::Builder::new()
        .prefix("bayar-bench-logs-")
        .tempdir()?;
    let log_dir = match &config.log_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            dir.clone()
        }
        None => temporary_logs.path().to_path_buf(),
    };
    let mut nodes = Vec::new();
    for index in 0..config.nodes {
        let spec = NodeSpec {
            index,
            database_url: db.url.clone(),
            unsafe_no_fsync: config.unsafe_no_fsync,
            log_level: config.server_log.clone(),
            notify_poll_ms: config.notify_poll_ms,
            log_dir: log_dir.clone(),
        };
        nodes.push(launcher.start(&spec).await?);
    }
    let cluster = Cluster { nodes };
    let urls: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| n.base_url().to_string())
        .collect();
    eprintln!("bayar node(s): {}", urls.join(", "));
    let merchant = Arc::new(Merchant::new(urls, account, config.request_timeout)?);
    let bench = Bench {
        config,
        merchant: merchant.clone(),
        receiver: &receiver,
        pids: cluster.pids(),
    };

    let load = run_scenarios(&bench).await;
    environment.loadavg_at_end = report::loadavg();
    // Whatever happened, wait for the notifications, stop the nodes and check the books.
    let (drained, waited) = bench.drain_notifications(config.notify_drain_timeout).await;
    let stopped = cluster.stop().await;
    let (ceiling, scenarios, notifications) = load?;
    stopped.context("stopping bayar")?;

    let mut checks = Vec::new();
    checks.push(Check {
        name: "notification backlog drained before stopping".into(),
        passed: drained,
        detail: format!("waited {waited:.1} s"),
    });
    checks.extend(correctness(launcher, db, &merchant_id, &merchant, &receiver).await?);
    let mut settings = config.settings();
    settings["server_cpu_and_rss_of_bayar_alone"] = json!(launcher.measures_bayar_alone());
    let report = Report {
        environment: environment.clone(),
        engine: config.engine.as_str().into(),
        nodes: config.nodes,
        settings,
        ceiling,
        scenarios,
        notifications,
        checks,
        payments_ok: merchant
            .payments_ok
            .load(std::sync::atomic::Ordering::SeqCst),
        refunds_ok: merchant
            .refunds_ok
            .load(std::sync::atomic::Ordering::SeqCst),
        dana_orders_ok: merchant
            .dana_orders_ok
            .load(std::sync::atomic::Ordering::SeqCst),
    };
    if let Some(dir) = &config.results_dir {
        std::fs::create_dir_all(dir)?;
        let stem = config
            .label
            .clone()
            .unwrap_or_else(|| format!("{}-{}node", config.engine.as_str(), config.nodes));
        report.write_json(&dir.join(format!("{stem}.json")))?;
        chart::draw(&report, &dir.join(format!("{stem}.png")))?;
        eprintln!("results: {}/{stem}.{{json,png}}", dir.display());
    }
    println!("{}", report.summary());
    if let Some(failed) = report::failures(&report.checks) {
        bail!("CORRECTNESS CHECK FAILED: {failed}");
    }
    Ok(report)
}

type ScenarioResults = (
    Option<ScenarioReport>,
    Vec<ScenarioReport>,
    Option<NotifyReport>,
);

async fn run_scenarios(bench: &Bench<'_>) -> Result<ScenarioResults> {
    let config = bench.config;
    let health: Picker = Arc::new(|_| Op::Health);
    let ceiling = bench
        .scenario(
            "ceiling_healthz",
            "GET /healthz (the same server answering without a business write)",
            health,
            None,
        )
        .await?;
    let ceiling_rate = Some(ceiling.max_sustainable_rate);
    let mut scenarios = Vec::new();
    let mut notifications = None;
    let mut payment_max = None;
    for scenario in Scenario::ALL
        .iter()
        .filter(|s| config.scenarios.contains(s))
    {
        match scenario {
            Scenario::Payment => {
                let r = bench
                    .scenario(
                        "doku_payment",
                        "(a) DOKU Allo direct-debit payment host-to-host (HMAC, customer token, ledger, outbox)",
                        Arc::new(|_| Op::Pay),
                        ceiling_rate,
                    )
                    .await?;
                payment_max = r
                    .search
                    .iter()
                    .filter(|s| s.errors == 0)
                    .map(|s| s.offered_rate)
                    .reduce(f64::max);
                scenarios.push(r);
            }
            Scenario::DanaOrder => scenarios.push(
                bench
                    .scenario(
                        "dana_create_order",
                        "(b) DANA payment-gateway create order (SHA256withRSA signed and verified per request)",
                        Arc::new(|_| Op::DanaOrder),
                        ceiling_rate,
                    )
                    .await?,
            ),
            Scenario::Status => {
                bench.seed_payments().await?;
                scenarios.push(
                    bench
                        .scenario(
                            "doku_status",
                            "(c) DOKU direct-debit status query of an earlier payment (read path)",
                            Arc::new(|_| Op::Status),
                            ceiling_rate,
                        )
                        .await?,
                );
            }
            Scenario::Token => scenarios.push(
                bench
                    .scenario(
                        "b2b_token",
                        "(d) B2B access token (SHA256withRSA verify)",
                        Arc::new(|_| Op::Token),
                        ceiling_rate,
                    )
                    .await?,
            ),
            Scenario::Mix => {
                bench.seed_payments().await?;
                scenarios.push(
                    bench
                        .scenario(
                            "mix",
                            "(e) 60% payments, 20% partial refunds of earlier payments, 20% status",
                            Arc::new(|seq| match client::mix(seq) % 10 {
                                0 | 1 => Op::Refund,
                                2 | 3 => Op::Status,
                                _ => Op::Pay,
                            }),
                            ceiling_rate,
                        )
                        .await?,
                );
            }
            Scenario::Notify => {
                // The burst is offered at the highest payment rate answered without errors
                // (latency aside): the point is to give the worker a backlog to drain.
                let rate = payment_max
                    .filter(|r| *r > 0.0)
                    .unwrap_or(config.start_rate)
                    .max(config.start_rate);
                notifications = Some(bench.notifications(rate).await?);
            }
        }
    }
    Ok((Some(ceiling), scenarios, notifications))
}

/// The checks after the run, on the stopped nodes' database.
async fn correctness(
    launcher: &dyn Launcher,
    db: &FreshDatabase,
    merchant_id: &str,
    merchant: &Merchant,
    receiver: &Receiver,
) -> Result<Vec<Check>> {
    let mut checks = Vec::new();
    let verify = launcher.verify_ledger(&db.url).await;
    checks.push(Check {
        name: "bayar ledger verify".into(),
        passed: verify.is_ok(),
        detail: match verify {
            Ok(out) => out,
            Err(e) => format!("{e:#}"),
        },
    });
    let payments_ok = merchant
        .payments_ok
        .load(std::sync::atomic::Ordering::SeqCst) as i64;
    let refunds_ok = merchant
        .refunds_ok
        .load(std::sync::atomic::Ordering::SeqCst) as i64;
    let mut inspect = db.inspect().await?;
    let m = merchant_id.replace('\'', "");
    let dana_orders_ok = merchant
        .dana_orders_ok
        .load(std::sync::atomic::Ordering::SeqCst) as i64;
    let payments = inspect
        .count(&format!(
            "SELECT COUNT(*) FROM payments WHERE merchant_id = '{m}'"
        ))
        .await?;
    checks.push(Check {
        name: "payments in the database = 2xx payment and order answers".into(),
        passed: payments == payments_ok + dana_orders_ok,
        detail: format!(
            "{payments} rows, {payments_ok} payments and {dana_orders_ok} DANA orders answered 2005400"
        ),
    });
    let distinct = inspect
        .count(&format!(
            "SELECT COUNT(DISTINCT partner_reference_no) FROM payments WHERE merchant_id = '{m}'"
        ))
        .await?;
    checks.push(Check {
        name: "no duplicate payments (partnerReferenceNo)".into(),
        passed: distinct == payments,
        detail: format!("{distinct} distinct references in {payments} rows"),
    });
    let not_succeeded = inspect
        .count(&format!(
            "SELECT COUNT(*) FROM payments WHERE merchant_id = '{m}'
               AND channel = 'allo_direct_debit' AND status <> 'succeeded'"
        ))
        .await?;
    checks.push(Check {
        name: "every stored direct-debit payment succeeded".into(),
        passed: not_succeeded == 0,
        detail: format!("{not_succeeded} not succeeded"),
    });
    let orders_waiting = inspect
        .count(&format!(
            "SELECT COUNT(*) FROM payments WHERE merchant_id = '{m}'
               AND channel = 'dana_wallet' AND status = 'created'"
        ))
        .await?;
    checks.push(Check {
        name: "every DANA order waits for its customer".into(),
        passed: orders_waiting == dana_orders_ok,
        detail: format!("{orders_waiting} created, {dana_orders_ok} answered 2005400"),
    });
    let refunds = inspect
        .count(&format!(
            "SELECT COUNT(*) FROM refunds WHERE merchant_id = '{m}'"
        ))
        .await?;
    checks.push(Check {
        name: "refunds in the database = 2xx refund answers".into(),
        passed: refunds == refunds_ok,
        detail: format!("{refunds} rows, {refunds_ok} answered 2005800"),
    });
    let events = inspect
        .count(&format!(
            "SELECT COUNT(*) FROM events WHERE merchant_id = '{m}' AND kind IN ('payment.succeeded', 'refund.succeeded')"
        ))
        .await?;
    let undelivered = inspect
        .count(&format!(
            "SELECT COUNT(*) FROM events WHERE merchant_id = '{m}' AND kind IN ('payment.succeeded', 'refund.succeeded') AND delivered_at IS NULL"
        ))
        .await?;
    inspect.close().await;
    checks.push(Check {
        name: "one outbox event per payment and refund, all marked delivered".into(),
        passed: events == payments_ok + refunds_ok && undelivered == 0,
        detail: format!(
            "{events} events for {} successes, {undelivered} undelivered",
            payments_ok + refunds_ok
        ),
    });

    // Exactly once at the receiver.
    let seen = receiver.snapshot();
    let mut expected: HashMap<String, ()> = merchant
        .paid()
        .iter()
        .map(|r| (receiver::payment_key(r), ()))
        .collect();
    expected.extend(
        merchant
            .refunded()
            .iter()
            .map(|r| (receiver::refund_key(r), ())),
    );
    let missing = expected.keys().filter(|k| !seen.contains_key(*k)).count();
    let duplicated = seen.values().filter(|s| s.count > 1).count();
    let extra_deliveries: u64 = seen
        .values()
        .map(|s| u64::from(s.count.saturating_sub(1)))
        .sum();
    let unexpected = seen.keys().filter(|k| !expected.contains_key(*k)).count();
    checks.push(Check {
        name: "every notification delivered exactly once".into(),
        passed: missing == 0 && duplicated == 0 && unexpected == 0 && receiver.unrecognised() == 0,
        detail: format!(
            "{} expected, {} received, {missing} missing, {duplicated} delivered more than once ({extra_deliveries} extra), {unexpected} unexpected, {} unrecognised",
            expected.len(),
            seen.len(),
            receiver.unrecognised()
        ),
    });
    Ok(checks)
}

//! The portal benchmark: how long each page of the merchant portal takes to serve once
//! `payments` payments (with refunds, status queries and their API log) are behind it.
//!
//! It seeds through the product itself: signed DOKU payments, refunds and status queries over
//! HTTP at a fixed rate, so the payments, ledger entries, notifications and API log are the
//! real ones. Once the notifications are delivered, a merchant user and an operator log in and
//! every page is fetched `repeats` times, one request at a time on an otherwise idle server.
//! The time is measured by the client on the loopback interface: an upper bound of the server
//! time. A page passes when 90% of its fetches finish within the bound. The CSV downloads
//! (statement, API log, settlement) are timed and reported beside the pages, not held to the
//! bound: their time grows with the rows they carry.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use bayar_core::ids::MerchantId;
use bayar_core::portal::{Email, Password, Role};
use bayar_core::store::Store;
use bayar_core::{Core, CoreConfig};
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::client::{self, Merchant, Op};
use crate::database::{Engine, FreshDatabase};
use crate::load::{self, Picker, Step};
use crate::provision;
use crate::receiver::Receiver;
use crate::report::{self, Check, Environment};
use crate::server::{Launcher, NodeSpec};

/// The password of the bench's portal users.
const PASSWORD: &str = "bench-portal-password";

/// Settings of a portal run.
#[derive(Clone, Debug)]
pub struct PortalConfig {
    /// SQLite or PostgreSQL.
    pub engine: Engine,
    /// For PostgreSQL: a database on the server where `bench_<random>` is created.
    pub admin_database_url: Option<String>,
    /// Payments to seed before measuring.
    pub payments: u64,
    /// Requests per second while seeding (payments, with 5% refunds and 5% status queries).
    pub seed_rate: f64,
    /// Fetches of each page.
    pub repeats: usize,
    /// The bound of a page, in milliseconds.
    pub bound_ms: f64,
    /// Bound bank customers the payments go round-robin over.
    pub customers: usize,
    /// `BAYAR_LOG` of the server.
    pub server_log: String,
    /// Where to write `<label>.json` (none: not written).
    pub results_dir: Option<PathBuf>,
    /// File name stem of the results (default `portal-<engine>`).
    pub label: Option<String>,
}

impl PortalConfig {
    /// The defaults of a real run on `engine`: 100,000 payments, 100 ms.
    pub fn new(engine: Engine) -> PortalConfig {
        PortalConfig {
            engine,
            admin_database_url: std::env::var("DATABASE_URL").ok(),
            payments: 100_000,
            seed_rate: 400.0,
            repeats: 20,
            bound_ms: 100.0,
            customers: 200,
            server_log: "warn".into(),
            results_dir: None,
            label: None,
        }
    }
}

/// How one page fared.
#[derive(Clone, Debug, Serialize)]
pub struct PageTiming {
    /// What the page is.
    pub name: String,
    /// The path and query fetched.
    pub path: String,
    /// `merchant` or `operator`.
    pub user: String,
    /// A page (held to the bound) or a file download (reported: its time grows with its size).
    pub download: bool,
    /// Median time to the answer's headers (for a download: before its body streams).
    pub headers_p50_ms: f64,
    /// The HTTP status of the last fetch.
    pub status: u16,
    /// Size of the last answer's body.
    pub bytes: usize,
    /// Fetches measured.
    pub samples: usize,
    /// Fastest fetch.
    pub min_ms: f64,
    /// Median.
    pub p50_ms: f64,
    /// 90th percentile: what the bound is checked against.
    pub p90_ms: f64,
    /// Slowest fetch.
    pub max_ms: f64,
    /// Whether every fetch answered 200 and, for a page, `p90_ms` is within the bound.
    pub within_bound: bool,
}

/// The whole portal run.
#[derive(Clone, Debug, Serialize)]
pub struct PortalReport {
    /// Machine and time.
    pub environment: Environment,
    /// `sqlite` or `postgres`.
    pub engine: String,
    /// Settings as run.
    pub settings: serde_json::Value,
    /// Payments answered with success while seeding.
    pub payments: u64,
    /// Refunds answered with success while seeding.
    pub refunds: u64,
    /// Rows of the merchant's API log when measured.
    pub api_log_rows: i64,
    /// Rows of the ledger's entries when measured.
    pub ledger_entries: i64,
    /// How long seeding took.
    pub seed_s: f64,
    /// Every page, in the order measured.
    pub pages: Vec<PageTiming>,
    /// The checks (pages within the bound, ledger, notifications).
    pub checks: Vec<Check>,
}

impl PortalReport {
    /// Whether every check held.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// The human summary printed at the end of a run.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "\nbayar-bench portal: {} with {} payments, {} refunds, {} API calls, {} ledger entries\n\
             {} CPUs ({}); time per page measured by the client over loopback\n\n\
             {:<28} {:<8} {:>6} {:>9} {:>8} {:>8} {:>8}\n",
            self.engine,
            self.payments,
            self.refunds,
            self.api_log_rows,
            self.ledger_entries,
            self.environment.cpus,
            self.environment.cpu_model,
            "page",
            "user",
            "status",
            "bytes",
            "p50 ms",
            "p90 ms",
            "max ms",
        );
        for p in &self.pages {
            s += &format!(
                "{:<28} {:<8} {:>6} {:>9} {:>8.2} {:>8.2} {:>8.2}{}\n",
                p.name,
                p.user,
                p.status,
                p.bytes,
                p.p50_ms,
                p.p90_ms,
                p.max_ms,
                match (p.within_bound, p.download) {
                    (false, _) => "  OVER",
                    (true, true) => "  (download)",
                    (true, false) => "",
                }
            );
        }
        s += "\nchecks:\n";
        for c in &self.checks {
            s += &format!(
                "  [{}] {}: {}\n",
                if c.passed { "ok" } else { "FAIL" },
                c.name,
                c.detail
            );
        }
        s
    }
}

/// Seeds, measures, checks; returns the report, or an error when a check failed (after
/// writing the report).
pub async fn run(config: &PortalConfig, launcher: &dyn Launcher) -> Result<PortalReport> {
    let db = FreshDatabase::create(config.engine, config.admin_database_url.as_deref()).await?;
    let outcome = run_on(config, launcher, &db).await;
    if let Err(e) = db.drop_database().await {
        eprintln!("warning: could not drop the bench database: {e:#}");
    }
    outcome
}

async fn run_on(
    config: &PortalConfig,
    launcher: &dyn Launcher,
    db: &FreshDatabase,
) -> Result<PortalReport> {
    let mut environment = Environment::capture();
    let receiver = Receiver::start().await?;
    eprintln!(
        "provisioning a merchant, {} bound customers and two portal users ...",
        config.customers
    );
    let account = provision::provision(
        &db.url,
        &receiver.notify_url,
        config.customers,
        "1000000000.00",
    )
    .await
    .context("provisioning")?;
    let merchant_id: MerchantId = account.merchant_id.parse()?;
    create_users(&db.url, merchant_id).await?;

    let logs = tempfile::Builder::new()
        .prefix("bayar-bench-logs-")
        .tempdir()?;
    let node = launcher
        .start(&NodeSpec {
            index: 0,
            database_url: db.url.clone(),
            unsafe_no_fsync: false,
            log_level: config.server_log.clone(),
            notify_poll_ms: 500,
            log_dir: logs.path().to_path_buf(),
        })
        .await?;
    let base_url = node.base_url().to_string();
    let merchant = Arc::new(Merchant::new(
        vec![base_url.clone()],
        account,
        Duration::from_secs(10),
    )?);

    let measured = async {
        let seed_s = seed(config, &merchant, &[node.pid()]).await?;
        let delivered = wait_for_notifications(&merchant, &receiver).await;
        let references = merchant.paid();
        let mut pages = Vec::new();
        for user in ["merchant", "operator"] {
            let browser = Browser::log_in(&base_url, &format!("{user}@bench.example")).await?;
            pages.extend(measure_pages(config, &browser, user, &merchant_id, &references).await?);
        }
        anyhow::Ok((seed_s, delivered, pages))
    }
    .await;
    environment.loadavg_at_end = report::loadavg();
    let stopped = node.stop().await;
    let (seed_s, delivered, pages) = measured?;
    stopped.context("stopping bayar")?;

    let mut inspector = db.inspect().await?;
    let api_log_rows = inspector.count("SELECT COUNT(*) FROM api_log").await?;
    let ledger_entries = inspector.count("SELECT COUNT(*) FROM entries").await?;
    let stored = inspector.count("SELECT COUNT(*) FROM payments").await?;
    inspector.close().await;

    let payments = merchant
        .payments_ok
        .load(std::sync::atomic::Ordering::SeqCst);
    let refunds = merchant
        .refunds_ok
        .load(std::sync::atomic::Ordering::SeqCst);
    let over: Vec<&str> = pages
        .iter()
        .filter(|p| !p.within_bound)
        .map(|p| p.name.as_str())
        .collect();
    let verify = launcher.verify_ledger(&db.url).await;
    let checks = vec![
        Check {
            name: format!(
                "every page within {} ms (p90); every page and download answered 200",
                config.bound_ms
            ),
            passed: over.is_empty(),
            detail: if over.is_empty() {
                format!("{} pages", pages.len())
            } else {
                format!("over: {}", over.join(", "))
            },
        },
        Check {
            name: "payments seeded".into(),
            passed: payments >= config.payments && stored as u64 == payments,
            detail: format!("{payments} answered 2005400, {stored} stored"),
        },
        Check {
            name: "notifications delivered before measuring".into(),
            passed: delivered,
            detail: format!("{} distinct at the receiver", receiver.distinct()),
        },
        Check {
            name: "bayar ledger verify".into(),
            passed: verify.is_ok(),
            detail: verify.unwrap_or_else(|e| format!("{e:#}")),
        },
    ];
    let report = PortalReport {
        environment,
        engine: config.engine.as_str().into(),
        settings: serde_json::json!({
            "payments": config.payments,
            "seed_rate": config.seed_rate,
            "seed_mix": "90% payments, 5% partial refunds, 5% status queries",
            "repeats": config.repeats,
            "bound_ms": config.bound_ms,
            "judged_on": "p90 of the fetches, every fetch 200",
            "customers": config.customers,
            "durable_fsync": true,
        }),
        payments,
        refunds,
        api_log_rows,
        ledger_entries,
        seed_s,
        pages,
        checks,
    };
    if let Some(dir) = &config.results_dir {
        std::fs::create_dir_all(dir)?;
        let stem = config
            .label
            .clone()
            .unwrap_or_else(|| format!("portal-{}", config.engine.as_str()));
        let path = dir.join(format!("{stem}.json"));
        report::write_json(&report, &path)?;
        eprintln!("results: {}", path.display());
    }
    println!("{}", report.summary());
    if let Some(failed) = report::failures(&report.checks) {
        bail!("PORTAL CHECK FAILED: {failed}");
    }
    Ok(report)
}

/// A staff user of the bench merchant and an operator, created before the server starts.
async fn create_users(database_url: &str, merchant: MerchantId) -> Result<()> {
    let store = Store::open(database_url, true).await?;
    let core = Core::start(store.clone(), CoreConfig::default()).await?;
    let created = async {
        for (user, role) in [
            ("merchant", Role::Merchant(merchant)),
            ("operator", Role::Operator),
        ] {
            core.create_portal_user(
                Email::parse(&format!("{user}@bench.example"))?,
                Password::parse(PASSWORD)?,
                role,
            )
            .await?;
        }
        anyhow::Ok(())
    }
    .await;
    store.close().await;
    created
}

/// Sends payments (with 5% refunds and 5% status queries) until `config.payments` succeeded;
/// returns the seconds it took.
async fn seed(config: &PortalConfig, merchant: &Arc<Merchant>, pids: &[u32]) -> Result<f64> {
    let picker: Picker = Arc::new(|seq| match client::mix(seq) % 20 {
        0 => Op::Refund,
        1 => Op::Status,
        _ => Op::Pay,
    });
    let started = Instant::now();
    let chunk = Duration::from_secs(10);
    loop {
        let paid = merchant
            .payments_ok
            .load(std::sync::atomic::Ordering::SeqCst);
        if paid >= config.payments {
            break;
        }
        // Payments are 90% of the requests: size the last chunk to what is missing.
        let missing = (config.payments - paid) as f64 / 0.9;
        let duration = chunk.min(Duration::from_secs_f64(
            (missing / config.seed_rate).max(0.05),
        ));
        merchant.refresh_b2b_token().await?;
        let step = load::run_step(
            merchant.clone(),
            picker.clone(),
            Step {
                rate: config.seed_rate,
                duration,
                drain: Duration::from_secs(11),
                max_in_flight: 20_000,
            },
            f64::MAX,
            pids,
        )
        .await;
        // Status queries have nothing to query before the first payment: that one is expected.
        let unexpected = step
            .error_kinds
            .keys()
            .any(|kind| !kind.contains("no payment to query yet"));
        ensure!(
            step.ok > 0 && !unexpected,
            "seeding failed: {:?}",
            step.error_kinds
        );
        eprintln!(
            "  seeded {} payments ({:.0}/s, p99 {:.1} ms)",
            merchant
                .payments_ok
                .load(std::sync::atomic::Ordering::SeqCst),
            step.achieved_rate,
            step.p99_ms
        );
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Waits (up to 5 minutes) until every payment's and refund's notification arrived.
async fn wait_for_notifications(merchant: &Merchant, receiver: &Receiver) -> bool {
    let started = Instant::now();
    loop {
        let expected = merchant
            .payments_ok
            .load(std::sync::atomic::Ordering::SeqCst)
            + merchant
                .refunds_ok
                .load(std::sync::atomic::Ordering::SeqCst);
        if receiver.distinct() as u64 >= expected {
            return true;
        }
        if started.elapsed() > Duration::from_secs(300) {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A signed-in portal user: a cookie-keeping HTTP client.
struct Browser {
    http: reqwest::Client,
    base_url: String,
}

impl Browser {
    /// Logs `email` in through the login form (its CSRF cookie and field, then the session).
    async fn log_in(base_url: &str, email: &str) -> Result<Browser> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()?;
        let form = http
            .get(format!("{base_url}/portal/login"))
            .send()
            .await?
            .text()
            .await?;
        let csrf = attribute_after(&form, "name=\"csrf\" value=\"")
            .context("the login form has no CSRF field")?;
        let answer = http
            .post(format!("{base_url}/portal/login"))
            .form(&[("email", email), ("password", PASSWORD), ("csrf", &csrf)])
            .send()
            .await?;
        ensure!(
            answer.status().is_redirection(),
            "logging {email} in answered {}",
            answer.status()
        );
        Ok(Browser {
            http,
            base_url: base_url.to_string(),
        })
    }

    /// Fetches `path`: status, body.
    async fn get(&self, path: &str) -> Result<(u16, String)> {
        let (status, _, body) = self.timed_get(path).await?;
        Ok((status, body))
    }

    /// Fetches `path`: status, time to the headers, body.
    async fn timed_get(&self, path: &str) -> Result<(u16, Duration, String)> {
        let started = Instant::now();
        let answer = self
            .http
            .get(format!("{}{path}", self.base_url))
            .send()
            .await?;
        let headers = started.elapsed();
        let status = answer.status().as_u16();
        Ok((status, headers, answer.text().await?))
    }
}

/// The text between `marker` and the next `"` in `html`.
fn attribute_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let len = html[start..].find('"')?;
    Some(html[start..start + len].to_string())
}

/// Every page of the portal a merchant reads, with the payments behind it. The operator reads
/// the same pages of the bench merchant (named in the query), and the payments of all merchants.
async fn measure_pages(
    config: &PortalConfig,
    browser: &Browser,
    user: &str,
    merchant: &MerchantId,
    references: &[String],
) -> Result<Vec<PageTiming>> {
    let reference = references
        .get(references.len() / 2)
        .context("no payment was seeded")?;
    let (_, found) = browser
        .get(&format!("/portal/payments?reference={reference}"))
        .await?;
    let payment = attribute_after(&found, "href=\"/portal/payments/pay_")
        .map(|id| format!("pay_{id}"))
        .context("searching by reference found no payment")?;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let month_ago = (chrono::Utc::now() - chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    // (name, path, whether it is a bulk download rather than a page)
    let pages: Vec<(&str, String, bool)> = vec![
        ("dashboard", "/portal".into(), false),
        ("payments", "/portal/payments".into(), false),
        (
            "payments: older page",
            format!("/portal/payments?before={payment}"),
            false,
        ),
        (
            "payments: by reference",
            format!("/portal/payments?reference={reference}"),
            false,
        ),
        (
            "payments: succeeded",
            "/portal/payments?status=succeeded".into(),
            false,
        ),
        (
            "payments: failed (none)",
            "/portal/payments?status=failed".into(),
            false,
        ),
        (
            "payments: DANA (none)",
            "/portal/payments?channel=dana_wallet".into(),
            false,
        ),
        (
            "payments: over 50k (none)",
            "/portal/payments?min=50000".into(),
            false,
        ),
        (
            "payments: a month ago (none)",
            format!("/portal/payments?from={month_ago}&to={month_ago}"),
            false,
        ),
        (
            "payments: today",
            format!("/portal/payments?from={today}&to={today}"),
            false,
        ),
        (
            "payment detail",
            format!("/portal/payments/{payment}"),
            false,
        ),
        ("balances", "/portal/balances".into(), false),
        (
            "statement.csv",
            "/portal/balances/statement.csv".into(),
            true,
        ),
        ("reports", "/portal/reports".into(), false),
        (
            "settlement.csv",
            "/portal/reports/settlement.csv?rate=16000".into(),
            false,
        ),
        ("api log + checklist", "/portal/api-log".into(), false),
        ("api-log.csv", "/portal/api-log.csv".into(), true),
        ("credentials", "/portal/credentials".into(), false),
        ("settings", "/portal/settings".into(), false),
    ];
    let operator = user == "operator";
    let mut timings = Vec::new();
    for (name, path, download) in pages {
        // The operator names the merchant; a merchant's own user needs not.
        let path = if operator {
            let joiner = if path.contains('?') { '&' } else { '?' };
            format!("{path}{joiner}merchant={merchant}")
        } else {
            path
        };
        timings.push(measure(config, browser, user, name, &path, download).await?);
    }
    if operator {
        timings.push(
            measure(
                config,
                browser,
                user,
                "payments: all merchants",
                "/portal/payments",
                false,
            )
            .await?,
        );
    }
    Ok(timings)
}

/// Fetches `path` once to warm up, then `config.repeats` times, one after another.
async fn measure(
    config: &PortalConfig,
    browser: &Browser,
    user: &str,
    name: &str,
    path: &str,
    download: bool,
) -> Result<PageTiming> {
    browser.get(path).await?;
    let new_histogram = || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3);
    let (mut histogram, mut headers) = (new_histogram()?, new_histogram()?);
    let mut all_ok = true;
    let (mut status, mut bytes) = (0, 0);
    for _ in 0..config.repeats.max(1) {
        let started = Instant::now();
        let (code, to_headers, body) = browser.timed_get(path).await?;
        histogram.saturating_record(started.elapsed().as_micros() as u64);
        headers.saturating_record(to_headers.as_micros() as u64);
        all_ok &= code == 200;
        (status, bytes) = (code, body.len());
    }
    let ms = |us: u64| us as f64 / 1000.0;
    let p90_ms = ms(histogram.value_at_quantile(0.9));
    let timing = PageTiming {
        name: name.into(),
        path: path.into(),
        user: user.into(),
        download,
        headers_p50_ms: ms(headers.value_at_quantile(0.5)),
        status,
        bytes,
        samples: histogram.len() as usize,
        min_ms: ms(histogram.min()),
        p50_ms: ms(histogram.value_at_quantile(0.5)),
        p90_ms,
        max_ms: ms(histogram.max()),
        within_bound: all_ok && (download || p90_ms <= config.bound_ms),
    };
    eprintln!(
        "  {:<28} {:<8} {} {:>9} bytes  p50 {:>7.2} ms  p90 {:>7.2} ms",
        timing.name, user, timing.status, timing.bytes, timing.p50_ms, timing.p90_ms
    );
    Ok(timing)
}

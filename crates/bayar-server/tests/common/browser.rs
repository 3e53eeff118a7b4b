//! Headless Chromium for the hosted-page tests, driven through WebDriver (`fantoccini`).
//!
//! - [`installed`]: whether Chromium and chromedriver are here; if not, says loudly that the
//!   browser test did NOT run (and fails under `CI=true`);
//! - [`Chromedriver`]: a driver on a free port in its own process group, killed with every
//!   browser it started when dropped, whatever happened in the test;
//! - [`connect`]: a session on a phone-sized screen with a throwaway profile;
//! - [`MerchantSite`]: the merchant's own pages, served on `localhost` while bayar is
//!   `127.0.0.1`, so the browser arrives at bayar cross-site as from a real merchant;
//! - [`artifacts`] and [`screenshot`]: where the screenshots go
//!   (`target/test-artifacts/<name>/`).
//!
//! Every wait is bounded by [`STEP`]; callers bound a whole run with [`WHOLE`].

use std::net::TcpListener as StdListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::Router;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use tokio::net::TcpListener;

/// Debian's `chromium-driver`.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's `chromium`.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// An iPhone-sized screen.
pub const WIDTH: u32 = 390;
/// An iPhone-sized screen.
pub const HEIGHT: u32 = 844;

/// Longest wait for any one thing (a page, an element, chromedriver starting).
pub const STEP: Duration = Duration::from_secs(15);

/// Longest one whole browser run may take.
pub const WHOLE: Duration = Duration::from_secs(120);

/// A `chromedriver` process in its own process group; dropping it kills the group (the
/// driver and every Chromium it started), whatever happened in the test.
pub struct Chromedriver {
    child: Child,
    /// The driver's WebDriver URL.
    pub url: String,
}

impl Chromedriver {
    /// Starts the driver, logging to `log`, and waits (bounded) until it says it is ready.
    pub async fn start(log: &Path) -> Chromedriver {
        let port = free_port();
        let log = std::fs::File::create(log).expect("create the chromedriver log");
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("chromedriver log handle"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        let driver = Chromedriver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            let ready = http
                .get(format!("{}/status", driver.url))
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if let Some(r) = ready {
                let status: serde_json::Value = r.json().await.unwrap_or_default();
                if status["value"]["ready"] == true {
                    return driver;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not become ready within {STEP:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group id is the driver's pid (process_group(0)): this reaches the driver and
        // the browsers it started, and nothing else.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Whether the browser is here; if not, says so loudly (and fails under CI).
pub fn installed() -> bool {
    let missing: Vec<&str> = [CHROMEDRIVER, CHROMIUM]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but {missing:?} missing: install Debian's chromium and chromium-driver"
    );
    eprintln!();
    eprintln!("================================================================");
    eprintln!("NOTE: the browser test did NOT run: {missing:?} not installed.");
    eprintln!("      apt-get install -y chromium chromium-driver");
    eprintln!("================================================================");
    eprintln!();
    false
}

/// `target/test-artifacts/<name>/`, created.
pub fn artifacts(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/test-artifacts")
        .join(name);
    std::fs::create_dir_all(&dir).expect("create the screenshot directory");
    dir
}

/// Saves a screenshot of what the browser shows as `dir/name`.
pub async fn screenshot(
    client: &Client,
    dir: &Path,
    name: &str,
) -> Result<(), fantoccini::error::CmdError> {
    let png = client.screenshot().await?;
    std::fs::write(dir.join(name), png).expect("write a screenshot");
    Ok(())
}

/// Waits (bounded by [`STEP`]) for the element with `id`.
pub async fn wait_for(
    client: &Client,
    id: &str,
) -> Result<fantoccini::elements::Element, fantoccini::error::CmdError> {
    client
        .wait()
        .at_most(STEP)
        .for_element(Locator::Id(id))
        .await
}

/// A WebDriver session: headless Chromium on a phone-sized screen, with `profile` as its
/// user data directory.
pub async fn connect(driver: &Chromedriver, profile: &Path) -> Client {
    connect_with(driver, profile, None).await
}

/// [`connect`], with downloads saved to `downloads` without asking.
pub async fn connect_downloading(
    driver: &Chromedriver,
    profile: &Path,
    downloads: &Path,
) -> Client {
    connect_with(driver, profile, Some(downloads)).await
}

async fn connect_with(driver: &Chromedriver, profile: &Path, downloads: Option<&Path>) -> Client {
    // Two rustls providers are compiled into the test build (aws-lc-rs for fantoccini's
    // hyper-rustls, ring for reqwest), so rustls cannot pick one itself: name it. Another test
    // in this process may have done so already, which is fine.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.display()),
                format!("--window-size={WIDTH},{HEIGHT}"),
            ],
            "mobileEmulation": {
                "deviceMetrics": { "width": WIDTH, "height": HEIGHT, "pixelRatio": 2.0, "touch": true },
            },
        },
        "timeouts": { "pageLoad": STEP.as_millis() as u64, "script": STEP.as_millis() as u64 },
    });
    let mut capabilities = capabilities;
    if let Some(dir) = downloads {
        capabilities["goog:chromeOptions"]["prefs"] = json!({
            "download.default_directory": dir.display().to_string(),
            "download.prompt_for_download": false,
        });
    }
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!("a JSON object literal")
    };
    tokio::time::timeout(
        STEP,
        ClientBuilder::rustls()
            .expect("TLS roots for the WebDriver client")
            .capabilities(capabilities)
            .connect(&driver.url),
    )
    .await
    .expect("chromedriver did not open a session in time")
    .expect("open a WebDriver session")
}

/// The merchant's site, as the customer's browser sees it; stops when dropped.
pub struct MerchantSite {
    /// Reached as `localhost`, while bayar is `127.0.0.1`: another site, so the browser
    /// arrives at bayar as it would from a real merchant.
    pub base: String,
    server: tokio::task::JoinHandle<()>,
}

impl MerchantSite {
    /// Serves `pages` on a free port.
    pub async fn start(pages: Router) -> MerchantSite {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            axum::serve(listener, pages).await.unwrap();
        });
        MerchantSite {
            base: format!("http://localhost:{port}"),
            server,
        }
    }
}

impl Drop for MerchantSite {
    fn drop(&mut self) {
        self.server.abort();
    }
}

//! Starting and stopping bayar nodes: by default `bayar serve` processes of a built binary
//! ([`ProcessLauncher`]); the [`Launcher`] trait lets a test run the server in process.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use futures_util::future::BoxFuture;
use tokio::process::{Child, Command};

/// What one node is started with.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// The node's position (0-based), for log file names.
    pub index: usize,
    /// The database every node shares.
    pub database_url: String,
    /// `--unsafe-no-fsync` (never the default; reported in the results when set).
    pub unsafe_no_fsync: bool,
    /// `BAYAR_LOG` of the server (e.g. `warn`, `info`).
    pub log_level: String,
    /// The notification worker's poll interval.
    pub notify_poll_ms: u64,
    /// Where the node's stderr goes.
    pub log_dir: PathBuf,
}

/// A running bayar node.
pub trait Node: Send + Sync {
    /// `http://127.0.0.1:<port>`.
    fn base_url(&self) -> &str;
    /// The process to measure (CPU, RSS).
    fn pid(&self) -> u32;
    /// Stops gracefully (SIGTERM: in-flight requests and deliveries finish) and waits.
    fn stop(self: Box<Self>) -> BoxFuture<'static, Result<()>>;
}

/// Starts nodes and runs the ledger check on their database.
pub trait Launcher: Send + Sync {
    /// Starts one node and returns once it answers `GET /healthz`.
    fn start<'a>(&'a self, spec: &'a NodeSpec) -> BoxFuture<'a, Result<Box<dyn Node>>>;
    /// `bayar ledger verify` on `database_url`: `Ok` when the ledger balances.
    fn verify_ledger<'a>(&'a self, database_url: &'a str) -> BoxFuture<'a, Result<String>>;
    /// Whether [`Node::pid`] is a process of bayar alone (false when it includes the bench).
    fn measures_bayar_alone(&self) -> bool;
}

/// Runs a built `bayar` binary.
#[derive(Clone, Debug)]
pub struct ProcessLauncher {
    /// The `bayar` binary.
    pub binary: PathBuf,
}

impl ProcessLauncher {
    /// The release binary of the workspace this crate is in (`target/release/bayar`, or under
    /// `CARGO_TARGET_DIR`).
    pub fn default_binary() -> PathBuf {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
        target.join("release").join("bayar")
    }

    /// Builds `bayar` in release mode (`cargo build --release -p bayar-server --bin bayar`).
    pub fn build_release() -> Result<()> {
        let status =
            std::process::Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
                .args(["build", "--release", "-p", "bayar-server", "--bin", "bayar"])
                .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
                .status()
                .context("running cargo build --release -p bayar-server")?;
        if !status.success() {
            bail!("cargo build --release -p bayar-server failed ({status})");
        }
        Ok(())
    }
}

struct ProcessNode {
    base_url: String,
    child: Child,
    pid: u32,
}

impl Node for ProcessNode {
    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    fn stop(mut self: Box<Self>) -> BoxFuture<'static, Result<()>> {
        Box::pin(async move {
            // SAFETY: kill(2) on our own child's pid; no memory is touched.
            unsafe {
                libc::kill(self.pid as libc::pid_t, libc::SIGTERM);
            }
            match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
                Ok(status) => {
                    let status = status?;
                    if !status.success() {
                        bail!("bayar node {} exited with {status}", self.base_url);
                    }
                    Ok(())
                }
                Err(_) => {
                    self.child.kill().await.ok();
                    bail!("bayar node {} did not stop within 30 s", self.base_url)
                }
            }
        })
    }
}

/// A free TCP port on 127.0.0.1 (bound and released; another process could take it first,
/// which the health wait then reports).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until `GET <base>/healthz` answers 200.
pub async fn wait_healthy(base_url: &str, within: Duration) -> Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + within;
    loop {
        if let Ok(r) = http.get(format!("{base_url}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{base_url} did not become healthy within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Launcher for ProcessLauncher {
    fn start<'a>(&'a self, spec: &'a NodeSpec) -> BoxFuture<'a, Result<Box<dyn Node>>> {
        Box::pin(async move {
            if !self.binary.exists() {
                bail!(
                    "{} does not exist: run `cargo build --release -p bayar-server` (or drop --no-build)",
                    self.binary.display()
                );
            }
            let port = free_port()?;
            let base_url = format!("http://127.0.0.1:{port}");
            let log_path = spec.log_dir.join(format!("bayar-node-{}.log", spec.index));
            let log = std::fs::File::create(&log_path)
                .with_context(|| format!("creating {}", log_path.display()))?;
            let mut command = Command::new(&self.binary);
            command
                .arg("serve")
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--notify-poll-ms")
                .arg(spec.notify_poll_ms.to_string())
                .env("DATABASE_URL", &spec.database_url)
                .env("BAYAR_LOG", &spec.log_level)
                .env_remove("BAYAR_UNSAFE_NO_FSYNC")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .kill_on_drop(true);
            if spec.unsafe_no_fsync {
                command.arg("--unsafe-no-fsync");
            }
            let mut child = command
                .spawn()
                .with_context(|| format!("starting {}", self.binary.display()))?;
            let pid = child.id().context("the bayar process has no pid")?;
            if let Err(e) = wait_healthy(&base_url, Duration::from_secs(30)).await {
                child.kill().await.ok();
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                bail!("{e}; its log:\n{log}");
            }
            Ok(Box::new(ProcessNode {
                base_url,
                child,
                pid,
            }) as Box<dyn Node>)
        })
    }

    fn verify_ledger<'a>(&'a self, database_url: &'a str) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let out = Command::new(&self.binary)
                .args(["ledger", "verify"])
                .env("DATABASE_URL", database_url)
                .env("BAYAR_LOG", "warn")
                .output()
                .await
                .context("running bayar ledger verify")?;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if !out.status.success() {
                bail!("bayar ledger verify failed ({}):\n{text}", out.status);
            }
            Ok(text.trim().to_string())
        })
    }

    fn measures_bayar_alone(&self) -> bool {
        true
    }
}

//! Smoke run of the benchmark: a couple of seconds at tiny rates on SQLite, with the server in
//! this process (so no release build is needed), through the whole pipeline: provisioning,
//! ceiling, payments, the mix with refunds, the notification burst, the correctness checks and
//! the JSON and PNG results. It asserts that the pipeline works and the checks pass, never a
//! timing.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use bayar_bench::database::Engine;
use bayar_bench::server::{Launcher, Node, NodeSpec, wait_healthy};
use bayar_bench::{Config, Scenario};
use bayar_core::store::Store;
use bayar_core::{Core, CoreConfig};
use bayar_server::app::{self, AppState};
use bayar_server::faces::dana::DanaConfig;
use bayar_server::faces::snap::SnapConfig;
use bayar_server::notify::{self, DialectRouter, WorkerConfig};
use futures_util::future::BoxFuture;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// bayar's `serve`, in this process: the HTTP app and the notification worker.
struct InProcess;

struct InProcessNode {
    base_url: String,
    shutdown: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Node for InProcessNode {
    fn base_url(&self) -> &str {
        &self.base_url
    }

    fn pid(&self) -> u32 {
        std::process::id()
    }

    fn stop(self: Box<Self>) -> BoxFuture<'static, Result<()>> {
        Box::pin(async move {
            let _ = self.shutdown.send(());
            self.server.await??;
            Ok(())
        })
    }
}

impl Launcher for InProcess {
    fn start<'a>(&'a self, spec: &'a NodeSpec) -> BoxFuture<'a, Result<Box<dyn Node>>> {
        Box::pin(async move {
            let store = Store::open(&spec.database_url, !spec.unsafe_no_fsync).await?;
            let core = Core::start(store, CoreConfig::default()).await?;
            let worker_config = WorkerConfig {
                poll_interval: Duration::from_millis(spec.notify_poll_ms),
                ..WorkerConfig::default()
            };
            let renderer = DialectRouter::new(
                notify::http_client(&worker_config)?,
                core.gateway_private_key().clone(),
                core.store().clone(),
            );
            let worker = notify::spawn(core.clone(), Arc::new(renderer), worker_config)?;
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let base_url = format!("http://{}", listener.local_addr()?);
            let state = AppState {
                core,
                snap: SnapConfig::default(),
                dana: DanaConfig::default(),
                public_url: base_url.clone(),
            };
            let (tx, rx) = oneshot::channel();
            let server = tokio::spawn(app::serve(listener, state, async move {
                let _ = rx.await;
                worker.stop().await;
            }));
            wait_healthy(&base_url, Duration::from_secs(10)).await?;
            Ok(Box::new(InProcessNode {
                base_url,
                shutdown: tx,
                server,
            }) as Box<dyn Node>)
        })
    }

    fn verify_ledger<'a>(&'a self, database_url: &'a str) -> BoxFuture<'a, Result<String>> {
        Box::pin(async move {
            let store = Store::open(database_url, true).await?;
            let core = Core::start(store.clone(), CoreConfig::default()).await?;
            let breaches = core.verify_ledger().await.context("verifying the ledger")?;
            store.close().await;
            anyhow::ensure!(breaches.is_empty(), "ledger breaches: {breaches:?}");
            Ok("ledger ok".into())
        })
    }

    fn measures_bayar_alone(&self) -> bool {
        false
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_runs_and_the_checks_pass() {
    let results = tempfile::tempdir().unwrap();
    let config = Config {
        customers: 4,
        scenarios: vec![
            Scenario::Payment,
            Scenario::DanaOrder,
            Scenario::Token,
            Scenario::Mix,
            Scenario::Notify,
        ],
        // Generous: this test never judges speed.
        p99_bound_ms: Some(2_000.0),
        step_duration: Duration::from_millis(400),
        duration: Duration::from_millis(400),
        start_rate: 20.0,
        max_rate: 40.0,
        bisect_steps: 0,
        fractions: vec![0.5, 1.0],
        cooldown: Duration::from_millis(20),
        notify_burst: 10,
        notify_drain_timeout: Duration::from_secs(20),
        notify_poll_ms: 100,
        results_dir: Some(results.path().to_path_buf()),
        label: Some("smoke".into()),
        ..Config::new(Engine::Sqlite)
    };
    let report = bayar_bench::run(&config, &InProcess)
        .await
        .expect("the smoke run passes its checks");
    assert!(report.passed(), "{}", report.summary());
    assert!(report.ceiling.is_some());
    let names: Vec<&str> = report.scenarios.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        ["doku_payment", "dana_create_order", "b2b_token", "mix"]
    );
    assert!(
        report.payments_ok > 0 && report.refunds_ok > 0 && report.dana_orders_ok > 0,
        "{}",
        report.summary()
    );
    let notify = report
        .notifications
        .as_ref()
        .expect("the notify scenario ran");
    assert_eq!(notify.delivered, notify.burst_payments);
    // RSS per step. In process, the measured pid is this test's own (`measures_bayar_alone` is
    // false): the figures are only checked for being read and consistent, never for a size.
    for sc in report.ceiling.iter().chain(&report.scenarios) {
        for step in sc
            .search
            .iter()
            .chain(sc.at_fractions.iter().map(|f| &f.step))
        {
            assert!(
                step.server_peak_rss_mib >= 1.0
                    && step.server_rss_end_mib > 0.0
                    && step.server_peak_rss_mib >= step.server_rss_end_mib,
                "{}: {step:?}",
                sc.name
            );
            assert!(
                sc.server_peak_rss_mib >= step.server_peak_rss_mib,
                "{}",
                sc.name
            );
        }
        if sc.max_sustainable_rate > 0.0 {
            let at_max = sc
                .server_peak_rss_at_max_mib
                .unwrap_or_else(|| panic!("{}: no RSS at the maximum", sc.name));
            assert!(
                at_max > 0.0 && at_max <= sc.server_peak_rss_mib,
                "{}",
                sc.name
            );
        } else {
            assert_eq!(sc.server_peak_rss_at_max_mib, None, "{}", sc.name);
        }
    }
    for file in ["smoke.json", "smoke.png"] {
        let len = std::fs::metadata(results.path().join(file)).unwrap().len();
        assert!(len > 0, "{file} written");
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(results.path().join("smoke.json")).unwrap()).unwrap();
    assert_eq!(json["engine"], "sqlite");
    let payment = &json["scenarios"][0];
    assert!(
        payment
            .as_object()
            .unwrap()
            .contains_key("server_peak_rss_at_max_mib")
    );
    let steps = payment["search"]
        .as_array()
        .unwrap()
        .iter()
        .chain(payment["at_fractions"].as_array().unwrap());
    for step in steps {
        for field in ["server_peak_rss_mib", "server_rss_end_mib"] {
            assert!(step[field].is_f64(), "{field} in {step}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_search_step_is_run_again_before_it_counts() {
    let config = Config {
        customers: 4,
        scenarios: vec![Scenario::Token],
        // No step can pass: p99 is never below zero.
        p99_bound_ms: Some(0.0),
        step_duration: Duration::from_millis(200),
        start_rate: 4.0,
        max_rate: 4.0,
        bisect_steps: 0,
        step_retries: 1,
        fractions: vec![1.0],
        cooldown: Duration::from_millis(20),
        ..Config::new(Engine::Sqlite)
    };
    let report = bayar_bench::run(&config, &InProcess).await.unwrap();
    let token = report
        .scenarios
        .iter()
        .find(|s| s.name == "b2b_token")
        .expect("the token scenario ran");
    let offered: Vec<f64> = token.search.iter().map(|s| s.offered_rate).collect();
    // Each rate twice, coming down from the first until the search gives up.
    assert_eq!(
        offered,
        [4.0, 4.0, 2.0, 2.0, 1.0, 1.0],
        "{}",
        report.summary()
    );
    assert!(token.search.iter().all(|s| !s.passed));
    assert_eq!(token.max_sustainable_rate, 0.0);
}

//! `TestApp`: the real server on port 0 over a fresh store, with a provisioned merchant and
//! helpers that sign requests the way merchants' SDKs do.

#![allow(dead_code)]

pub mod browser;
pub mod node;
pub mod python;
pub mod receiver;

use bayar_core::merchant::{Merchant, MerchantName, NewMerchant};
use bayar_core::outbox::RetrySchedule;
use bayar_core::testing::TestStore;
use bayar_core::{Core, CoreConfig};
use bayar_server::app::{self, AppState};
use bayar_server::faces::snap::SnapConfig;
use bayar_server::notify::{self, DialectRouter, WorkerConfig, WorkerHandle};
use bayar_snap::PrivateKey;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const B2B_PATH: &str = "/authorization/v1/access-token/b2b";
pub const B2B2C_PATH: &str = "/authorization/v1/access-token/b2b2c";
pub const STATUS_PATH: &str = "/orders/v1.0/debit/status";

pub struct TestApp {
    pub base: String,
    pub core: Core,
    pub http: reqwest::Client,
    pub merchant: Merchant,
    pub merchant_key: PrivateKey,
    pub engine: &'static str,
    pub store: TestStore,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A reply: HTTP status, SNAP response code, and the whole body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl TestApp {
    /// Starts a notification worker on this app's core, dialects as `bayar serve` runs
    /// them, polling every 20 ms and retrying on the default schedule.
    pub fn start_worker(&self) -> WorkerHandle {
        self.start_worker_with(RetrySchedule::default())
    }

    /// [`TestApp::start_worker`] retrying on `schedule`.
    pub fn start_worker_with(&self, schedule: RetrySchedule) -> WorkerHandle {
        let config = WorkerConfig {
            poll_interval: std::time::Duration::from_millis(20),
            schedule,
            ..WorkerConfig::default()
        };
        let router = DialectRouter::new(
            notify::http_client(&config).unwrap(),
            self.core.gateway_private_key().clone(),
            self.core.store().clone(),
        );
        notify::spawn(self.core.clone(), std::sync::Arc::new(router), config).unwrap()
    }

    pub async fn spawn(store: TestStore) -> TestApp {
        Self::spawn_with(store, CoreConfig::default()).await
    }

    pub async fn spawn_with(store: TestStore, config: CoreConfig) -> TestApp {
        let core = Core::start(store.store.clone(), config).await.unwrap();
        let created = core
            .create_merchant(NewMerchant {
                name: MerchantName::parse("Toko Test").unwrap(),
                notify_url: None,
                public_key: None,
            })
            .await
            .unwrap();
        let merchant_key =
            PrivateKey::from_pem(created.private_key_pem.as_ref().unwrap().expose()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel();
        let state = AppState {
            core: core.clone(),
            snap: SnapConfig::default(),
            dana: bayar_server::faces::dana::DanaConfig::default(),
            public_url: base.clone(),
        };
        let server = tokio::spawn(app::serve(listener, state, async {
            let _ = rx.await;
        }));
        TestApp {
            base,
            core,
            http: reqwest::Client::new(),
            merchant: created.merchant,
            merchant_key,
            engine: store.engine,
            store,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap().unwrap();
        }
    }

    pub fn now() -> String {
        bayar_snap::time::format_jakarta(chrono::Utc::now())
    }

    /// Token-request headers signed like DOKU's SDKs: RSA over `clientId|timestamp`.
    pub fn token_headers(
        &self,
        client_id: &str,
        timestamp: &str,
        key: &PrivateKey,
    ) -> Vec<(String, String)> {
        let sig = bayar_snap::sign::sign_token(key, client_id, timestamp).unwrap();
        vec![
            ("X-CLIENT-KEY".into(), client_id.into()),
            ("X-TIMESTAMP".into(), timestamp.into()),
            ("X-SIGNATURE".into(), sig),
        ]
    }

    pub async fn post(&self, path: &str, headers: &[(String, String)], body: &str) -> Reply {
        let mut req = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("content-type", "application/json")
            .body(body.to_string());
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body: Value = resp.json().await.unwrap();
        Reply {
            status,
            code: body["responseCode"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            message: body["responseMessage"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            body,
            headers,
        }
    }

    /// What the conformance scripts need to act as the test merchant: the base URL, the
    /// credentials, and its private key and the gateway's public key in files (kept while the
    /// returned directory lives).
    pub fn sdk_env(&self) -> (tempfile::TempDir, Vec<(&'static str, String)>) {
        let dir = tempfile::tempdir().unwrap();
        let private = dir.path().join("merchant.pem");
        let gateway = dir.path().join("gateway.pem");
        std::fs::write(&private, self.merchant_key.to_pkcs8_pem()).unwrap();
        std::fs::write(&gateway, self.core.gateway_public_key().to_pem()).unwrap();
        let env = vec![
            ("BAYAR_URL", self.base.clone()),
            ("BAYAR_CLIENT_ID", self.merchant.client_id.to_string()),
            (
                "BAYAR_CLIENT_SECRET",
                self.merchant.client_secret.expose().clone(),
            ),
            ("BAYAR_MERCHANT_ID", self.merchant.id.to_string()),
            ("BAYAR_PRIVATE_KEY_FILE", private.display().to_string()),
            (
                "BAYAR_GATEWAY_PUBLIC_KEY_FILE",
                gateway.display().to_string(),
            ),
        ];
        (dir, env)
    }

    /// A B2B token for the test merchant.
    pub async fn b2b_token(&self) -> String {
        let headers = self.token_headers(
            self.merchant.client_id.as_str(),
            &Self::now(),
            &self.merchant_key,
        );
        let reply = self
            .post(B2B_PATH, &headers, r#"{"grantType":"client_credentials"}"#)
            .await;
        assert_eq!(reply.code, "2007300", "{reply:?}");
        reply.body["accessToken"].as_str().unwrap().to_string()
    }

    /// Transaction headers signed like DOKU's SDKs: HMAC-SHA512 with the client secret.
    pub fn signed_headers(
        &self,
        path: &str,
        token: &str,
        body: &str,
        external_id: &str,
    ) -> Vec<(String, String)> {
        let timestamp = Self::now();
        let sig = bayar_snap::sign::sign_symmetric(
            self.merchant.client_secret.expose().as_bytes(),
            "POST",
            path,
            token,
            body.as_bytes(),
            &timestamp,
        );
        vec![
            ("X-TIMESTAMP".into(), timestamp),
            ("X-SIGNATURE".into(), sig),
            ("X-PARTNER-ID".into(), self.merchant.client_id.to_string()),
            ("X-EXTERNAL-ID".into(), external_id.into()),
            ("Authorization".into(), format!("Bearer {token}")),
        ]
    }
}

/// DANA-style requests: no token, SHA256withRSA with the merchant's key (reference/dana.md 3).
impl TestApp {
    /// Headers of a DANA SNAP call, signed as dana-python signs them: RSA over
    /// `POST:path:hex(sha256(minify(body))):timestamp`.
    pub fn dana_headers(&self, path: &str, body: &str, external_id: &str) -> Vec<(String, String)> {
        let timestamp = Self::now();
        let sig = bayar_snap::sign::sign_asymmetric(
            &self.merchant_key,
            "POST",
            path,
            body.as_bytes(),
            &timestamp,
        )
        .unwrap();
        vec![
            ("X-TIMESTAMP".into(), timestamp),
            ("X-SIGNATURE".into(), sig),
            ("X-PARTNER-ID".into(), self.merchant.client_id.to_string()),
            ("X-EXTERNAL-ID".into(), external_id.into()),
            ("CHANNEL-ID".into(), "95221".into()),
            ("ORIGIN".into(), "https://merchant.example".into()),
        ]
    }

    /// A signed DANA SNAP call with a fresh `X-EXTERNAL-ID`.
    pub async fn dana_post(&self, path: &str, body: &Value) -> Reply {
        let body = body.to_string();
        let headers = self.dana_headers(path, &body, &ulid::Ulid::new().to_string());
        self.post(path, &headers, &body).await
    }

    /// An OPEN_API envelope for `function`, signed over the `request` member's exact text,
    /// which is written with dana-python's spaced separators on purpose.
    pub fn dana_open_api(&self, function: &str, body: &Value) -> String {
        let request = format!(
            r#"{{"head": {{"version": "2.0", "function": "{function}", "clientId": "{}", "clientSecret": "{}", "reqTime": "{}", "reqMsgId": "msg-{}", "reserve": "{{}}"}}, "body": {body}}}"#,
            self.merchant.client_id,
            self.merchant.client_secret.expose(),
            Self::now(),
            ulid::Ulid::new(),
        );
        let signature = self.merchant_key.sign(request.as_bytes()).unwrap();
        format!(r#"{{"request": {request}, "signature": "{signature}"}}"#)
    }

    /// Posts an OPEN_API envelope; OPEN_API answers HTTP 200 with a JSON envelope.
    pub async fn post_open_api(&self, path: &str, envelope: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("content-type", "application/json")
            .body(envelope.to_string())
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap())
    }
}

//! Merchants' notification endpoints for tests:
//! - [`Receiver`], in process: records every request and answers 500 to the first N requests
//!   for each event id, then 200;
//! - [`SdkReceiver`]: a merchant's endpoint built on a provider's official Python SDK, which
//!   verifies what bayar sends with the SDK's own helpers and reports each request as a JSON
//!   line: DOKU (`conformance/doku/notification_receiver.py`, token handshake and
//!   notifications) or DANA (`conformance/dana/finish_notify_receiver.py`, finish notifies
//!   through dana-python's `WebhookParser`; `conformance/dana/node/finish_notify_receiver.js`,
//!   the same through dana-node's).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use tokio::net::TcpListener;

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    /// The event id from the body (`""` if the body had none).
    pub event_id: String,
    /// The request headers.
    pub headers: HeaderMap,
    /// The request body, as sent (and signed).
    pub body: Vec<u8>,
    /// The status the receiver answered.
    pub answered: u16,
}

#[derive(Default)]
struct Seen {
    requests: Vec<Received>,
    per_event: HashMap<String, usize>,
}

struct Shared {
    fail_first: usize,
    seen: Mutex<Seen>,
}

/// Failing answers carry a body longer than an attempt keeps, to exercise the truncation.
pub const FAILURE_BODY_CHARS: usize = 1000;

/// A running receiver on 127.0.0.1; stops when dropped.
pub struct Receiver {
    /// The URL to give the merchant as its notify URL.
    pub url: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// A receiver answering 500 to the first `fail_first` requests of each event (use
    /// `usize::MAX` for one that never acknowledges).
    pub async fn start(fail_first: usize) -> Receiver {
        let shared = Arc::new(Shared {
            fail_first,
            seen: Mutex::new(Seen::default()),
        });
        let app = Router::new().fallback(hook).with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/bayar", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url,
            shared,
            server,
        }
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Received> {
        self.shared.seen.lock().unwrap().requests.clone()
    }

    /// How many requests arrived for each event id.
    pub fn per_event(&self) -> HashMap<String, usize> {
        self.shared.seen.lock().unwrap().per_event.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn hook(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let event_id = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["id"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut seen = shared.seen.lock().unwrap();
    let count = seen.per_event.entry(event_id.clone()).or_default();
    *count += 1;
    let (status, reply) = if *count <= shared.fail_first {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "é".repeat(FAILURE_BODY_CHARS),
        )
    } else {
        (StatusCode::OK, "ok".to_string())
    };
    seen.requests.push(Received {
        event_id,
        headers,
        body: body.to_vec(),
        answered: status.as_u16(),
    });
    (status, reply)
}

/// A merchant's endpoint run by a provider's official SDK (Python, or Node for dana-node), in
/// its own process (killed on drop).
pub struct SdkReceiver {
    /// The port it listens on, on 127.0.0.1.
    pub port: u16,
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl SdkReceiver {
    /// Starts the DOKU receiver with the SDK venv's `python` and waits until it listens; it
    /// serves once [`SdkReceiver::configure`]d.
    pub async fn start(python: &std::path::Path) -> SdkReceiver {
        Self::start_script(python, "doku/notification_receiver.py").await
    }

    /// Starts the DANA finish-notify receiver (configure it with `gateway_public_key`).
    pub async fn start_dana(python: &std::path::Path) -> SdkReceiver {
        Self::start_script(python, "dana/finish_notify_receiver.py").await
    }

    /// Starts the dana-node finish-notify receiver with Node, the SDK from `modules`
    /// (configure it with `gateway_public_key`).
    pub async fn start_dana_node(modules: &std::path::Path) -> SdkReceiver {
        let mut node = std::process::Command::new("node");
        node.env("NODE_PATH", modules);
        Self::spawn(node, "dana/node/finish_notify_receiver.js").await
    }

    /// Starts `script` (relative to `conformance/`) with `python`; see [`SdkReceiver::spawn`].
    pub async fn start_script(python: &std::path::Path, script: &str) -> SdkReceiver {
        Self::spawn(std::process::Command::new(python), script).await
    }

    /// Runs `script` (relative to `conformance/`) with `interpreter`; the script speaks the
    /// receivers' protocol: prints `{"listening": port}`, reads its configuration as one JSON
    /// line, prints `{"ready": true}`, then one JSON line per request, until stdin closes.
    async fn spawn(mut interpreter: std::process::Command, script: &str) -> SdkReceiver {
        use std::io::BufRead;
        use std::process::Stdio;

        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../conformance")
            .join(script);
        let mut child = interpreter
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the SDK receiver");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Anything but a JSON object is the SDK talking; the test only reads the
                // receiver's own lines.
                match serde_json::from_str::<serde_json::Value>(&line) {
                    Ok(value) if value.is_object() => sink.lock().unwrap().push(value),
                    _ => eprintln!("receiver: {line}"),
                }
            }
        });
        let mut receiver = SdkReceiver {
            port: 0,
            child,
            stdin,
            lines,
        };
        let listening = receiver.wait_for_line("listening").await;
        receiver.port = u16::try_from(listening["listening"].as_u64().unwrap()).unwrap();
        receiver
    }

    /// A URL on the receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Hands the receiver its merchant's credentials and options (see the script's doc) and
    /// waits until it serves.
    pub async fn configure(&mut self, config: &serde_json::Value) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{config}").unwrap();
        stdin.flush().unwrap();
        self.wait_for_line("ready").await;
    }

    /// The receiver's report lines of `kind` (`"token"` or `"notification"`), in order.
    pub fn seen(&self, kind: &str) -> Vec<serde_json::Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|line| line["kind"] == kind)
            .cloned()
            .collect()
    }

    async fn wait_for_line(&mut self, key: &str) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let found = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .find(|line| line.get(key).is_some())
                .cloned();
            if let Some(line) = found {
                return line;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the SDK receiver exited ({status}) before `{key}`");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the SDK receiver never said `{key}`"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SdkReceiver {
    fn drop(&mut self) {
        // Closing stdin tells the script to exit; killing makes sure of it.
        drop(self.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! The delivery loop: take fresh and due events, deliver them concurrently, record every
//! attempt.
//!
//! Fresh events come from the commits that wrote them, already claimed for this worker
//! ([`bayar_core::handoff`]), as many as it has free delivery slots. Others (retries, events
//! the worker had no slot for, another worker's expired claims) it claims itself: at most as
//! many due events as there are free slots (so a claimed event starts at once and its lease
//! is spent on delivering, not queueing). Each event is delivered in its own task, and the
//! attempt is recorded with what follows it (through the batching `recorder`): delivered on
//! 2xx, otherwise retried per the [`RetrySchedule`] or given up (at once when rendering failed
//! for good, see [`RenderError::is_permanent`]). The loop claims every poll interval, and when
//! [`WorkerHandle::wake`] or a commit says events are due that nobody was handed (then a few
//! milliseconds later, to claim several commits' events at once).
//!
//! The lease is longer than a request can take, so while a delivery is in flight no other
//! worker can claim its event; if this worker dies, the lease runs out and another worker
//! retries. A merchant can therefore see an event twice (delivered, then the worker died before
//! recording it), never two attempts of one event at once.

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bayar_core::Core;
use bayar_core::commands::{ClaimDueEvents, FanOutEvent};
use bayar_core::error::CoreError;
use bayar_core::handoff::{Handed, Handoff, Slots};
use bayar_core::merchant::Merchant;
use bayar_core::outbox::{AfterAttempt, Attempt, Event, RetrySchedule};
use chrono::{DateTime, TimeDelta, Utc};
use thiserror::Error;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::{JoinError, JoinSet};

use super::recorder::Recorder;
use super::render::{Delivery, RenderError, Renderer, to_hex};

/// At most this many bytes of a response are read: enough for [`Attempt::SNIPPET_CHARS`]
/// characters of any UTF-8, and a merchant answering with megabytes costs nothing.
const SNIPPET_BYTES: usize = Attempt::SNIPPET_CHARS * 4;

/// After repeated store failures the loop waits at most this long before trying again.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Tunables of the notification worker.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// This worker's name in `locked_by`; unique across every process sharing the database.
    pub name: String,
    /// How often to look for due events when not woken.
    pub poll_interval: Duration,
    /// How long to wait after a wake before claiming, so that the events of the commits in
    /// that window are claimed in one go instead of one claim per commit.
    pub wake_delay: Duration,
    /// How long a claim lasts; must exceed twice the request timeout (see [`spawn`]).
    pub lease: Duration,
    /// Most deliveries in flight at once.
    pub concurrency: usize,
    /// When to retry and when to give up.
    pub schedule: RetrySchedule,
    /// Limit on establishing the connection to the merchant.
    pub connect_timeout: Duration,
    /// Limit on a whole request: connecting, sending, and reading the answer.
    pub request_timeout: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            name: unique_name(),
            poll_interval: Duration::from_millis(500),
            wake_delay: Duration::from_millis(5),
            lease: Duration::from_secs(60),
            concurrency: 32,
            schedule: RetrySchedule::default(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// A worker name unlikely to repeat anywhere: the process id (readable in `locked_by`) and
/// random bits (two hosts or containers may share a pid).
fn unique_name() -> String {
    let mut random = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut random).is_err() {
        // Without the system RNG the clock still separates workers started apart.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        random = (nanos as u64).to_le_bytes();
    }
    format!("notify-{}-{}", std::process::id(), to_hex(&random))
}

/// Why the worker could not start.
#[derive(Debug, Error)]
pub enum WorkerError {
    /// The HTTP client could not be built (TLS roots unavailable, for instance).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    /// A lease this short could run out while a delivery is still in flight, letting another
    /// worker deliver the same event at the same time.
    #[error("the lease ({lease:?}) must exceed twice the request timeout ({timeout:?})")]
    LeaseTooShort {
        /// The configured lease.
        lease: Duration,
        /// The configured request timeout.
        timeout: Duration,
    },
}

/// A running worker. Dropping it stops the worker too, without waiting.
pub struct WorkerHandle {
    handoff: Arc<Handoff>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl WorkerHandle {
    /// Looks for due events now.
    pub fn wake(&self) {
        self.handoff.due().notify_one();
    }

    /// Stops claiming, lets the deliveries in flight finish and be recorded (each is bounded
    /// by the request timeout), then returns.
    pub async fn stop(self) {
        // The loop may already have ended (its task panicked); either way it is not running.
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::error!(error = %e, "the notification worker ended abnormally");
        }
    }
}

/// What every delivery task shares.
struct Shared {
    core: Core,
    recorder: Recorder,
    renderer: Arc<dyn Renderer>,
    http: reqwest::Client,
    config: WorkerConfig,
}

/// The HTTP client deliveries are made with, limited by `config`'s timeouts. Renderers that
/// call the merchant themselves (DOKU's token handshake) should use one built here too, so
/// that each of their requests is bounded like a delivery: the lease (more than twice the
/// request timeout) then covers a handshake followed by the notification.
pub fn http_client(config: &WorkerConfig) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        // A redirect is not an acknowledgement, and following one would re-send a signed
        // body (or a signed token request) to wherever it points.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("bayar/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Starts a worker delivering `core`'s outbox with `renderer`. The core's writer hands it the
/// events it commits, or wakes it to claim them, so a notification goes out as soon as its
/// change is durable instead of at the next poll; its claims and recorded attempts go through
/// that writer too.
pub fn spawn(
    core: Core,
    renderer: Arc<dyn Renderer>,
    config: WorkerConfig,
) -> Result<WorkerHandle, WorkerError> {
    let handoff = core.handoff();
    if config.lease <= config.request_timeout.saturating_mul(2) {
        return Err(WorkerError::LeaseTooShort {
            lease: config.lease,
            timeout: config.request_timeout,
        });
    }
    let http = http_client(&config)?;
    let slots = Arc::new(Semaphore::new(
        config.concurrency.clamp(1, Semaphore::MAX_PERMITS),
    ));
    let fresh = handoff.register(config.name.clone(), config.lease, slots.clone());
    let shared = Arc::new(Shared {
        recorder: Recorder::start(core.clone(), config.name.clone()),
        core,
        renderer,
        http,
        config,
    });
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(shared, handoff.clone(), slots, fresh, stopped));
    Ok(WorkerHandle {
        handoff,
        stop,
        task,
    })
}

/// The delivery loop; returns once stopped and every delivery in flight is recorded.
async fn run(
    shared: Arc<Shared>,
    handoff: Arc<Handoff>,
    slots: Arc<Semaphore>,
    mut fresh: mpsc::UnboundedReceiver<Handed>,
    mut stop: watch::Receiver<bool>,
) {
    let config = &shared.config;
    tracing::info!(worker = %config.name, "notification worker started");
    let mut in_flight = JoinSet::new();
    let mut failures: u32 = 0;
    // Claim at once: events may have been left due by an earlier run.
    let mut claim_now = true;
    // A deadline, not a timer restarted per pass: fresh events arriving all the time must not
    // keep retries (and other workers' expired claims) from being claimed.
    let mut next_poll = tokio::time::Instant::now();
    loop {
        if *stop.borrow() {
            break;
        }
        while let Some(done) = in_flight.try_join_next() {
            report_panic(done);
        }
        let free = slots.available_permits();
        if claim_now && free > 0 {
            next_poll = tokio::time::Instant::now() + config.poll_interval;
            match claim(&shared, &slots, free).await {
                // The writer took slots for fresh events meanwhile: look at what is free now.
                Ok(None) => {}
                Ok(Some(events)) => {
                    failures = 0;
                    // Every free slot was filled: more may be due, look again once one frees.
                    claim_now = events.len() >= free;
                    for handed in events {
                        in_flight.spawn(deliver(shared.clone(), handed));
                    }
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    let backoff = config
                        .poll_interval
                        .saturating_mul(2u32.saturating_pow(failures.min(6)))
                        .min(MAX_BACKOFF);
                    tracing::error!(error = %e, ?backoff, "notification worker: claiming failed");
                    next_poll = tokio::time::Instant::now() + backoff;
                    claim_now = false;
                }
            }
            continue;
        }
        tokio::select! {
            Some(handed) = fresh.recv() => {
                in_flight.spawn(deliver(shared.clone(), handed));
            }
            Some(done) = in_flight.join_next(), if claim_now => report_panic(done),
            () = tokio::time::sleep_until(next_poll), if !claim_now => claim_now = true,
            () = handoff.due().notified(), if !claim_now => {
                tokio::select! {
                    () = tokio::time::sleep(config.wake_delay) => claim_now = true,
                    _ = stop.changed() => break,
                }
            }
            _ = stop.changed() => break,
        }
    }
    // Events already handed over hold slots and claims: deliver them too.
    fresh.close();
    while let Some(handed) = fresh.recv().await {
        in_flight.spawn(deliver(shared.clone(), handed));
    }
    while let Some(done) = in_flight.join_next().await {
        report_panic(done);
    }
    tracing::info!(worker = %config.name, "notification worker stopped");
}

/// Claims up to `free` due events, each with one of the worker's `slots`; `None` when fewer
/// than `free` slots are left (the writer took some for fresh events), with nothing claimed.
async fn claim(
    shared: &Shared,
    slots: &Arc<Semaphore>,
    free: usize,
) -> Result<Option<Vec<Handed>>, CoreError> {
    let Some(slots) = Slots::take(slots, free) else {
        return Ok(None);
    };
    let events = shared
        .core
        .run(ClaimDueEvents {
            worker: shared.config.name.clone(),
            lease: shared.config.lease,
            limit: i64::try_from(free).unwrap_or(i64::MAX),
        })
        .await?;
    Ok(Some(slots.hand(events)))
}

fn report_panic(done: Result<(), JoinError>) {
    if let Err(e) = done {
        // The event's lease runs out and another pass retries it.
        tracing::error!(error = %e, "notification delivery task failed");
    }
}

/// What came of one request.
struct Answer {
    http_status: Option<u16>,
    error: Option<String>,
    response_snippet: Option<String>,
}

/// Delivers one claimed event and records the attempt, holding its delivery slot until then.
async fn deliver(shared: Arc<Shared>, Handed { event, slot: _slot }: Handed) {
    let config = &shared.config;
    let number = event.attempts.saturating_add(1);
    let merchant = match shared.core.merchant_by_id(&event.merchant_id).await {
        Ok(merchant) => merchant,
        Err(e) => {
            // Nothing was attempted; the lease runs out and the event is tried again.
            tracing::error!(event = %event.id, error = %e, "notification: loading the merchant failed");
            return;
        }
    };
    let started_at = Utc::now();
    let clock = Instant::now();
    let rendered = match fan_out(&shared, &event, merchant.as_ref()).await {
        Ok(true) => return,
        Ok(false) => render(&*shared.renderer, &event, merchant.as_ref(), started_at).await,
        Err(e) => Err(e),
    };
    let (answer, final_) = match rendered {
        Ok(delivery) => (send(&shared.http, delivery).await, false),
        // No URL or no shape for the event fails the same way next time; a failed token
        // handshake or store read may not, so those spend the retry schedule.
        Err(e) => (
            Answer {
                http_status: None,
                error: Some(e.to_string()),
                response_snippet: None,
            },
            e.is_permanent(),
        ),
    };
    if answer.http_status == Some(401)
        && let Some(merchant) = &merchant
    {
        shared.renderer.unauthorized(merchant);
    }
    let latency_ms = u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX);
    let acknowledged = answer.http_status.is_some_and(|s| (200..300).contains(&s));
    let now = Utc::now();
    let then = if acknowledged {
        AfterAttempt::Delivered
    } else if final_ {
        AfterAttempt::GiveUp
    } else {
        match config.schedule.next_delay(number) {
            Some(delay) => AfterAttempt::RetryAt(after(now, delay)),
            None => AfterAttempt::GiveUp,
        }
    };
    // URL, headers and bodies stay out of the logs: they carry secrets and customer data.
    tracing::info!(
        event = %event.id,
        merchant = %event.merchant_id,
        kind = %event.kind,
        attempt = number,
        status = answer.http_status,
        error = answer.error.as_deref(),
        latency_ms,
        outcome = ?then,
        "notification attempt"
    );
    let attempt = Attempt {
        event_id: event.id,
        attempt: number,
        started_at,
        latency_ms,
        http_status: answer.http_status,
        error: answer.error,
        response_snippet: answer.response_snippet,
    };
    match shared.recorder.record(attempt, then).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            event = %event.id,
            "notification: the lease ran out before the attempt was recorded; another worker has it"
        ),
        // The lease runs out and the event is delivered again: at-least-once, by design.
        Err(e) => {
            tracing::error!(event = %event.id, error = %e, "notification: recording the attempt failed");
        }
    }
}

/// Hands `event` over to one copy per destination when its dialect sends it to several;
/// `Ok(true)` when it did (or tried: the copies, not the original, are delivered from here
/// on), `Ok(false)` when the event goes to one place and is to be rendered as it is.
async fn fan_out(
    shared: &Shared,
    event: &Event,
    merchant: Option<&Merchant>,
) -> Result<bool, RenderError> {
    let Some(merchant) = merchant else {
        return Ok(false);
    };
    let Some(endpoints) = shared.renderer.fan_out(event, merchant).await? else {
        return Ok(false);
    };
    let copies = endpoints.len();
    let command = FanOutEvent {
        worker: shared.config.name.clone(),
        event: event.clone(),
        endpoints,
    };
    match shared.core.run(command).await {
        Ok(true) => tracing::info!(event = %event.id, copies, "notification fanned out"),
        Ok(false) => tracing::warn!(
            event = %event.id,
            "notification: the lease ran out before the fan-out was recorded; another worker has it"
        ),
        // The lease runs out and the event is fanned out at its next claim.
        Err(e) => {
            tracing::error!(event = %event.id, error = %e, "notification: recording the fan-out failed")
        }
    }
    Ok(true)
}

/// Renders `event` for `merchant`; a merchant that no longer exists has nowhere to be told.
async fn render(
    renderer: &dyn Renderer,
    event: &Event,
    merchant: Option<&Merchant>,
    now: DateTime<Utc>,
) -> Result<Delivery, RenderError> {
    let merchant = merchant.ok_or_else(|| RenderError::Unsupported("merchant not found".into()))?;
    renderer.render(event, merchant, now).await
}

/// POSTs `delivery` and reads the start of the answer.
async fn send(http: &reqwest::Client, delivery: Delivery) -> Answer {
    let mut request = http.post(&delivery.url).body(delivery.body);
    for (name, value) in &delivery.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let mut response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            return Answer {
                http_status: None,
                error: Some(describe(e)),
                response_snippet: None,
            };
        }
    };
    let http_status = Some(response.status().as_u16());
    let mut bytes = Vec::new();
    let mut error = None;
    while bytes.len() < SNIPPET_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => {
                // The status already answers; a body cut short is only noted.
                error = Some(format!("reading the response: {}", describe(e)));
                break;
            }
        }
    }
    let snippet: String = String::from_utf8_lossy(&bytes)
        .chars()
        .take(Attempt::SNIPPET_CHARS)
        .collect();
    Answer {
        http_status,
        error,
        response_snippet: Some(snippet),
    }
}

/// A transport error with its causes (`connection refused`, `timed out`), without the URL
/// (which may carry credentials), bounded like a snippet.
pub(super) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(Attempt::SNIPPET_CHARS).collect()
}

/// `now + delay`, saturating at the end of time rather than failing.
fn after(now: DateTime<Utc>, delay: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(delay)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let a = unique_name();
        assert!(a.starts_with(&format!("notify-{}-", std::process::id())));
        assert_ne!(a, unique_name());
    }

    #[tokio::test]
    async fn a_lease_shorter_than_a_request_is_refused() {
        let config = WorkerConfig {
            lease: Duration::from_secs(15),
            ..WorkerConfig::default()
        };
        let t = bayar_core::testing::sqlite().await;
        let core = Core::start(t.store.clone(), Default::default())
            .await
            .unwrap();
        let err = spawn(core, Arc::new(super::super::BayarRenderer), config)
            .err()
            .unwrap();
        assert!(matches!(err, WorkerError::LeaseTooShort { .. }), "{err}");
    }

    #[test]
    fn retry_times_saturate() {
        let now = Utc::now();
        assert_eq!(
            after(now, Duration::from_secs(10)),
            now + TimeDelta::seconds(10)
        );
        assert_eq!(after(now, Duration::MAX), DateTime::<Utc>::MAX_UTC);
    }
}

//! The open-loop load generator.
//!
//! A step offers a fixed arrival rate for a fixed time: request `i` is due at
//! `start + i / rate`, whatever happened to the requests before it, and its latency is measured
//! from that intended time, not from when it was actually sent. A server (or a generator) that
//! falls behind therefore shows its queue in the latency instead of quietly sending less: the
//! coordinated-omission trap of closed-loop benchmarks (one request per connection, next one
//! when the answer comes) is avoided by construction.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::client::{Merchant, Op};
use crate::procstat;

/// What to send at each sequence number of a step.
pub type Picker = Arc<dyn Fn(u64) -> Op + Send + Sync>;

/// One step: an offered rate held for a duration.
#[derive(Clone, Copy, Debug)]
pub struct Step {
    /// Requests per second offered.
    pub rate: f64,
    /// How long the rate is offered.
    pub duration: Duration,
    /// Requests still unanswered after the last one is due get this long before they count as
    /// errors.
    pub drain: Duration,
    /// More requests than this in flight at once counts the excess as errors (protects the
    /// generator from a stalled server).
    pub max_in_flight: usize,
}

/// What a step measured. Latencies in milliseconds, from the intended send time.
#[derive(Clone, Debug, Serialize)]
pub struct StepResult {
    /// Offered rate, requests per second.
    pub offered_rate: f64,
    /// Successful answers per second over the step (first intended send to last answer).
    pub achieved_rate: f64,
    /// Requests due in the step.
    pub sent: u64,
    /// Expected answers.
    pub ok: u64,
    /// Everything else (wrong code, HTTP error, timeout, unanswered at the end).
    pub errors: u64,
    /// Error kinds and their counts.
    pub error_kinds: BTreeMap<String, u64>,
    /// Median latency.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Largest latency.
    pub max_ms: f64,
    /// CPU seconds the bayar process(es) used during the step.
    pub server_cpu_s: f64,
    /// Server CPU per answered request, in microseconds.
    pub server_cpu_us_per_request: f64,
    /// Peak RSS of the largest bayar process during the step (`VmHWM` reset at its start), MiB.
    pub server_peak_rss_mib: f64,
    /// RSS of the largest bayar process at the end of the step, MiB.
    pub server_rss_end_mib: f64,
    /// CPU seconds the bench process (generator and receiver) used during the step.
    pub generator_cpu_s: f64,
    /// Share of the whole machine's CPU time left idle during the step, in percent (`None`
    /// where `/proc/stat` is unreadable): near zero, the step was bound by the machine.
    pub machine_idle_pct: Option<f64>,
    /// Whether the step met the bound: no error, p99 within it.
    pub passed: bool,
}

struct Shared {
    histogram: Mutex<Histogram<u64>>,
    errors: Mutex<BTreeMap<String, u64>>,
    ok: AtomicU64,
    failed: AtomicU64,
    in_flight: AtomicUsize,
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Runs one step of `picker`'s requests at `step.rate`, judged against `p99_bound_ms`.
/// `pids` are the bayar processes whose CPU time and memory are measured.
pub async fn run_step(
    merchant: Arc<Merchant>,
    picker: Picker,
    step: Step,
    p99_bound_ms: f64,
    pids: &[u32],
) -> StepResult {
    let shared = Arc::new(Shared {
        // 1 us to 2 min, 3 significant digits.
        histogram: Mutex::new(
            Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds"),
        ),
        errors: Mutex::new(BTreeMap::new()),
        ok: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        in_flight: AtomicUsize::new(0),
    });
    let total = ((step.rate * step.duration.as_secs_f64()).round() as u64).max(1);
    // The peak RSS of this step alone, not of an earlier (overload) step.
    for &pid in pids {
        procstat::reset_peak_rss(pid);
    }
    let server_before = procstat::total(pids);
    let me = std::process::id();
    let generator_before = procstat::usage(me).unwrap_or_default();
    let machine_before = procstat::machine_cpu();

    let start = Instant::now() + Duration::from_millis(2);
    let mut overloaded = 0u64;
    for i in 0..total {
        let intended = start + Duration::from_secs_f64(i as f64 / step.rate);
        if intended > Instant::now() {
            tokio::time::sleep_until(intended.into()).await;
        }
        if shared.in_flight.load(Ordering::Relaxed) >= step.max_in_flight {
            overloaded += 1;
            continue;
        }
        shared.in_flight.fetch_add(1, Ordering::Relaxed);
        let shared = shared.clone();
        let merchant = merchant.clone();
        let op = picker(i);
        tokio::spawn(async move {
            let outcome = merchant.fire(op).await;
            let latency = intended.elapsed().as_micros() as u64;
            shared
                .histogram
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .saturating_record(latency.max(1));
            match outcome {
                Ok(()) => {
                    shared.ok.fetch_add(1, Ordering::Relaxed);
                }
                Err(kind) => {
                    shared.failed.fetch_add(1, Ordering::Relaxed);
                    *shared
                        .errors
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .entry(kind)
                        .or_default() += 1;
                }
            }
            shared.in_flight.fetch_sub(1, Ordering::Relaxed);
        });
    }
    // Let the last requests finish.
    let deadline = Instant::now() + step.drain;
    while shared.in_flight.load(Ordering::Relaxed) > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let end = Instant::now();
    let unfinished = shared.in_flight.load(Ordering::Relaxed) as u64;
    let server_after = procstat::total(pids);
    let generator_after = procstat::usage(me).unwrap_or_default();
    let machine_after = procstat::machine_cpu();

    let histogram = shared
        .histogram
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let mut error_kinds = shared
        .errors
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if overloaded > 0 {
        error_kinds.insert("generator: too many in flight".into(), overloaded);
    }
    if unfinished > 0 {
        error_kinds.insert("unanswered at the end of the step".into(), unfinished);
    }
    let ok = shared.ok.load(Ordering::Relaxed);
    let errors = shared.failed.load(Ordering::Relaxed) + overloaded + unfinished;
    let p99_ms = ms(histogram.value_at_quantile(0.99));
    let server_cpu_s = (server_after.cpu_seconds - server_before.cpu_seconds).max(0.0);
    let answered = (ok + shared.failed.load(Ordering::Relaxed)).max(1);
    StepResult {
        offered_rate: step.rate,
        // Over the whole step: a short step's last answers do not shrink the window.
        achieved_rate: ok as f64 / (end - start).as_secs_f64().max(step.duration.as_secs_f64()),
        sent: total,
        ok,
        errors,
        error_kinds,
        p50_ms: ms(histogram.value_at_quantile(0.50)),
        p90_ms: ms(histogram.value_at_quantile(0.90)),
        p99_ms,
        p999_ms: ms(histogram.value_at_quantile(0.999)),
        max_ms: ms(histogram.max()),
        server_cpu_s,
        server_cpu_us_per_request: server_cpu_s * 1e6 / answered as f64,
        server_peak_rss_mib: procstat::mib(server_after.peak_rss_bytes),
        server_rss_end_mib: procstat::mib(server_after.rss_bytes),
        generator_cpu_s: (generator_after.cpu_seconds - generator_before.cpu_seconds).max(0.0),
        machine_idle_pct: machine_before
            .zip(machine_after)
            .and_then(|(before, after)| procstat::idle_percent(before, after)),
        passed: errors == 0 && p99_ms <= p99_bound_ms,
    }
}

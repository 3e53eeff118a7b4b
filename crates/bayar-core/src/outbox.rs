//! The outbox: what merchants are told, and when bayar tries again.
//!
//! A command that changes state (a payment succeeds, a refund posts) writes a [`NewEvent`] in
//! the same transaction as the change, through [`crate::store::Tx::insert_event`]; so an event
//! exists exactly when its change committed. The notification worker (in `bayar-server`) claims
//! due [`Event`]s, delivers them in the merchant's dialect, records every [`Attempt`], and
//! spaces its retries by a [`RetrySchedule`] until the merchant acknowledges or the schedule
//! ends.
//!
//! Delivery is at-least-once: a merchant may see an event again (a crash between delivery and
//! recording it), so merchants deduplicate by the event id.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::ids::{EventId, MerchantId};

/// What happened, as the merchant's notification names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A payment was paid.
    PaymentSucceeded,
    /// A payment failed (declined, insufficient funds...).
    PaymentFailed,
    /// The merchant cancelled a payment.
    PaymentCancelled,
    /// A payment was not paid before its deadline.
    PaymentExpired,
    /// A refund was posted.
    RefundSucceeded,
    /// A checkout session's payment succeeded (Stripe-style API).
    CheckoutCompleted,
    /// A checkout session was expired before it was paid (Stripe-style API).
    CheckoutExpired,
    /// A disbursement reached the customer.
    DisbursementSucceeded,
    /// A disbursement failed.
    DisbursementFailed,
    /// A test notification the merchant asked for (checks their endpoint and signature code).
    Test,
}

/// A stored kind that bayar does not know.
#[derive(Debug, Error, PartialEq, Eq)]
#[error("unknown event kind `{0}`")]
pub struct UnknownEventKind(pub String);

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 10] = [
        EventKind::PaymentSucceeded,
        EventKind::PaymentFailed,
        EventKind::PaymentCancelled,
        EventKind::PaymentExpired,
        EventKind::RefundSucceeded,
        EventKind::CheckoutCompleted,
        EventKind::CheckoutExpired,
        EventKind::DisbursementSucceeded,
        EventKind::DisbursementFailed,
        EventKind::Test,
    ];

    /// The stored and wire name, `noun.verb` (Stripe-style): `payment.succeeded`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PaymentSucceeded => "payment.succeeded",
            EventKind::PaymentFailed => "payment.failed",
            EventKind::PaymentCancelled => "payment.cancelled",
            EventKind::PaymentExpired => "payment.expired",
            EventKind::RefundSucceeded => "refund.succeeded",
            EventKind::CheckoutCompleted => "checkout.completed",
            EventKind::CheckoutExpired => "checkout.expired",
            EventKind::DisbursementSucceeded => "disbursement.succeeded",
            EventKind::DisbursementFailed => "disbursement.failed",
            EventKind::Test => "test.notification",
        }
    }
}

impl FromStr for EventKind {
    type Err = UnknownEventKind;

    fn from_str(s: &str) -> Result<Self, UnknownEventKind> {
        EventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownEventKind(s.to_string()))
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event to record with the state change it reports.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// The merchant to tell.
    pub merchant_id: MerchantId,
    /// What happened.
    pub kind: EventKind,
    /// The id of what it happened to (`pay_...`, `ref_...`, `dsb_...`).
    pub subject_id: String,
    /// The facts a renderer needs, in bayar's own shape; each dialect maps it to its fields.
    pub payload: serde_json::Value,
}

/// An event in the outbox, with its delivery state.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// bayar's id of the event; merchants deduplicate by it.
    pub id: EventId,
    /// The merchant to tell.
    pub merchant_id: MerchantId,
    /// What happened.
    pub kind: EventKind,
    /// The id of what it happened to.
    pub subject_id: String,
    /// The facts, in bayar's own shape.
    pub payload: serde_json::Value,
    /// When the change committed.
    pub created_at: DateTime<Utc>,
    /// Delivery attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: DateTime<Utc>,
    /// When the merchant acknowledged it (answered 2xx), if it has.
    pub delivered_at: Option<DateTime<Utc>>,
    /// When bayar stopped trying (schedule exhausted, or nowhere to send it), if it has.
    pub given_up_at: Option<DateTime<Utc>>,
    /// Set when this is one destination's copy of an event sent to several.
    pub copy: Option<EventCopy>,
}

impl Event {
    /// The id the merchant knows the event by: a copy's is its original's, so a merchant
    /// with several endpoints sees one event, not one per endpoint.
    pub fn public_id(&self) -> EventId {
        self.copy.as_ref().map_or(self.id, |copy| copy.of)
    }
}

/// What makes an event a copy: the original it repeats and the one destination it goes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventCopy {
    /// The original event.
    pub of: EventId,
    /// The destination: a webhook endpoint's id (`we_...`).
    pub endpoint_id: String,
}

/// One recorded delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// The event attempted.
    pub event_id: EventId,
    /// 1 for the first attempt, then 2, 3...
    pub attempt: u32,
    /// When the request started.
    pub started_at: DateTime<Utc>,
    /// From the start of the request to the end of reading the response (or the failure).
    pub latency_ms: u64,
    /// The HTTP status, when the merchant answered at all.
    pub http_status: Option<u16>,
    /// Why no usable answer came (transport error, timeout, no URL), if so.
    pub error: Option<String>,
    /// The start of the response body (at most [`Attempt::SNIPPET_CHARS`] characters).
    pub response_snippet: Option<String>,
}

impl Attempt {
    /// How much of a response body an attempt keeps: enough to debug, bounded in size.
    pub const SNIPPET_CHARS: usize = 512;
}

/// What an attempt leads to, recorded with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterAttempt {
    /// The merchant acknowledged: done.
    Delivered,
    /// Not acknowledged: try again at this time.
    RetryAt(DateTime<Utc>),
    /// Not acknowledged and no more tries (schedule exhausted, or nowhere to send it).
    GiveUp,
}

/// How long to wait between delivery attempts before giving up.
///
/// `delays[i]` is the wait after the `i+1`-th failed attempt, so a schedule of `n` delays allows
/// `n + 1` attempts in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl RetrySchedule {
    /// A schedule with these waits between attempts (an empty list: one attempt only).
    pub fn new(delays: Vec<Duration>) -> Self {
        Self { delays }
    }

    /// The wait before the next attempt once `attempts_so_far` attempts have failed; `None`
    /// when the schedule is exhausted and bayar gives up. The first attempt is immediate.
    pub fn next_delay(&self, attempts_so_far: u32) -> Option<Duration> {
        match attempts_so_far.checked_sub(1) {
            None => Some(Duration::ZERO),
            Some(i) => usize::try_from(i)
                .ok()
                .and_then(|i| self.delays.get(i))
                .copied(),
        }
    }

    /// The most attempts this schedule allows.
    pub fn max_attempts(&self) -> usize {
        self.delays.len() + 1
    }

    /// The time from the first attempt to the last.
    pub fn total(&self) -> Duration {
        self.delays.iter().sum()
    }

    /// The waits between attempts.
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }
}

impl Default for RetrySchedule {
    /// Exponential, about 24 hours in all (12 attempts): a merchant's endpoint that is down for
    /// a deploy is retried within seconds, one down overnight still gets the event next day.
    fn default() -> Self {
        const MINUTE: u64 = 60;
        const HOUR: u64 = 60 * MINUTE;
        let secs = [
            10,
            30,
            MINUTE,
            5 * MINUTE,
            15 * MINUTE,
            30 * MINUTE,
            HOUR,
            2 * HOUR,
            4 * HOUR,
            8 * HOUR,
            8 * HOUR,
        ];
        Self::new(secs.into_iter().map(Duration::from_secs).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(kind.as_str().parse::<EventKind>(), Ok(kind));
            assert_eq!(kind.to_string(), kind.as_str());
        }
        assert_eq!(
            "payment.refunded".parse::<EventKind>(),
            Err(UnknownEventKind("payment.refunded".into()))
        );
        assert_eq!(EventKind::Test.as_str(), "test.notification");
    }

    #[test]
    fn default_schedule_spans_about_a_day() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.max_attempts(), 12);
        let total = schedule.total();
        assert!(total > Duration::from_secs(23 * 3600), "{total:?}");
        assert!(total <= Duration::from_secs(24 * 3600), "{total:?}");
        // Never shrinking: a struggling endpoint is not hammered harder as time goes on.
        assert!(schedule.delays().windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn next_delay_walks_the_schedule_then_gives_up() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.next_delay(0), Some(Duration::ZERO));
        assert_eq!(schedule.next_delay(1), Some(Duration::from_secs(10)));
        assert_eq!(schedule.next_delay(2), Some(Duration::from_secs(30)));
        assert_eq!(schedule.next_delay(3), Some(Duration::from_secs(60)));
        assert_eq!(schedule.next_delay(11), Some(Duration::from_secs(8 * 3600)));
        assert_eq!(schedule.next_delay(12), None);
        assert_eq!(schedule.next_delay(u32::MAX), None);
    }

    #[test]
    fn custom_and_empty_schedules() {
        let ms = Duration::from_millis(50);
        let schedule = RetrySchedule::new(vec![ms; 3]);
        assert_eq!(schedule.max_attempts(), 4);
        assert_eq!(
            (1..=4).map(|n| schedule.next_delay(n)).collect::<Vec<_>>(),
            vec![Some(ms), Some(ms), Some(ms), None]
        );
        let once = RetrySchedule::new(Vec::new());
        assert_eq!(once.max_attempts(), 1);
        assert_eq!(once.next_delay(1), None);
    }
}

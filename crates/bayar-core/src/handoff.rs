//! From commit to delivery: how the writer tells the notification worker about the events it
//! has just committed.
//!
//! A worker that registers here ([`Handoff::register`]) is handed fresh events by the commits
//! that wrote them: just before committing, the writer stamps the worker's claim (`locked_by`,
//! `locked_until`) on as many of the batch's new events as the worker has free delivery slots,
//! in the same transaction, and once the commit is durable sends them to the worker, each
//! with its slot. The worker starts them at once, without a claiming transaction of its own
//! and without the wait for company a claim makes. Should the worker die before recording
//! the attempt, the lease runs out and any worker claims the event again, as with a claim.
//!
//! Events the writer could not hand over (the worker busy or absent, copies written by
//! fan-out, rows written before a read in the same transaction) stay due, and the writer
//! signals [`Handoff::due`], on which the worker wakes to claim them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc};

use crate::outbox::Event;
use crate::store::Tx;

/// The way from the writer's commits to the notification worker of this process.
#[derive(Debug, Default)]
pub struct Handoff {
    due: Notify,
    worker: Mutex<Option<Arc<Worker>>>,
}

/// The registered worker.
#[derive(Debug)]
struct Worker {
    name: String,
    lease: Duration,
    slots: Arc<Semaphore>,
    events: mpsc::UnboundedSender<Handed>,
}

/// A fresh event, claimed for the worker, with the delivery slot it was claimed for.
#[derive(Debug)]
pub struct Handed {
    /// The event, as stored.
    pub event: Event,
    /// Its delivery slot, taken from the worker's `slots`: held until the attempt is recorded.
    pub slot: OwnedSemaphorePermit,
}

/// Delivery slots taken together for up to so many events, then given one to each.
#[derive(Debug)]
pub struct Slots(OwnedSemaphorePermit);

impl Slots {
    /// Takes `n` of `slots`' permits at once; `None`, with nothing taken, when fewer are free
    /// or `n` is 0.
    pub fn take(slots: &Arc<Semaphore>, n: usize) -> Option<Self> {
        let n = u32::try_from(n).ok().filter(|&n| n > 0)?;
        slots.clone().try_acquire_many_owned(n).ok().map(Self)
    }

    /// Gives each of `events` one slot, as long as slots last; those left over go back.
    pub fn hand(mut self, events: impl IntoIterator<Item = Event>) -> Vec<Handed> {
        events
            .into_iter()
            .map_while(|event| self.0.split(1).map(|slot| Handed { event, slot }))
            .collect()
    }
}

/// Events claimed for the worker in a transaction not yet committed, and how many of those
/// waiting to be written were left unclaimed.
#[derive(Debug, Default)]
pub(crate) struct Claimed {
    worker: Option<Arc<Worker>>,
    events: Vec<Handed>,
    unclaimed: usize,
}

impl Handoff {
    /// Signalled when a commit leaves events due that nobody was handed: the worker waits on
    /// it (`notify_one`: a signal while the worker is busy is kept, not lost).
    pub fn due(&self) -> &Notify {
        &self.due
    }

    /// Registers the worker called `name` (its `locked_by`), whose claims last `lease` and
    /// which delivers at most as many events at once as `slots` has permits; answers where the
    /// events handed to it arrive. It replaces any worker registered before. Closing the
    /// receiver unregisters it.
    pub fn register(
        &self,
        name: String,
        lease: Duration,
        slots: Arc<Semaphore>,
    ) -> mpsc::UnboundedReceiver<Handed> {
        let (events, handed) = mpsc::unbounded_channel();
        let worker = Worker {
            name,
            lease,
            slots,
            events,
        };
        *self.lock() = Some(Arc::new(worker));
        handed
    }

    /// Claims for the registered worker as many of the events waiting to be written in `tx`
    /// as it has free slots (see [`Tx::claim_written_events`]); they are handed over by
    /// [`Claimed::hand_over`] once `tx` has committed.
    pub(crate) fn claim(&self, tx: &mut Tx, now: DateTime<Utc>) -> Claimed {
        let waiting = tx.events_waiting();
        let none = Claimed {
            unclaimed: waiting,
            ..Claimed::default()
        };
        if waiting == 0 {
            return none;
        }
        let Some(worker) = self.lock().clone() else {
            return none;
        };
        if worker.events.is_closed() {
            return none;
        }
        let free = worker.slots.available_permits().min(waiting);
        let Some(slots) = Slots::take(&worker.slots, free) else {
            return none;
        };
        let events = slots.hand(tx.claim_written_events(&worker.name, now, worker.lease, free));
        Claimed {
            unclaimed: waiting - events.len(),
            events,
            worker: Some(worker),
        }
    }

    /// Wakes the worker to claim events left due.
    pub(crate) fn signal_due(&self) {
        self.due.notify_one();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Arc<Worker>>> {
        // The guarded value is a plain pointer swap: a panic elsewhere cannot leave it torn.
        self.worker.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Claimed {
    /// Whether events waiting to be written were left for a claim: the worker busy or absent.
    pub(crate) fn left_unclaimed(&self) -> bool {
        self.unclaimed > 0
    }

    /// Sends the claimed events to the worker; called once their transaction has committed.
    /// Dropped instead (the transaction failed), their slots are given back.
    pub(crate) fn hand_over(self) {
        let Some(worker) = self.worker else { return };
        for handed in self.events {
            if worker.events.send(handed).is_err() {
                // The worker stopped after the claim: its lease runs out and the event is
                // claimed again, as if the worker had died delivering it.
                tracing::warn!("notification worker gone; a handed event waits for its lease");
                return;
            }
        }
    }
}

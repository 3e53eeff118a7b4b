//! The notification worker's bookkeeping, run through a writer like every other change so
//! that claims and recorded attempts are group-committed (one fsync for many) instead of each
//! paying a commit of its own. They are [`Command::bookkeeping`]: on SQLite they share the
//! payments' commits, on PostgreSQL they commit on a connection of their own.

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::error::CoreError;
use crate::outbox::{AfterAttempt, Attempt, Event};
use crate::store::Tx;
use crate::writer::{Command, Context};

/// Claims up to `limit` due events for `worker` for `lease` (see [`Tx::claim_due_events`]).
#[derive(Clone, Debug)]
pub struct ClaimDueEvents {
    /// The claiming worker's name.
    pub worker: String,
    /// How long the claim lasts.
    pub lease: Duration,
    /// Most events to claim.
    pub limit: i64,
}

impl Command for ClaimDueEvents {
    type Output = Vec<Event>;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Vec<Event>, CoreError>> {
        Box::pin(async move {
            Ok(tx
                .claim_due_events(&self.worker, ctx.now(), self.lease, self.limit)
                .await?)
        })
    }

    fn bookkeeping(&self) -> bool {
        true
    }
}

/// Records delivery attempts of one worker, each with its event's next state, while the event
/// is still the worker's claim (see [`Tx::record_attempts`]). One command for many attempts:
/// the worker records what finished together in one savepoint of one group commit.
#[derive(Clone, Debug)]
pub struct RecordAttempts {
    /// The worker that made the attempts.
    pub worker: String,
    /// The attempts, each with what follows it.
    pub attempts: Vec<(Attempt, AfterAttempt)>,
}

impl Command for RecordAttempts {
    /// Per attempt, in order: whether it was recorded (`false`: its event is no longer the
    /// worker's claim, and nothing was written for it).
    type Output = Vec<bool>;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Vec<bool>, CoreError>> {
        Box::pin(async move {
            Ok(tx
                .record_attempts(&self.worker, &self.attempts, ctx.now())
                .await?)
        })
    }

    fn bookkeeping(&self) -> bool {
        true
    }
}

/// Hands a claimed event over to one copy per destination (see [`Tx::fan_out`]); `false` when
/// the event is no longer the worker's claim. The copies are due at once, so committing wakes
/// the worker.
#[derive(Clone, Debug)]
pub struct FanOutEvent {
    /// The worker holding the claim.
    pub worker: String,
    /// The event, as claimed.
    pub event: Event,
    /// Its destinations (webhook endpoint ids).
    pub endpoints: Vec<String>,
}

impl Command for FanOutEvent {
    type Output = bool;

    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<bool, CoreError>> {
        Box::pin(async move {
            Ok(tx
                .fan_out(&self.worker, &self.event, &self.endpoints, ctx.now())
                .await?)
        })
    }

    fn bookkeeping(&self) -> bool {
        true
    }
}

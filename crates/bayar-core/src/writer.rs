//! The write path: group commit.
//!
//! Every state change is a [`Command`]: plain data with an `execute` that runs inside a
//! transaction. The [`Writer`] collects the commands that arrive together, runs them in one
//! transaction (a business refusal rolls back only that command), commits the batch once
//! (one fsync for many payments), and only then answers each caller. A caller is never told
//! "done" before its change is durable, and never told "done" for a change that did not commit.
//!
//! Refusals are rare, so a batch first runs without savepoints, and the keys its new rows
//! claim (payment references, X-EXTERNAL-IDs) are checked only when those rows are written,
//! with the batch's other appended rows ([`Tx::defer_checks`]); should a command fail or a key
//! be taken, the whole transaction rolls back and the batch runs again with each command in a
//! savepoint of its own, checking each key at once. While refusals and repeated requests keep
//! coming, batches start with savepoints.
//!
//! SQLite gets one writer loop (SQLite has one writer anyway) on a thread of its own, running
//! each batch's statements back to back on the write connection; PostgreSQL gets one or more
//! loops, each on its own connection, on a thread and runtime of their own; row locks and
//! unique constraints keep them, and other processes, correct.
//!
//! When commands arrive often enough that company is expected within [`WriterConfig::linger`],
//! a batch that would start small waits that long first: a commit writes every page its batch
//! dirtied (the same index leaves, payment after payment) and syncs once, so two payments in
//! one commit cost far less than two commits. Idle or slow traffic never waits.
//!
//! The queue is bounded ([`WriterConfig::max_queued`]): past it a business command is refused
//! at once with [`CoreError::Overloaded`], before it has done anything. Offered more than it
//! can commit, bayar keeps committing at its best rate and answers the excess "try again"
//! quickly, instead of letting every caller wait in a queue (and memory) that only grows.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

use chrono::{DateTime, SubsecRound, Utc};

use crate::error::CoreError;
use crate::handoff::Handoff;
use crate::payment::Fees;
use crate::store::{Store, StoreError, Tx};

/// What every command may consult besides the store.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The gateway's fee schedule.
    pub fees: Fees,
}

impl Context {
    /// The current time, as commands see it: whole milliseconds, the precision the store
    /// keeps, so what a command returns equals what a later read returns.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(3)
    }
}

/// A state change, run by the writer inside a savepoint of a batch transaction.
///
/// `execute` takes `&self` so a command could be re-run; it must do all its writes through `tx`.
pub trait Command: Send + Sync + 'static {
    /// What the caller gets back once the batch has committed.
    type Output: Send + 'static;

    /// Runs the command. An `Err` rolls back everything this command wrote.
    fn execute<'t>(
        &'t self,
        tx: &'t mut Tx,
        ctx: &'t Context,
    ) -> BoxFuture<'t, Result<Self::Output, CoreError>>;

    /// Whether this command only records what happened (API calls, notification claims and
    /// deliveries): it touches no row a business command reads or updates, so it may commit
    /// apart from them. On PostgreSQL such commands run on a writer of their own (see
    /// [`crate::Core::run`]), keeping the payment loop's chain of round trips its own.
    fn bookkeeping(&self) -> bool {
        false
    }
}

/// Tunables of the writer.
#[derive(Clone, Debug)]
pub struct WriterConfig {
    /// Most commands in one transaction.
    pub max_batch: usize,
    /// Parallel batch loops (each on its own connection). SQLite always uses one.
    pub loops: usize,
    /// How long a small batch waits for company when commands arrive at least this often;
    /// zero never waits. Only with one loop: the wait holds the loop's thread.
    pub linger: Duration,
    /// Most business commands queued or running at once; beyond it they are refused with
    /// [`CoreError::Overloaded`]. Bookkeeping ([`Command::bookkeeping`]) is never refused.
    pub max_queued: usize,
}

impl Default for WriterConfig {
    fn default() -> Self {
        // One loop: two batches of one process would take the shared rows (fees, merchant) in
        // crossing orders and deadlock (measured: 10-56 deadlocks and 25x slower per 300
        // payments with 2-4 loops, none with 1); batching already amortises the commit.
        Self {
            max_batch: 256,
            loops: 1,
            // Measured (SQLite, 2,000 payments/s offered): WAL writes per payment 34 -> 29,
            // fsyncs 0.45 -> 0.26, p99 67 -> 12 ms; at 500/s p50 moved by 0.2 ms.
            linger: Duration::from_micros(500),
            // About a fifth of a second of payments on SQLite at its best rate (~5,000/s on
            // 2 cores), a second on PostgreSQL (~1,000/s): longer waits miss the callers'
            // deadlines anyway, and each waiting request holds a connection's memory
            // (measured, 2x overload on PostgreSQL: 442 MiB and p50 10 s unbounded; 87 MiB,
            // p50 0.36 s and full throughput with this bound).
            max_queued: 1000,
        }
    }
}

/// How often a command that lost a lock race (deadlock, serialization failure) is re-run in a
/// later batch before its caller is told to retry.
const CONTENTION_RETRIES: u32 = 10;

/// What running a command inside its savepoint came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ran {
    /// It succeeded: keep its savepoint.
    Done,
    /// It was refused (or failed): roll its savepoint back, answer the caller.
    Refused,
    /// It lost a lock race with another transaction: roll back and run it again after the
    /// commands before it have committed and released their locks.
    Contended,
}

/// A command with its caller's reply channel, type-erased for the queue.
trait Job: Send {
    /// Runs the command.
    fn run<'t>(&'t mut self, tx: &'t mut Tx, ctx: &'t Context) -> BoxFuture<'t, Ran>;
    /// Whether the command is bookkeeping ([`Command::bookkeeping`]).
    fn bookkeeping(&self) -> bool;
    /// Answers the caller: with the command's own result when the batch committed.
    fn finish(self: Box<Self>, committed: Result<(), Arc<StoreError>>);
}

struct Queued<C: Command> {
    command: C,
    result: Option<Result<C::Output, CoreError>>,
    reply: oneshot::Sender<Result<C::Output, CoreError>>,
    contended: u32,
    /// The command's place in the bounded queue, given back before its caller is answered.
    admitted: Option<OwnedSemaphorePermit>,
}

impl<C: Command> Queued<C> {
    /// A job for `command`, holding its place in the queue if it was given one, and where its
    /// answer arrives.
    fn new(
        command: C,
        admitted: Option<OwnedSemaphorePermit>,
    ) -> (Box<Self>, oneshot::Receiver<Result<C::Output, CoreError>>) {
        let (reply, answer) = oneshot::channel();
        let job = Box::new(Queued {
            command,
            result: None,
            reply,
            contended: 0,
            admitted,
        });
        (job, answer)
    }
}

impl<C: Command> Job for Queued<C> {
    fn run<'t>(&'t mut self, tx: &'t mut Tx, ctx: &'t Context) -> BoxFuture<'t, Ran> {
        Box::pin(async move {
            let result = self.command.execute(tx, ctx).await;
            let ran = match &result {
                Ok(_) => Ran::Done,
                Err(e) if is_contention(e) && self.contended < CONTENTION_RETRIES => {
                    self.contended += 1;
                    Ran::Contended
                }
                Err(_) => Ran::Refused,
            };
            self.result = (ran != Ran::Contended).then_some(result);
            ran
        })
    }

    fn bookkeeping(&self) -> bool {
        self.command.bookkeeping()
    }

    fn finish(self: Box<Self>, committed: Result<(), Arc<StoreError>>) {
        let Queued {
            result,
            reply,
            admitted,
            ..
        } = *self;
        let answer = match committed {
            Ok(()) => result.unwrap_or_else(|| Err(CoreError::Store(StoreError::Aborted))),
            Err(e) => Err(CoreError::Store(StoreError::Batch(e))),
        };
        // A caller told "done" may submit again at once: its place must already be free, or a
        // queue of one would refuse it (the rest of the job is dropped after the answer).
        drop(admitted);
        // The caller may have gone away (client disconnected); the change stands regardless.
        let _ = reply.send(answer);
    }
}

/// Handle to the writer loops: cheap to clone, submits commands.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::UnboundedSender<Box<dyn Job>>,
    /// One permit per business command that may be queued or running.
    admission: Arc<Semaphore>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

impl Writer {
    /// Starts the writer loops on `store`, on a thread called `name`. They stop when every
    /// `Writer` handle is dropped. The outbox events they commit go through `handoff`.
    pub fn start(
        name: &str,
        store: Store,
        config: WriterConfig,
        ctx: Context,
        handoff: Arc<Handoff>,
    ) -> Writer {
        let ctx = Arc::new(ctx);
        let (tx, rx) = mpsc::unbounded_channel::<Box<dyn Job>>();
        let rx = Arc::new(Mutex::new(rx));
        let max_batch = config.max_batch.max(1);
        let linger = if config.loops.max(1) == 1 {
            config.linger
        } else {
            Duration::ZERO
        };
        match store {
            Store::Sqlite { .. } => {
                // SQLite statements run synchronously on the write connection: the loop gets a
                // thread of its own so a batch never holds up a runtime worker.
                let runtime = tokio::runtime::Handle::current();
                let work = batch_loop(store, ctx, rx, handoff, max_batch, linger);
                on_writer_thread(name, move || runtime.block_on(work));
            }
            Store::Postgres(pool) => {
                // A payment is a dozen round trips to PostgreSQL in a row. On the shared
                // runtime each answer waited its turn behind request handling; on a runtime of
                // their own, with connections it drives, the loops resume as soon as the answer
                // arrives (measured: 235 -> 313-344 payments/s at p99 <= 30 ms).
                // The connections are opened on first use: an unreachable server fails the
                // batches, like any lost connection, instead of the start.
                let loops = config.loops.max(1);
                let options = pool.connect_options();
                on_writer_thread(name, move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("a runtime for the writer");
                    runtime.block_on(async move {
                        // One connection per loop: a spare one, so that a batch need not wait
                        // for sqlx's check of the connection the last batch gave back, made
                        // p50 at 800 payments/s 17 ms instead of 6-9 ms.
                        let connections = u32::try_from(loops).unwrap_or(u32::MAX);
                        let pool = crate::store::postgres_pool(connections)
                            .connect_lazy_with((*options).clone());
                        let store = Store::Postgres(pool.clone());
                        let work = (0..loops).map(|_| {
                            batch_loop(
                                store.clone(),
                                ctx.clone(),
                                rx.clone(),
                                handoff.clone(),
                                max_batch,
                                linger,
                            )
                        });
                        futures_util::future::join_all(work).await;
                        pool.close().await;
                    });
                });
            }
        }
        Writer {
            queue: tx,
            admission: Arc::new(Semaphore::new(
                config.max_queued.clamp(1, Semaphore::MAX_PERMITS),
            )),
        }
    }

    /// Runs `command` in the next batch and returns its outcome once the batch has committed;
    /// [`CoreError::Overloaded`] at once, with nothing done, when the queue is full.
    pub async fn run<C: Command>(&self, command: C) -> Result<C::Output, CoreError> {
        let admitted = if command.bookkeeping() {
            None
        } else {
            let permit = self.admission.clone().try_acquire_owned();
            Some(permit.map_err(|_| CoreError::Overloaded)?)
        };
        let (job, answer) = Queued::new(command, admitted);
        self.queue
            .send(job)
            .map_err(|_| CoreError::Store(StoreError::WriterStopped))?;
        answer
            .await
            .map_err(|_| CoreError::Store(StoreError::WriterStopped))?
    }
}

/// Runs `commands` as one batch, as the writer does with commands queued together, and
/// returns each one's answer: lets tests see what batching does to outcomes.
#[cfg(feature = "testing")]
pub(crate) async fn run_as_one_batch<C: Command>(
    store: &Store,
    ctx: &Context,
    commands: Vec<C>,
) -> Vec<Result<C::Output, CoreError>> {
    let mut answers = Vec::new();
    let mut batch: Vec<Box<dyn Job>> = Vec::new();
    for command in commands {
        let (job, answer) = Queued::new(command, None);
        batch.push(job);
        answers.push(answer);
    }
    let handoff = Handoff::default();
    let (committed, ran) = match run_batch(store, ctx, &handoff, &mut batch, true).await {
        Ok(ran) => (Ok(()), ran.commands),
        Err(e) => (Err(Arc::new(e)), batch.len()),
    };
    // Commands that lost a lock race would run in the next batch; here there is none, so
    // they are dropped unanswered and their callers see the writer stopped.
    batch.truncate(ran);
    for job in batch {
        job.finish(committed.clone());
    }
    let mut out = Vec::new();
    for answer in answers {
        out.push(
            answer
                .await
                .unwrap_or(Err(CoreError::Store(StoreError::WriterStopped))),
        );
    }
    out
}

/// Runs `work` (the writer loops) on a thread of their own, named for `top` and `perf`.
fn on_writer_thread(name: &str, work: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(work)
        .expect("the OS refused a thread for the writer");
}

async fn batch_loop(
    store: Store,
    ctx: Arc<Context>,
    queue: Arc<Mutex<mpsc::UnboundedReceiver<Box<dyn Job>>>>,
    handoff: Arc<Handoff>,
    max_batch: usize,
    linger: Duration,
) {
    // Commands put back after losing a lock race; they open the next batch.
    let mut carried: Vec<Box<dyn Job>> = Vec::new();
    let mut pace = Pace::default();
    let mut refusals = Refusals::default();
    loop {
        let mut batch = std::mem::take(&mut carried);
        if batch.is_empty() {
            // Wait for the first command, then take whatever else is already waiting: while
            // one batch commits the next one fills up, so batches grow with the load.
            let mut queue = queue.lock().await;
            match queue.recv().await {
                Some(job) => batch.push(job),
                None => return,
            }
            drain(&mut queue, &mut batch, max_batch);
            if pace.expects_company(Instant::now(), batch.len(), linger) && batch.len() < max_batch
            {
                // A blocking sleep: the loop's thread has nothing else to do meanwhile, and
                // the runtime's timer would round the wait up to whole milliseconds.
                std::thread::sleep(linger);
                drain(&mut queue, &mut batch, max_batch);
            }
        } else if let Ok(mut queue) = queue.try_lock() {
            // Carried commands must not wait for the queue: another loop may hold it while
            // waiting for new commands, and their callers send none until answered.
            drain(&mut queue, &mut batch, max_batch);
        }
        let outcome = run_batch(&store, &ctx, &handoff, &mut batch, refusals.none_expected()).await;
        let (outcome, ran) = match outcome {
            Ok(ran) => {
                refusals.record(&ran);
                if ran.events_due {
                    handoff.signal_due();
                }
                (Ok(()), ran.commands)
            }
            Err(e) => {
                tracing::error!(error = %e, commands = batch.len(), "batch failed; nothing committed");
                (Err(Arc::new(e)), batch.len())
            }
        };
        carried = batch.split_off(ran);
        for job in batch {
            job.finish(outcome.clone());
        }
    }
}

/// Moves the batch's bookkeeping ahead of its business commands, each in the order it came.
/// Bookkeeping touches no row a business command reads, so the order changes no outcome; but
/// it reads and updates outbox events, which makes the events that the commands before it
/// appended be written then, already due, and a commit hands the worker only events still
/// waiting to be written ([`crate::handoff`]): the rest cost it a claim of their own.
fn bookkeeping_first(batch: &mut [Box<dyn Job>]) {
    batch.sort_by_key(|job| !job.bookkeeping());
}

/// How often commands arrive, from the batches the loop has formed.
#[derive(Debug, Default)]
struct Pace {
    /// When the previous batch was formed.
    last: Option<Instant>,
    /// Commands per second, smoothed over the last few batches.
    per_second: f64,
}

impl Pace {
    /// Records a batch of `commands` formed at `now`; says whether at least one more command
    /// is expected within `linger` at the recent pace.
    fn expects_company(&mut self, now: Instant, commands: usize, linger: Duration) -> bool {
        if let Some(last) = self.last.replace(now) {
            let seconds = now.duration_since(last).as_secs_f64().max(1e-6);
            let sample = commands as f64 / seconds;
            self.per_second += (sample - self.per_second) / 8.0;
        }
        !linger.is_zero() && self.per_second * linger.as_secs_f64() >= 1.0
    }
}

/// Whether the commands of late have been refused, to choose how the next batch runs.
#[derive(Debug)]
struct Refusals {
    /// Commands run since the last one that was refused or lost a lock race.
    since_last: usize,
}

impl Default for Refusals {
    fn default() -> Self {
        Self {
            since_last: Self::QUIET,
        }
    }
}

impl Refusals {
    /// How many commands in a row must succeed before batches run without savepoints again:
    /// a batch that meets a refusal runs twice, so that is tried only when refusals are rare.
    const QUIET: usize = 64;

    /// Records how a batch ran.
    fn record(&mut self, ran: &BatchRan) {
        self.since_last = if ran.refused {
            0
        } else {
            self.since_last.saturating_add(ran.commands)
        };
    }

    /// Whether the next batch should run without savepoints.
    fn none_expected(&self) -> bool {
        self.since_last >= Self::QUIET
    }
}

/// Moves commands that are already waiting into `batch`, up to `max_batch`.
fn drain(
    queue: &mut mpsc::UnboundedReceiver<Box<dyn Job>>,
    batch: &mut Vec<Box<dyn Job>>,
    max_batch: usize,
) {
    while batch.len() < max_batch {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
}

/// How a committed batch ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BatchRan {
    /// How many commands ran: all of them, or those before the first one that lost a lock
    /// race (it and the rest run again in the next batch, once this commit has released the
    /// locks they wait for).
    commands: usize,
    /// Whether a command was refused or lost a lock race.
    refused: bool,
    /// Whether the batch left outbox events due that no worker was handed.
    events_due: bool,
}

/// Runs the batch in one transaction and commits it. With `optimistic`, the commands run
/// first without savepoints (on SQLite each savepoint copies every page its command changes
/// into a journal; on PostgreSQL it is a round trip per command); if one of them does not
/// succeed, that transaction rolls back and the batch runs again with savepoints.
async fn run_batch(
    store: &Store,
    ctx: &Context,
    handoff: &Handoff,
    batch: &mut [Box<dyn Job>],
    optimistic: bool,
) -> Result<BatchRan, StoreError> {
    bookkeeping_first(batch);
    if !optimistic {
        return run_in_savepoints(store, ctx, handoff, batch).await;
    }
    if let Some(events_due) = run_without_savepoints(store, ctx, handoff, batch).await? {
        return Ok(BatchRan {
            commands: batch.len(),
            refused: false,
            events_due,
        });
    }
    // A refusal, or a repeated request's key: the next batches check at once too, while they
    // keep coming.
    let ran = run_in_savepoints(store, ctx, handoff, batch).await?;
    Ok(BatchRan {
        refused: true,
        ..ran
    })
}

/// Commits `tx`, then hands the worker the fresh events claimed for it in `tx` (they go out
/// only once durable); answers whether `tx` left events due that nobody was handed.
async fn commit(mut tx: Tx, ctx: &Context, handoff: &Handoff) -> Result<bool, StoreError> {
    let claimed = handoff.claim(&mut tx, ctx.now());
    let events_due = claimed.left_unclaimed() || tx.wrote_events_due();
    tx.commit().await?;
    claimed.hand_over();
    Ok(events_due)
}

/// Runs every command of the batch in one transaction, without savepoints and with checks
/// of new keys deferred to the flush ([`Tx::defer_checks`]), and commits it when all of them
/// succeeded and no key was taken (answering what [`commit`] does); otherwise rolls it back,
/// writing nothing, and answers `None`.
async fn run_without_savepoints(
    store: &Store,
    ctx: &Context,
    handoff: &Handoff,
    batch: &mut [Box<dyn Job>],
) -> Result<Option<bool>, StoreError> {
    let mut tx = Tx::begin(store).await?;
    tx.defer_checks();
    for job in batch.iter_mut() {
        let ran = job.run(&mut tx, ctx).await;
        if let Some(broken) = tx.broken() {
            let _ = tx.rollback().await;
            return Err(broken);
        }
        if ran != Ran::Done || tx.conflicted() {
            tx.rollback().await?;
            return Ok(None);
        }
    }
    match commit(tx, ctx, handoff).await {
        // The commit's flush found a key taken and rolled back.
        Err(StoreError::Conflict) => Ok(None),
        committed => committed.map(Some),
    }
}

/// Runs each command of the batch in a savepoint of its own and commits the batch.
async fn run_in_savepoints(
    store: &Store,
    ctx: &Context,
    handoff: &Handoff,
    batch: &mut [Box<dyn Job>],
) -> Result<BatchRan, StoreError> {
    // The first savepoint opens with the transaction, and releasing one and opening the next
    // is a single round trip to the database.
    let mut tx = Tx::begin_with(store, "SAVEPOINT command").await?;
    let mut ran = BatchRan {
        commands: batch.len(),
        refused: false,
        events_due: false,
    };
    for (i, job) in batch.iter_mut().enumerate() {
        match run_in_savepoint(&mut tx, ctx, job.as_mut(), i + 1 < ran.commands).await {
            Ok(Ran::Done) => {}
            Ok(Ran::Refused) => ran.refused = true,
            Ok(Ran::Contended) => {
                ran.commands = i;
                ran.refused = true;
                break;
            }
            Err(e) => {
                // The transaction itself is broken (connection lost): nothing of the batch
                // stands.
                let _ = tx.rollback().await;
                return Err(e);
            }
        }
    }
    ran.events_due = commit(tx, ctx, handoff).await?;
    Ok(ran)
}

/// Runs `job` in the open savepoint, then releases it, opening the next command's savepoint
/// in the same round trip when `more` commands follow; the last one's is released by the
/// commit. A command that failed is rolled back to the savepoint, which stays open for the
/// next. A contended command ends the batch, which commits what ran before it.
async fn run_in_savepoint(
    tx: &mut Tx,
    ctx: &Context,
    job: &mut dyn Job,
    more: bool,
) -> Result<Ran, StoreError> {
    tx.begin_command();
    let ran = job.run(tx, ctx).await;
    if let Some(broken) = tx.broken() {
        // Rows appended by commands before this one failed to be written: nothing of the
        // batch may stand.
        return Err(broken);
    }
    if ran == Ran::Done {
        tx.end_command();
    } else {
        tx.discard_command();
    }
    let script = match (ran, more) {
        (Ran::Done, true) => Some("RELEASE SAVEPOINT command; SAVEPOINT command"),
        (Ran::Done, false) => None,
        (Ran::Refused | Ran::Contended, _) => Some("ROLLBACK TO SAVEPOINT command"),
    };
    if let Some(script) = script {
        tx.execute_script(script).await?;
    }
    Ok(ran)
}

/// Whether `err` is a lost race with another transaction ([`StoreError::is_lost_race`]).
fn is_contention(err: &CoreError) -> bool {
    matches!(err, CoreError::Store(e) if e.is_lost_race())
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;
    use futures_util::future::BoxFuture;

    use std::time::{Duration, Instant};

    use std::sync::Arc;

    use chrono::Utc;
    use tokio::sync::{Semaphore, watch};

    use super::{
        BatchRan, Command, Context, Job, Pace, Queued, Refusals, Writer, WriterConfig,
        bookkeeping_first, run_as_one_batch, run_batch,
    };
    use crate::error::CoreError;
    use crate::handoff::Handoff;
    use crate::ids::{EventId, MerchantId};
    use crate::outbox::{EventKind, NewEvent};
    use crate::store::{Store, Tx};
    use crate::testing;

    fn test_event(merchant_id: MerchantId) -> NewEvent {
        NewEvent {
            merchant_id,
            kind: EventKind::Test,
            subject_id: "subject".into(),
            payload: serde_json::json!({}),
        }
    }

    /// Writes an outbox event (written behind), then optionally reads the outbox (which
    /// writes every waiting row first) and fails.
    struct AppendEvent {
        merchant_id: MerchantId,
        read_back: bool,
        refuse: bool,
        bookkeeping: bool,
    }

    impl Command for AppendEvent {
        type Output = EventId;

        fn execute<'t>(
            &'t self,
            tx: &'t mut Tx,
            ctx: &'t Context,
        ) -> BoxFuture<'t, Result<EventId, CoreError>> {
            Box::pin(async move {
                let id = tx.insert_event(&test_event(self.merchant_id), ctx.now());
                if self.read_back {
                    let due: i64 = tx
                        .query("SELECT COUNT(*) FROM events WHERE id = $1")
                        .bind(id.to_string())
                        .scalar_one()
                        .await?;
                    assert_eq!(due, 1, "a read of the table sees the appended row");
                }
                if self.refuse {
                    return Err(CoreError::PaymentNotFound);
                }
                Ok(id)
            })
        }

        fn bookkeeping(&self) -> bool {
            self.bookkeeping
        }
    }

    fn job(merchant_id: MerchantId, read_back: bool, refuse: bool) -> AppendEvent {
        AppendEvent {
            merchant_id,
            read_back,
            refuse,
            bookkeeping: false,
        }
    }

    /// Runs `jobs` as one batch and returns each caller's answer.
    async fn batch(store: &Store, jobs: Vec<AppendEvent>) -> Vec<Result<EventId, String>> {
        run_as_one_batch(store, &Context::default(), jobs)
            .await
            .into_iter()
            .map(|answer| answer.map_err(|e| e.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn rows_written_behind_stand_or_fall_with_their_command() {
        for t in testing::all().await {
            let merchant_id = testing::merchant_row(&t.store).await;
            let answers = batch(
                &t.store,
                vec![
                    job(merchant_id, false, false),
                    job(merchant_id, true, true),
                    job(merchant_id, false, true),
                    job(merchant_id, true, false),
                ],
            )
            .await;
            assert_eq!(answers.len(), 4);
            let first = answers[0].as_ref().expect("the first command stands");
            let last = answers[3].as_ref().expect("the last command stands");
            assert!(answers[1].is_err() && answers[2].is_err(), "{}", t.engine);
            for id in [first, last] {
                let stored = t.store.event(id).await.unwrap();
                assert!(stored.is_some(), "{}: {id} {answers:?}", t.engine);
            }
            let stored = t.rows("events").await;
            assert_eq!(
                stored, 2,
                "{}: the refused commands' rows are gone",
                t.engine
            );
        }
    }

    #[tokio::test]
    async fn a_row_written_behind_that_fails_fails_the_whole_batch() {
        for t in testing::all().await {
            let merchant_id = testing::merchant_row(&t.store).await;
            // The second command's event names no merchant; its read writes the first
            // command's row and its own in one statement, which the store refuses.
            let answers = batch(
                &t.store,
                vec![
                    job(merchant_id, false, false),
                    job(MerchantId::generate(), true, false),
                    job(merchant_id, false, false),
                ],
            )
            .await;
            for answer in &answers {
                let error = answer.as_ref().expect_err("nothing of the batch stands");
                assert!(error.contains("appended rows"), "{}: {error}", t.engine);
            }
            let stored = t.rows("events").await;
            assert_eq!(stored, 0, "{}", t.engine);
        }
    }

    /// Appends an outbox event once `open` says so: holds the writer busy until then.
    struct Gated {
        merchant_id: MerchantId,
        open: watch::Receiver<bool>,
        bookkeeping: bool,
    }

    impl Command for Gated {
        type Output = EventId;

        fn execute<'t>(
            &'t self,
            tx: &'t mut Tx,
            ctx: &'t Context,
        ) -> BoxFuture<'t, Result<EventId, CoreError>> {
            Box::pin(async move {
                let mut open = self.open.clone();
                open.wait_for(|open| *open)
                    .await
                    .expect("the test keeps the gate");
                Ok(tx.insert_event(&test_event(self.merchant_id), ctx.now()))
            })
        }

        fn bookkeeping(&self) -> bool {
            self.bookkeeping
        }
    }

    /// A writer on `store` that takes at most `max_queued` business commands at once.
    fn bounded_writer(store: &Store, max_queued: usize) -> Writer {
        let config = WriterConfig {
            max_queued,
            ..WriterConfig::default()
        };
        Writer::start(
            "test-writer",
            store.clone(),
            config,
            Context::default(),
            Arc::new(Handoff::default()),
        )
    }

    #[tokio::test]
    async fn a_full_queue_refuses_business_commands_at_once_and_never_bookkeeping() {
        let patience = Duration::from_secs(10);
        for t in testing::all().await {
            let merchant_id = testing::merchant_row(&t.store).await;
            let (gate, open) = watch::channel(false);
            let gated = |bookkeeping| Gated {
                merchant_id,
                open: open.clone(),
                bookkeeping,
            };
            let writer = bounded_writer(&t.store, 2);
            let first = tokio::spawn({
                let (writer, command) = (writer.clone(), gated(false));
                async move { writer.run(command).await }
            });
            let second = tokio::spawn({
                let (writer, command) = (writer.clone(), gated(false));
                async move { writer.run(command).await }
            });
            while writer.admission.available_permits() > 0 {
                tokio::task::yield_now().await;
            }
            let refused = tokio::time::timeout(patience, writer.run(gated(false)))
                .await
                .expect("a refusal does not wait for the queue");
            assert!(
                matches!(refused, Err(CoreError::Overloaded)),
                "{}: {refused:?}",
                t.engine
            );
            let bookkeeping = tokio::spawn({
                let (writer, command) = (writer.clone(), gated(true));
                async move { writer.run(command).await }
            });
            gate.send(true).unwrap();
            for task in [first, second, bookkeeping] {
                let answer = tokio::time::timeout(patience, task).await.unwrap().unwrap();
                assert!(answer.is_ok(), "{}: {answer:?}", t.engine);
            }
            assert_eq!(
                t.rows("events").await,
                3,
                "{}: the refused command wrote nothing",
                t.engine
            );
            let after = tokio::time::timeout(patience, writer.run(gated(false)))
                .await
                .unwrap();
            assert!(
                after.is_ok(),
                "{}: answered commands give their place back",
                t.engine
            );
        }
    }

    /// Does nothing; dropping it (which the writer does after answering) waits for `released`.
    struct SlowToDrop {
        released: std::sync::Mutex<std::sync::mpsc::Receiver<()>>,
    }

    impl Command for SlowToDrop {
        type Output = ();

        fn execute<'t>(
            &'t self,
            _tx: &'t mut Tx,
            _ctx: &'t Context,
        ) -> BoxFuture<'t, Result<(), CoreError>> {
            Box::pin(async { Ok(()) })
        }
    }

    impl Drop for SlowToDrop {
        fn drop(&mut self) {
            let released = self.released.lock().unwrap();
            let _ = released.recv_timeout(Duration::from_secs(10));
        }
    }

    #[tokio::test]
    async fn a_caller_is_answered_only_after_its_place_in_the_queue_is_free() {
        for t in testing::all().await {
            let writer = bounded_writer(&t.store, 1);
            let (release, released) = std::sync::mpsc::channel();
            let command = SlowToDrop {
                released: std::sync::Mutex::new(released),
            };
            writer.run(command).await.unwrap();
            // The writer is still dropping the job: a caller submitting again right now must
            // not be refused because of it.
            let free = writer.admission.available_permits();
            release.send(()).unwrap();
            assert_eq!(free, 1, "{}: the answered command held its place", t.engine);
        }
    }

    /// Whether the writer has signalled events due (and takes the signal).
    fn signalled(handoff: &Handoff) -> bool {
        handoff.due().notified().now_or_never().is_some()
    }

    #[tokio::test]
    async fn fresh_events_are_handed_to_the_worker_with_their_commit_while_it_has_slots() {
        let lease = Duration::from_secs(60);
        for t in testing::all().await {
            let merchant_id = testing::merchant_row(&t.store).await;
            let handoff = Arc::new(Handoff::default());
            let slots = Arc::new(Semaphore::new(1));
            let mut fresh = handoff.register("w1".into(), lease, slots.clone());
            let writer = Writer::start(
                "test-writer",
                t.store.clone(),
                WriterConfig::default(),
                Context::default(),
                handoff.clone(),
            );
            let first = writer.run(job(merchant_id, false, false)).await.unwrap();
            let handed = fresh.try_recv().expect("the fresh event is handed over");
            assert_eq!(handed.event.id, first, "{}", t.engine);
            assert_eq!(handed.event.attempts, 0);
            assert_eq!(slots.available_permits(), 0, "it holds the worker's slot");
            assert!(!signalled(&handoff), "{}: nothing is left due", t.engine);
            let other = t.store.claim_due_events("w2", Utc::now(), lease, 10);
            assert!(other.await.unwrap().is_empty(), "{}: it is w1's", t.engine);

            // No slot free: the next event is left due, and the worker told to claim it.
            let second = writer.run(job(merchant_id, false, false)).await.unwrap();
            assert!(fresh.try_recv().is_err(), "{}", t.engine);
            assert!(signalled(&handoff), "{}", t.engine);
            drop(handed);
            let claimed = t.store.claim_due_events("w2", Utc::now(), lease, 10);
            let ids: Vec<EventId> = claimed.await.unwrap().iter().map(|e| e.id).collect();
            assert_eq!(ids, vec![second], "{}", t.engine);

            // Written before the commit by a read of the table: claimed the usual way.
            let third = writer.run(job(merchant_id, true, false)).await.unwrap();
            assert!(fresh.try_recv().is_err(), "{}", t.engine);
            assert!(signalled(&handoff), "{}", t.engine);
            assert_eq!(slots.available_permits(), 1, "{}", t.engine);
            let claimed = t.store.claim_due_events("w2", Utc::now(), lease, 10);
            let ids: Vec<EventId> = claimed.await.unwrap().iter().map(|e| e.id).collect();
            assert_eq!(ids, vec![third], "{}", t.engine);

            // Refused: nothing handed, nothing due, the slot given back.
            let refused = writer.run(job(merchant_id, false, true)).await;
            assert!(refused.is_err());
            assert!(fresh.try_recv().is_err(), "{}", t.engine);
            assert!(!signalled(&handoff), "{}", t.engine);
            assert_eq!(slots.available_permits(), 1, "{}", t.engine);

            // A worker that stopped is handed nothing.
            fresh.close();
            let fourth = writer.run(job(merchant_id, false, false)).await.unwrap();
            assert!(signalled(&handoff), "{}", t.engine);
            assert_eq!(slots.available_permits(), 1, "{}", t.engine);
            let claimed = t.store.claim_due_events("w2", Utc::now(), lease, 10);
            let ids: Vec<EventId> = claimed.await.unwrap().iter().map(|e| e.id).collect();
            assert_eq!(ids, vec![fourth], "{}", t.engine);
        }
    }

    #[tokio::test]
    async fn bookkeeping_that_reads_the_outbox_leaves_the_batch_s_new_events_to_be_handed_over() {
        for t in testing::all().await {
            let merchant_id = testing::merchant_row(&t.store).await;
            let handoff = Handoff::default();
            let slots = Arc::new(Semaphore::new(8));
            let mut fresh = handoff.register("w1".into(), Duration::from_secs(60), slots);
            // A business command's event, then bookkeeping that reads the outbox, as the
            // notification worker's claims and records do, queued in that order.
            let bookkeeping = AppendEvent {
                read_back: true,
                bookkeeping: true,
                ..job(merchant_id, false, false)
            };
            let (business, business_answer) = Queued::new(job(merchant_id, false, false), None);
            let (bookkeeping, bookkeeping_answer) = Queued::new(bookkeeping, None);
            let mut batch: Vec<Box<dyn Job>> = vec![business, bookkeeping];
            let ctx = Context::default();
            let ran = run_batch(&t.store, &ctx, &handoff, &mut batch, true);
            let ran = ran.await.unwrap();
            for job in batch {
                job.finish(Ok(()));
            }
            let business = business_answer.await.unwrap().unwrap();
            let bookkeeping = bookkeeping_answer.await.unwrap().unwrap();
            let handed: Vec<EventId> = std::iter::from_fn(|| fresh.try_recv().ok())
                .map(|handed| handed.event.id)
                .collect();
            assert_eq!(handed, vec![business], "{}", t.engine);
            // The bookkeeping's own event was written by its read, and is claimed as usual.
            assert!(ran.events_due, "{}", t.engine);
            let claimed = t
                .store
                .claim_due_events("w2", Utc::now(), Duration::from_secs(60), 10);
            let ids: Vec<EventId> = claimed.await.unwrap().iter().map(|e| e.id).collect();
            assert_eq!(ids, vec![bookkeeping], "{}", t.engine);
        }
    }

    #[test]
    fn bookkeeping_runs_first_in_its_batch() {
        let merchant_id = MerchantId::generate();
        let kinds = [false, true, false, true];
        let mut batch: Vec<Box<dyn Job>> = kinds
            .into_iter()
            .map(|bookkeeping| {
                let command = AppendEvent {
                    bookkeeping,
                    ..job(merchant_id, false, false)
                };
                let (job, _answer) = Queued::new(command, None);
                job as Box<dyn Job>
            })
            .collect();
        bookkeeping_first(&mut batch);
        let order: Vec<bool> = batch.iter().map(|job| job.bookkeeping()).collect();
        assert_eq!(order, vec![true, true, false, false]);
    }

    /// Forms batches of `commands` every `gap` and says whether the last one expects company.
    fn pace_after(gap: Duration, commands: usize, linger: Duration) -> bool {
        let mut pace = Pace::default();
        let start = Instant::now();
        let mut expects = false;
        for i in 0..32u32 {
            expects = pace.expects_company(start + gap * i, commands, linger);
        }
        expects
    }

    #[test]
    fn a_batch_waits_for_company_only_when_commands_come_often() {
        let linger = Duration::from_micros(500);
        assert!(
            !Pace::default().expects_company(Instant::now(), 1, linger),
            "the first batch has no pace to go by"
        );
        // 2,500 commands/s: one per 400 us, so one more is expected within the linger.
        assert!(pace_after(Duration::from_micros(400), 1, linger));
        assert!(pace_after(Duration::from_millis(2), 8, linger));
        // 100 commands/s: waiting would only add latency.
        assert!(!pace_after(Duration::from_millis(10), 1, linger));
        assert!(!pace_after(Duration::from_micros(400), 1, Duration::ZERO));
    }

    #[test]
    fn batches_go_without_savepoints_only_while_refusals_are_rare() {
        let ran = |commands, refused| BatchRan {
            commands,
            refused,
            events_due: false,
        };
        let mut refusals = Refusals::default();
        assert!(refusals.none_expected(), "a new writer expects none");
        refusals.record(&ran(10, true));
        assert!(!refusals.none_expected(), "a refusal was just seen");
        for _ in 0..6 {
            refusals.record(&ran(10, false));
        }
        assert!(!refusals.none_expected(), "60 commands are not yet quiet");
        refusals.record(&ran(10, false));
        assert!(refusals.none_expected());
        refusals.record(&ran(3, true));
        assert!(!refusals.none_expected());
    }

    #[test]
    fn the_pace_follows_traffic_that_slows_down() {
        let linger = Duration::from_micros(500);
        let mut pace = Pace::default();
        let mut now = Instant::now();
        for _ in 0..32 {
            now += Duration::from_micros(200);
            pace.expects_company(now, 1, linger);
        }
        let mut expects = true;
        for _ in 0..32 {
            now += Duration::from_millis(20);
            expects = pace.expects_company(now, 1, linger);
        }
        assert!(!expects, "a burst long past does not keep batches waiting");
    }
}

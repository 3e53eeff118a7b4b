//! Recording delivery attempts in batches. Each delivery ends by recording its attempt and
//! the event's next state; as a writer command of its own, that costs a savepoint and a slot
//! in the writer's serial loop per notification, on the loop that commits payments. Instead
//! deliveries hand their records to one task, which writes whatever has finished since its
//! last write as a single [`RecordAttempts`] command and answers each delivery with its own
//! outcome once the batch has committed.

use std::sync::Arc;

use bayar_core::commands::RecordAttempts;
use bayar_core::outbox::{AfterAttempt, Attempt};
use bayar_core::{Core, CoreError};
use tokio::sync::{mpsc, oneshot};

/// Most attempts in one command.
const MAX_BATCH: usize = 256;

/// Whether the attempt was recorded (`false`: the lease ran out and another worker has the
/// event), or why recording failed.
pub(super) type Recorded = Result<bool, Arc<CoreError>>;

/// One attempt waiting to be recorded, with where its outcome goes.
struct Pending {
    attempt: Attempt,
    then: AfterAttempt,
    reply: oneshot::Sender<Recorded>,
}

/// The deliveries' side; the task ends once every handle is dropped and the queue is empty.
pub(super) struct Recorder {
    queue: mpsc::UnboundedSender<Pending>,
}

impl Recorder {
    /// Starts the task recording `worker`'s attempts through `core`'s writer.
    pub(super) fn start(core: Core, worker: String) -> Recorder {
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(drain(core, worker, pending));
        Recorder { queue }
    }

    /// Records `attempt` and what follows it, with the next batch.
    pub(super) async fn record(&self, attempt: Attempt, then: AfterAttempt) -> Recorded {
        let (reply, outcome) = oneshot::channel();
        let stopped = || {
            Arc::new(CoreError::Store(
                bayar_core::store::StoreError::WriterStopped,
            ))
        };
        self.queue
            .send(Pending {
                attempt,
                then,
                reply,
            })
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

async fn drain(core: Core, worker: String, mut pending: mpsc::UnboundedReceiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while pending.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (attempts, replies): (Vec<_>, Vec<_>) = batch
            .drain(..)
            .map(|p| ((p.attempt, p.then), p.reply))
            .unzip();
        let command = RecordAttempts {
            worker: worker.clone(),
            attempts,
        };
        match core.run(command).await {
            Ok(recorded) => {
                for (reply, recorded) in replies.into_iter().zip(recorded) {
                    // A delivery that stopped waiting has nothing left to do with the answer.
                    let _ = reply.send(Ok(recorded));
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}

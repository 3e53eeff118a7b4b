//! The API log's write path. Every signed call leaves a record; writing each as a command of
//! its own would cost the writer a savepoint and an insert per call, on the same loop that
//! commits payments. Instead records queue here, and one task hands whatever has queued since
//! its last write to the writer as a single [`RecordApiCalls`] command: under load, one
//! multi-row insert per group commit, or per [`PACE`] where the log commits on its own. The
//! writer is the one for bookkeeping (see [`crate::writer::Command::bookkeeping`]).

use std::time::Duration;

use tokio::sync::mpsc;

use crate::commands::RecordApiCalls;
use crate::error::CoreError;
use crate::portal::ApiCall;
use crate::store::StoreError;
use crate::writer::Writer;

/// Records waiting to be written; a burst beyond this waits for room (the call has been
/// answered by then: only the logging task waits).
const QUEUE: usize = 16_384;

/// Most records in one command.
const MAX_BATCH: usize = 1_024;

/// Least time from one write's start to the next where the log's writer commits only
/// bookkeeping. Written as soon as they queue, calls arriving a few hundred per second would
/// each cost a commit of their own (an fsync, and on PostgreSQL the commit's work in the
/// server): more than the insert itself. The log is read by people, so holding records this
/// long costs nothing; a quiet log still writes at once. Where the log shares the payments'
/// commits (SQLite's one writer) it costs no commit of its own, and is not held.
pub(crate) const PACE: Duration = Duration::from_millis(10);

/// The sending side; the task ends when it is dropped (with the core), after writing what
/// was queued.
#[derive(Debug)]
pub(crate) struct ApiLogQueue {
    queue: mpsc::Sender<ApiCall>,
}

impl ApiLogQueue {
    /// Starts the task writing queued records through `writer`, one write per `pace` at
    /// most.
    pub(crate) fn start(writer: Writer, pace: Duration) -> ApiLogQueue {
        let (queue, records) = mpsc::channel(QUEUE);
        tokio::spawn(drain(writer, records, pace));
        ApiLogQueue { queue }
    }

    /// Queues `call`; it is written with the next batch.
    pub(crate) async fn push(&self, call: ApiCall) -> Result<(), CoreError> {
        self.queue
            .send(call)
            .await
            .map_err(|_| CoreError::Store(StoreError::WriterStopped))
    }
}

async fn drain(writer: Writer, mut records: mpsc::Receiver<ApiCall>, pace: Duration) {
    let mut calls = Vec::with_capacity(MAX_BATCH);
    while records.recv_many(&mut calls, MAX_BATCH).await > 0 {
        let next = tokio::time::Instant::now() + pace;
        let count = calls.len();
        let batch = RecordApiCalls {
            calls: std::mem::replace(&mut calls, Vec::with_capacity(MAX_BATCH)),
        };
        if let Err(e) = writer.run(batch).await {
            tracing::warn!(count, error = %e, "API log: calls could not be recorded");
        }
        if !pace.is_zero() {
            tokio::time::sleep_until(next).await;
        }
    }
}

//! The API log's write path. Every signed call leaves a record; writing each as a command of
//! its own would cost the writer a savepoint and an insert per call, on the same loop that
//! commits payments. Instead records queue here, and one task hands whatever has queued since
//! its last write to the writer as a single [`RecordApiCalls`] command: under load, one
//! multi-row insert per group commit. The writer is the one for bookkeeping (see
//! [`crate::writer::Command::bookkeeping`]).

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

/// The sending side; the task ends when it is dropped (with the core), after writing what
/// was queued.
#[derive(Debug)]
pub(crate) struct ApiLogQueue {
    queue: mpsc::Sender<ApiCall>,
}

impl ApiLogQueue {
    /// Starts the task writing queued records through `writer`.
    pub(crate) fn start(writer: Writer) -> ApiLogQueue {
        let (queue, records) = mpsc::channel(QUEUE);
        tokio::spawn(drain(writer, records));
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

async fn drain(writer: Writer, mut records: mpsc::Receiver<ApiCall>) {
    let mut calls = Vec::with_capacity(MAX_BATCH);
    while records.recv_many(&mut calls, MAX_BATCH).await > 0 {
        let count = calls.len();
        let batch = RecordApiCalls {
            calls: std::mem::replace(&mut calls, Vec::with_capacity(MAX_BATCH)),
        };
        if let Err(e) = writer.run(batch).await {
            tracing::warn!(count, error = %e, "API log: calls could not be recorded");
        }
    }
}

//! WAL checkpoints off the append path. SQLite's automatic checkpoint runs
//! inside the commit that crosses the threshold, so every few hundred
//! batches one commit would stall for the checkpoint's page copies and
//! fsyncs (about 20 ms here). The append connection turns it off and asks
//! this thread instead, whose `PASSIVE` checkpoints never block writers.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::SqliteStoreError;

/// Commits between checkpoint requests. With about 2 pages per append and
/// batches of tens of appends, this keeps the WAL near SQLite's default
/// threshold of 1,000 pages.
const COMMITS_PER_CHECKPOINT: u32 = 32;

/// The append connection's handle on the checkpoint thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    requests: mpsc::SyncSender<()>,
    commits: u32,
}

impl Checkpointer {
    /// Opens a connection on `path` and starts the thread; it ends when the
    /// `Checkpointer` is dropped.
    pub(crate) fn start(path: &Path) -> Result<Self, SqliteStoreError> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(5))?;
        let (requests, pending) = mpsc::sync_channel::<()>(1);
        std::thread::Builder::new()
            .name("chat-sqlite-checkpoint".to_owned())
            .spawn(move || {
                while pending.recv().is_ok() {
                    if let Err(error) =
                        connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::warn!(%error, "WAL checkpoint failed; the next one will retry");
                    }
                }
            })
            .map_err(sqlx::Error::Io)?;
        Ok(Self {
            requests,
            commits: 0,
        })
    }

    /// Counts a commit; every [`COMMITS_PER_CHECKPOINT`] asks for a checkpoint
    /// (dropped if one is already pending).
    pub(crate) fn committed(&mut self) {
        self.commits += 1;
        if self.commits >= COMMITS_PER_CHECKPOINT {
            self.commits = 0;
            let _ = self.requests.try_send(());
        }
    }
}

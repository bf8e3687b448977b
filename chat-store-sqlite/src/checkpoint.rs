//! WAL checkpoints off the append path, and a WAL that stays small.
//!
//! SQLite's automatic checkpoint runs inside the commit that crosses the
//! threshold, so every few hundred batches one commit would stall for the
//! whole checkpoint's page copies and fsyncs (about 20 ms here). The append
//! connection turns it off and asks this thread instead, whose `PASSIVE`
//! checkpoints never block writers.
//!
//! A checkpoint running beside a writer that never pauses never catches up
//! with it, though, and SQLite writes the WAL from its start again only when
//! a write transaction begins on a WAL whose every frame is in the database
//! file. Without a pause the WAL grew by every commit for as long as the
//! load lasted (870 MB for 50,000 messages), and every one of its pages was
//! a new page of the file for the kernel to allocate and zero (a third of
//! the commit's cost). So once the thread has copied what it could, the
//! append connection, between two of its own transactions, checkpoints the
//! few frames written meanwhile, once the WAL is [`RESTART_FRAMES`] long:
//! the next commit starts the WAL over.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::SqliteStoreError;

/// Commits between checkpoint requests. With about 2 pages per append and
/// batches of tens of appends, a checkpoint copies about SQLite's default
/// threshold of 1,000 pages.
const COMMITS_PER_CHECKPOINT: u32 = 32;

/// WAL frames (pages) past which the append connection finishes a
/// checkpoint itself so that the WAL starts over: 64 MiB of 4 KiB pages.
/// Finishing waits for two fsyncs (20 % of the sends/s when done at every
/// checkpoint), so it is done rarely;
/// the WAL's file keeps this size and its pages are written over in the
/// page cache, never allocated anew.
const RESTART_FRAMES: i64 = 16_384;

/// The append connection's handle on the checkpoint thread.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    requests: mpsc::SyncSender<()>,
    commits: u32,
    /// Set by the thread after a checkpoint of a WAL of at least
    /// [`RESTART_FRAMES`]: the append connection has only the frames written
    /// since to copy before the WAL can start over.
    caught_up: Arc<AtomicBool>,
}

impl Checkpointer {
    /// Opens a connection on `path` and starts the thread; it ends when the
    /// `Checkpointer` is dropped.
    pub(crate) fn start(path: &Path) -> Result<Self, SqliteStoreError> {
        Self::restarting_at(path, RESTART_FRAMES)
    }

    /// As [`Checkpointer::start`], starting the WAL over once it is
    /// `restart_frames` long.
    fn restarting_at(path: &Path, restart_frames: i64) -> Result<Self, SqliteStoreError> {
        let connection = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        connection.busy_timeout(Duration::from_secs(5))?;
        let (requests, pending) = mpsc::sync_channel::<()>(1);
        let caught_up = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&caught_up);
        std::thread::Builder::new()
            .name("chat-sqlite-checkpoint".to_owned())
            .spawn(move || {
                while pending.recv().is_ok() {
                    match checkpoint(&connection) {
                        Ok(frames) => {
                            if frames >= restart_frames {
                                done.store(true, Ordering::Release);
                            }
                        }
                        Err(error) => {
                            tracing::warn!(%error, "WAL checkpoint failed; the next one will retry");
                        }
                    }
                }
            })
            .map_err(sqlx::Error::Io)?;
        Ok(Self {
            requests,
            commits: 0,
            caught_up,
        })
    }

    /// Counts a commit made on `connection` (the append connection, between
    /// transactions); every [`COMMITS_PER_CHECKPOINT`] asks the thread for a
    /// checkpoint (dropped if one is already pending), and after the
    /// thread's checkpoint copies the rest on `connection` itself, so the
    /// next commit writes the WAL from its start.
    pub(crate) fn committed(&mut self, connection: &Connection) {
        if self.caught_up.swap(false, Ordering::AcqRel)
            && let Err(error) = checkpoint(connection).map(drop)
        {
            tracing::warn!(%error, "WAL checkpoint failed; the next one will retry");
        }
        self.commits += 1;
        if self.commits >= COMMITS_PER_CHECKPOINT {
            self.commits = 0;
            let _ = self.requests.try_send(());
        }
    }
}

/// Copies what it can of the WAL into the database file without blocking
/// anyone; returns the WAL's length in frames (-1 outside WAL mode).
fn checkpoint(connection: &Connection) -> Result<i64, rusqlite::Error> {
    connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends of 8 KiB rows, back to back, checkpointed as the writer does.
    #[test]
    fn the_wal_starts_over_under_writes_that_never_pause() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; \
                 CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL);",
            )
            .unwrap();
        let mut checkpointer = Checkpointer::restarting_at(&path, 64).unwrap();
        let wal = path.with_extension("db-wal");
        let mut largest = 0;
        for _ in 0..3_000 {
            connection
                .execute("INSERT INTO t (body) VALUES (zeroblob(8192))", [])
                .unwrap();
            checkpointer.committed(&connection);
            largest = largest.max(std::fs::metadata(&wal).unwrap().len());
        }
        // 3,000 commits of 3 pages each: 36 MB of WAL if it never started over.
        assert!(
            largest < 8 << 20,
            "the WAL grew to {largest} bytes; it should start over near 64 frames"
        );
    }
}

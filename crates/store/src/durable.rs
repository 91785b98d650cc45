//! Group fsync for SQLite: commits made one after another share the fsync that makes them
//! durable.
//!
//! SQLite has one writer at a time. With `synchronous=FULL` every `COMMIT` fsyncs the WAL while
//! it still holds the write lock, so writes (and every audited read, which appends to the audit
//! chain) are capped near one per fsync, about 1,400 a second here, whatever the load.
//!
//! Instead the connections run with `synchronous=NORMAL`, where a WAL `COMMIT` writes its frames
//! to the file without fsync (the database stays consistent; only durability waits). After its
//! `COMMIT` a transaction takes a ticket, gives the write turn to the next one, and waits until
//! the WAL file has been fsynced *after* its commit. One task at a time fsyncs on behalf of
//! every commit made before it started; those who queued behind it find their commit already
//! covered. So a commit is acknowledged only once it is on disk, as with `FULL`, while the
//! writer never waits for the disk and concurrent commits share one fsync.
//!
//! Why this holds: the WAL is append-mostly and its frames carry checksums; recovery replays
//! frames up to the last valid commit frame. `fdatasync` on any descriptor of the WAL file
//! flushes every page written before it began, header included. SQLite itself syncs the WAL
//! before each checkpoint and the database after it, and syncs the header when the WAL is
//! reused. If the WAL file is deleted and created again (the last connection closed, which
//! checkpoints it into the database first), a new descriptor is opened and the directory is
//! synced once so the new file's name is durable too.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::db::{DbError, DbResult};

/// The WAL file this process writes and how far it is known to be on disk.
#[derive(Debug)]
pub(crate) struct WalSync {
    wal: PathBuf,
    /// Commits made by this process's writer (the last ticket handed out).
    committed: AtomicU64,
    /// Every commit up to this ticket is on disk.
    synced: AtomicU64,
    /// fsync calls made (for tests and metrics).
    fsyncs: AtomicU64,
    /// The open WAL file and its inode, held by the one task fsyncing.
    file: tokio::sync::Mutex<Option<(File, u64)>>,
}

impl WalSync {
    /// For the database file at `db_path` (its WAL is `<db_path>-wal`).
    pub(crate) fn new(db_path: &Path) -> Arc<WalSync> {
        let mut wal = db_path.as_os_str().to_owned();
        wal.push("-wal");
        Arc::new(WalSync {
            wal: PathBuf::from(wal),
            committed: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            fsyncs: AtomicU64::new(0),
            file: tokio::sync::Mutex::new(None),
        })
    }

    /// Called right after a `COMMIT` returned, while the write turn is still held: the ticket
    /// that commit waits on.
    pub(crate) fn ticket(&self) -> u64 {
        self.committed.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// How many fsyncs have been made.
    pub(crate) fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    /// Returns once the commit holding `ticket` is on disk.
    pub(crate) async fn durable(&self, ticket: u64) -> DbResult<()> {
        if self.synced.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        let mut held = self.file.lock().await;
        // The task before us may have covered our commit while we waited.
        if self.synced.load(Ordering::SeqCst) >= ticket {
            return Ok(());
        }
        // Everything committed until now is in the file: one fsync covers it all.
        let upto = self.committed.load(Ordering::SeqCst);
        let wal = self.wal.clone();
        let open = held.take();
        let (res, file) = tokio::task::spawn_blocking(move || sync_wal(&wal, open))
            .await
            .map_err(|e| io_error(std::io::Error::other(e.to_string())))?;
        *held = file;
        res.map_err(io_error)?;
        self.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.synced.fetch_max(upto, Ordering::SeqCst);
        Ok(())
    }
}

fn io_error(e: std::io::Error) -> DbError {
    DbError::Sqlx(sqlx::Error::Io(e))
}

/// fsyncs the WAL, opening it again if it is not the file we hold (or we hold none). Gives
/// back the descriptor to keep.
fn sync_wal(wal: &Path, held: Option<(File, u64)>) -> (std::io::Result<()>, Option<(File, u64)>) {
    use std::os::unix::fs::MetadataExt;
    let current = match std::fs::metadata(wal) {
        Ok(m) => m.ino(),
        // No WAL: every commit was checkpointed into the database (and synced) when the last
        // connection closed, which is the only time SQLite removes it.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (Ok(()), None),
        Err(e) => return (Err(e), held),
    };
    let (file, ino) = match held {
        Some((f, ino)) if ino == current => (f, ino),
        _ => {
            let f = match File::open(wal) {
                Ok(f) => f,
                Err(e) => return (Err(e), None),
            };
            // A new WAL file: its directory entry must be durable too.
            if let Some(dir) = wal.parent().filter(|d| !d.as_os_str().is_empty())
                && let Err(e) = File::open(dir).and_then(|d| d.sync_all())
            {
                return (Err(e), None);
            }
            (f, current)
        }
    };
    let res = file.sync_data();
    (res, Some((file, ino)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tickets_already_covered_need_no_fsync_and_a_missing_wal_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let s = WalSync::new(&db);
        // No WAL file yet: nothing to sync, and no error.
        let t = s.ticket();
        s.durable(t).await.unwrap();
        assert_eq!(s.fsyncs(), 1);
        std::fs::write(dir.path().join("x.db-wal"), b"frames").unwrap();
        let (a, b) = (s.ticket(), s.ticket());
        s.durable(b).await.unwrap();
        assert_eq!(s.fsyncs(), 2);
        // `a` came before `b`, whose fsync covered it.
        s.durable(a).await.unwrap();
        assert_eq!(s.fsyncs(), 2);
        // The WAL replaced by a new file: the next sync opens the new one.
        std::fs::remove_file(dir.path().join("x.db-wal")).unwrap();
        std::fs::write(dir.path().join("x.db-wal"), b"new frames").unwrap();
        let c = s.ticket();
        s.durable(c).await.unwrap();
        assert_eq!(s.fsyncs(), 3);
    }
}

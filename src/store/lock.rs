//! One daemon per SQLite store: the daemon holds an exclusive `flock` on the database
//! file itself for its life. The lock is on the file, not on a name: a second daemon
//! that reaches the same database through a symlink, another relative path or a hard
//! link finds it taken, and there is no lock file to delete or leave behind. (SQLite's
//! own locks are POSIX record locks, which `flock` does not touch.) `status` asks for
//! a shared lock to learn whether a daemon holds the store.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};

/// Takes the store's lock, creating the database file (owner-only) if it is new. A
/// `status` that holds the shared lock for a moment is waited for, briefly.
pub fn hold(db: &Path) -> anyhow::Result<File> {
    if let Some(dir) = db.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("while creating {}", dir.display()))?;
    }
    if !db.exists() {
        super::sqlite::create_private(db)?;
    }
    let file = File::open(db).with_context(|| format!("while opening {}", db.display()))?;
    if !file.metadata()?.is_file() {
        bail!(
            "{} is not a file: the SQLite store needs a file of its own",
            db.display()
        );
    }
    for attempt in 0..20 {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if attempt < 19 => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(TryLockError::WouldBlock) => break,
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("while locking {}", db.display()));
            }
        }
    }
    bail!(
        "another mentord is already running on the store {}; SQLite cannot share one \
         program between daemons (several instances need the PostgreSQL store)",
        db.display()
    )
}

/// Whether a daemon holds the store at `db` (false when there is no store).
///
/// Only for a process that has no SQLite connection to `db` open yet (`status` asks
/// before it opens the store): closing the descriptor this opens drops every POSIX
/// record lock the process holds on the file, SQLite's own included (SQLite's "How To
/// Corrupt An SQLite Database File" §2.2). Inside the daemon the answer is known: it
/// holds the lock.
pub fn is_held(db: &Path) -> bool {
    let Ok(file) = File::open(db) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(TryLockError::WouldBlock) => true,
        Err(TryLockError::Error(_)) => false,
    }
}

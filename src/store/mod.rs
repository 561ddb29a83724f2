//! Durable storage of the world, shared by every process that opens it.
//!
//! The store is an ordered change log plus the state it leads to. Each
//! process keeps the world in memory as its fast read path and follows the
//! log: before it answers a request it catches up with every batch committed
//! since its [`Position`] (by any process), and it writes inside a
//! [`WriteSession`], which holds the store's write lock (so every process's
//! batches take one order), hands over the batches missed since, and commits
//! new batches with their log entries, each commit atomic and durable; the
//! commits of one session are queued, so a process may prepare the next
//! while the last one syncs to disk.

use std::future::Future;
use std::pin::Pin;

use crate::domain::{Change, InstanceAction, World};

pub mod memory;
pub mod postgres;
pub mod sqlite;

pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// How far the log has been applied: the sequence number of the last batch
/// (0: none yet).
pub type Position = u64;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("store I/O failed: {0}")]
    Io(String),
    /// The backend did not answer within the configured time.
    #[error("store did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("store closed")]
    Closed,
}

/// A boxed future of a store result.
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>;

/// The whole state at a position of the log.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub world: World,
    pub position: Position,
}

/// One committed batch of the log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Batch {
    pub seq: Position,
    pub changes: Vec<Change>,
}

/// What a process behind the log needs to be current.
#[derive(Debug)]
pub enum Catchup {
    /// The batches after its position, in order (empty: it is current).
    Batches(Vec<Batch>),
    /// The log no longer reaches back that far: the whole state instead.
    Reload(Box<Snapshot>),
}

/// How a reader learns the log's head.
pub enum Head {
    /// No other process can write: what this process applied is current.
    Own,
    /// Known at once (shared memory on this host).
    Known(Position),
    /// A round trip: [`Store::ask_head`].
    Ask,
}

pub trait Store: Send + Sync + 'static {
    /// The backend's name, for logs (`memory`, `sqlite`, `postgres`).
    fn name(&self) -> &'static str;
    /// Read the whole state and its position.
    fn load(&self) -> StoreFuture<Snapshot>;
    /// The log's head (see [`Head`]).
    fn head(&self) -> Head;
    /// The head by a round trip, for [`Head::Ask`]: at least as new as any
    /// commit acknowledged before the call.
    fn ask_head(&self) -> StoreFuture<Position> {
        Box::pin(std::future::ready(Err(StoreError::Closed)))
    }
    /// What was committed after `since`.
    fn catch_up(&self, since: Position) -> StoreFuture<Catchup>;
    /// Take the store's write lock (waiting for other processes' sessions),
    /// with what was committed after `since`. Dropping the session releases
    /// the lock once its queued commits are answered.
    fn begin(&self, since: Position) -> StoreFuture<Box<dyn WriteSession>>;
    /// A cheap round trip through the backend (readiness).
    fn ping(&self) -> StoreFuture<()>;
    /// Whether commits keep nothing and no other process shares the store
    /// (memory): a write is done once applied to the world.
    fn volatile(&self) -> bool {
        false
    }
    /// Every instance action of a server, oldest first, as committed
    /// (memory keeps only the newest); `None`: the store keeps none beyond
    /// what the process has in memory.
    fn instance_actions(&self, _server_id: &str) -> StoreFuture<Option<Vec<InstanceAction>>> {
        Box::pin(std::future::ready(Ok(None)))
    }
}

/// The store's write lock, held; see [`Store::begin`].
pub trait WriteSession: Send {
    /// The batches committed by others since the session's `since`.
    fn missed(&mut self) -> Catchup;
    /// Queue `batches` after the commits queued before: appended to the log
    /// in order and applied to the state, atomically and durably. Answers
    /// the position of the last one. Once a commit fails, every later one
    /// of the session fails too (they may depend on it).
    fn commit(&mut self, batches: Vec<Vec<Change>>) -> StoreFuture<Position>;
}

/// How many batches the log keeps behind its head, at least; a process
/// further behind reloads the whole state instead.
pub const LOG_KEPT: u64 = 10_000;

/// The log's oldest batches are deleted (always a prefix: the log stays
/// contiguous) once every `LOG_TRIM_EVERY` batches, not at every commit:
/// on PostgreSQL that delete walks the index through every dead row a
/// vacuum has not removed yet, so with autovacuum off (or behind) each
/// commit cost more than the last. The log holds from `LOG_KEPT` to
/// `LOG_KEPT + LOG_TRIM_EVERY` batches.
pub const LOG_TRIM_EVERY: u64 = 64;

/// The batches a commit that moved the head from `before` to `after`
/// deletes from the log, if it does: `(above, upto)`, the batches after
/// `above` up to `upto`. Every batch up to `above` went in an earlier trim
/// (the one that entered `above`'s block of `LOG_TRIM_EVERY`), so a delete
/// bounded below starts at the live rows, not at the dead ones before them.
pub fn log_trim(before: Position, after: Position) -> Option<(Position, Position)> {
    let from = before.saturating_sub(LOG_KEPT);
    let to = after.saturating_sub(LOG_KEPT);
    (to / LOG_TRIM_EVERY != from / LOG_TRIM_EVERY)
        .then_some((from / LOG_TRIM_EVERY * LOG_TRIM_EVERY, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Commit by commit, the log keeps between LOG_KEPT and LOG_KEPT +
    /// LOG_TRIM_EVERY batches, and each trim deletes a prefix, from a bound
    /// at or below the oldest batch and near it.
    #[test]
    fn the_log_is_trimmed_every_so_often_and_keeps_its_window() {
        let mut oldest = 1; // the oldest batch still in the log
        let mut head = 0;
        for step in [1, 1, 3, 64, 1, 200, 1, 63, 1, 5000, 1, 12_000, 7] {
            for _ in 0..300 {
                let after = head + step;
                if let Some((above, upto)) = log_trim(head, after) {
                    assert!(above < oldest, "a trim reaches the oldest batch");
                    assert!(upto - above < step + LOG_TRIM_EVERY, "and no further");
                    assert!(upto + 1 >= oldest, "a trim never leaves a gap");
                    oldest = upto + 1;
                }
                head = after;
                let kept = head + 1 - oldest;
                assert!(kept >= LOG_KEPT.min(head), "{head}: {kept}");
                assert!(kept <= LOG_KEPT + LOG_TRIM_EVERY, "{head}: {kept}");
            }
        }
    }
}

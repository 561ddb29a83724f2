//! Durable storage of the world. The service keeps the world in memory for
//! reads; a store makes each batch of [`Change`]s durable before the call
//! that made it is answered.

use std::future::Future;
use std::pin::Pin;

use crate::domain::{Change, World};

pub mod memory;
pub mod sqlite;

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("store I/O failed: {0}")]
    Io(String),
    /// An earlier batch failed; batches queued behind it are refused until
    /// the state is reloaded, since they may depend on it.
    #[error("store refused the batch after an earlier failure")]
    Poisoned,
    #[error("store closed")]
    Closed,
}

/// A boxed future of a store result.
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send>>;

pub trait Store: Send + Sync + 'static {
    /// The backend's name, for logs (`memory`, `sqlite`).
    fn name(&self) -> &'static str;
    /// Read the whole state.
    fn load(&self) -> StoreFuture<World>;
    /// Queue a batch. Batches become durable in submission order, each
    /// atomically; the returned future resolves when this one is.
    fn submit(&self, changes: Vec<Change>) -> StoreFuture<()>;
    /// After a failure: clear it and re-read the state, once every batch
    /// queued before this call has been answered. `None`: the store keeps no
    /// copy of the state (memory), so the world in memory is the state and
    /// must be kept, not replaced.
    fn recover(&self) -> StoreFuture<Option<World>>;
    /// A cheap round trip through the backend (readiness): answers once the
    /// store can serve, without reading the state.
    fn ping(&self) -> StoreFuture<()>;
}

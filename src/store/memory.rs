//! The throwaway backend: nothing outlives the process, and no other
//! process can share it, so the process's own world is always current.

use std::future::ready;

use super::{Catchup, Head, Position, Snapshot, Store, StoreFuture, WriteSession};
use crate::domain::Change;

#[derive(Debug, Default)]
pub struct MemoryStore;

impl Store for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn load(&self) -> StoreFuture<Snapshot> {
        // Loaded once, at start-up; nothing is kept to reload.
        Box::pin(ready(Ok(Snapshot::default())))
    }
    fn head(&self) -> Head {
        Head::Own
    }
    fn catch_up(&self, _since: Position) -> StoreFuture<Catchup> {
        Box::pin(ready(Ok(Catchup::Batches(Vec::new()))))
    }
    fn begin(&self, since: Position) -> StoreFuture<Box<dyn WriteSession>> {
        let session: Box<dyn WriteSession> = Box::new(MemorySession { since });
        Box::pin(ready(Ok(session)))
    }
    fn ping(&self) -> StoreFuture<()> {
        Box::pin(ready(Ok(())))
    }
    fn volatile(&self) -> bool {
        true
    }
}

/// The process's own position is the head: no other writer exists.
struct MemorySession {
    since: Position,
}

impl WriteSession for MemorySession {
    fn missed(&mut self) -> Catchup {
        Catchup::Batches(Vec::new())
    }
    fn commit(&mut self, batches: Vec<Vec<Change>>) -> StoreFuture<Position> {
        self.since += batches.len() as Position;
        Box::pin(ready(Ok(self.since)))
    }
}

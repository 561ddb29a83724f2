//! The throwaway backend: nothing outlives the process.

use std::future::ready;

use super::{Store, StoreFuture};
use crate::domain::{Change, World};

#[derive(Debug, Default)]
pub struct MemoryStore;

impl Store for MemoryStore {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn load(&self) -> StoreFuture<World> {
        Box::pin(ready(Ok(World::default())))
    }
    fn submit(&self, _changes: Vec<Change>) -> StoreFuture<()> {
        Box::pin(ready(Ok(())))
    }
    fn recover(&self) -> StoreFuture<Option<World>> {
        // Nothing is kept here: an empty world would wipe the real one.
        Box::pin(ready(Ok(None)))
    }
    fn ping(&self) -> StoreFuture<()> {
        Box::pin(ready(Ok(())))
    }
}

//! The state service: the world in memory behind one lock, every change made
//! durable by the store before the caller hears of it.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;

use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::RwLock;

use crate::domain::ids::IdSource;
use crate::domain::world::Txn;
use crate::domain::{Change, World};
use crate::store::{Store, StoreError};

struct Guarded {
    world: World,
    /// Bumped on every reload after a store failure; a failure seen under an
    /// older generation has already been dealt with.
    generation: u64,
}

pub struct Cloud {
    state: RwLock<Guarded>,
    store: Arc<dyn Store>,
    ids: IdSource,
    /// How long writes wait for durability (seconds).
    commit_seconds: Histogram,
}

impl Cloud {
    /// Load the store's state; random ids.
    pub async fn open(store: Arc<dyn Store>) -> Result<Self, StoreError> {
        Self::open_with(store, IdSource::random()).await
    }

    /// Load the store's state; new ids from `ids`.
    pub async fn open_with(store: Arc<dyn Store>, ids: IdSource) -> Result<Self, StoreError> {
        let world = store.load().await?;
        Ok(Cloud {
            state: RwLock::new(Guarded {
                world,
                generation: 0,
            }),
            store,
            ids,
            commit_seconds: crate::metrics::latency_histogram(),
        })
    }

    /// Where new ids come from.
    pub fn ids(&self) -> &IdSource {
        &self.ids
    }

    /// The commit-latency histogram, for the metrics registry.
    pub fn commit_histogram(&self) -> &Histogram {
        &self.commit_seconds
    }

    pub fn store_name(&self) -> &'static str {
        self.store.name()
    }

    /// Whether the store answers a round trip within `timeout` (readiness).
    pub async fn ping(&self, timeout: std::time::Duration) -> Result<(), StoreError> {
        match tokio::time::timeout(timeout, self.store.ping()).await {
            Ok(answer) => answer,
            Err(_) => Err(StoreError::Io(format!("no answer within {timeout:?}"))),
        }
    }

    /// Run `f` over the current world.
    pub async fn read<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        let guard = self.state.read().await;
        f(&guard.world)
    }

    /// Run `f` as one transaction: its changes are visible at once to later
    /// calls and durable before this returns. `f` may return an error and
    /// still have changes (an instance action recording the failure). If `f`
    /// panics, its changes are undone and nothing reaches the store, then the
    /// panic goes on (the HTTP layer answers it with a 500).
    pub async fn write<R>(&self, f: impl FnOnce(&mut Txn) -> R) -> Result<R, StoreError> {
        let (result, ack, generation) = {
            let mut guard = self.state.write().await;
            let mut txn = guard.world.txn(&self.ids);
            // Unwind safety: whatever `f` changed in the world is rolled back
            // below; nothing else here outlives the panic.
            let result = match catch_unwind(AssertUnwindSafe(|| f(&mut txn))) {
                Ok(result) => result,
                Err(panic) => {
                    txn.rollback();
                    drop(guard);
                    resume_unwind(panic);
                }
            };
            let changes = txn.into_changes();
            // Submitted under the lock, so the store sees batches in the
            // order they were applied.
            let ack = (!changes.is_empty()).then(|| self.store.submit(changes));
            (result, ack, guard.generation)
        };
        if let Some(ack) = ack {
            let started = std::time::Instant::now();
            let durable = ack.await;
            self.commit_seconds.observe(started.elapsed().as_secs_f64());
            if let Err(error) = durable {
                self.recover(generation).await;
                return Err(error);
            }
        }
        Ok(result)
    }

    /// Seed an empty world: all or nothing.
    pub async fn seed_if_empty(&self, changes: Vec<Change>) -> Result<bool, StoreError> {
        self.write(|txn| {
            if !txn.world().is_empty() {
                return false;
            }
            for change in changes {
                txn.put(change);
            }
            true
        })
        .await
    }

    /// Discard what the failed batch (and those queued behind it) changed in
    /// memory by re-reading the store.
    async fn recover(&self, failed_generation: u64) {
        let mut guard = self.state.write().await;
        if guard.generation != failed_generation {
            return;
        }
        match self.store.recover().await {
            Ok(Some(world)) => {
                guard.world = world;
                guard.generation += 1;
                tracing::warn!("state reloaded from the store after a failed commit");
            }
            Ok(None) => {
                // The store keeps no copy: memory is the state, and stays.
                guard.generation += 1;
                tracing::warn!("the store holds no state to reload; memory kept as it is");
            }
            Err(error) => tracing::error!(%error, "could not reload state after a failed commit"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::domain::{Server, VmState};
    use crate::store::StoreFuture;

    /// Counts batches; fails them while `failing`; keeps no copy.
    #[derive(Default)]
    struct Counting {
        batches: AtomicUsize,
        failing: AtomicBool,
    }

    impl Store for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn load(&self) -> StoreFuture<World> {
            Box::pin(async { Ok(World::default()) })
        }
        fn submit(&self, _changes: Vec<Change>) -> StoreFuture<()> {
            self.batches.fetch_add(1, Ordering::SeqCst);
            let failing = self.failing.load(Ordering::SeqCst);
            Box::pin(async move {
                if failing {
                    Err(StoreError::Io("disk full".into()))
                } else {
                    Ok(())
                }
            })
        }
        fn recover(&self) -> StoreFuture<Option<World>> {
            Box::pin(async { Ok(None) })
        }
        fn ping(&self) -> StoreFuture<()> {
            Box::pin(async { Ok(()) })
        }
    }

    fn server(id: &str) -> Server {
        Server {
            id: id.into(),
            name: String::new(),
            project_id: "p".into(),
            user_id: "u".into(),
            vm_state: VmState::Active,
            task_state: None,
            locked: false,
            launched: true,
            details: Default::default(),
        }
    }

    async fn cloud() -> (Cloud, Arc<Counting>) {
        let store = Arc::new(Counting::default());
        let cloud = Cloud::open(store.clone()).await.unwrap();
        cloud
            .write(|txn| txn.put(Change::PutServer(server("s1"))))
            .await
            .unwrap();
        (cloud, store)
    }

    #[tokio::test]
    async fn a_panic_leaves_the_world_as_it_was_and_submits_nothing() {
        let (cloud, store) = cloud().await;
        let cloud = Arc::new(cloud);
        let before = cloud.read(|world| world.clone()).await;
        let batches = store.batches.load(Ordering::SeqCst);
        let writer = cloud.clone();
        let write = tokio::spawn(async move {
            writer
                .write(|txn| {
                    let mut changed = server("s1");
                    changed.locked = true;
                    txn.put(Change::PutServer(changed));
                    txn.put(Change::PutServer(server("s2")));
                    txn.next_seq();
                    panic!("half-way");
                })
                .await
        });
        assert!(write.await.unwrap_err().is_panic());
        let after = cloud.read(|world| world.clone()).await;
        assert_eq!(after.dump(), before.dump());
        assert_eq!(after, before);
        assert_eq!(store.batches.load(Ordering::SeqCst), batches);
        // The lock was released: writes go on.
        cloud
            .write(|txn| txn.put(Change::PutServer(server("s3"))))
            .await
            .unwrap();
        assert!(cloud.read(|world| world.server("s3").is_some()).await);
    }

    #[tokio::test]
    async fn an_error_keeps_its_changes() {
        let (cloud, store) = cloud().await;
        let batches = store.batches.load(Ordering::SeqCst);
        let result = cloud
            .write(|txn| {
                txn.put(Change::PutServer(server("s2")));
                Err::<(), _>("refused after recording")
            })
            .await
            .unwrap();
        assert!(result.is_err());
        assert!(cloud.read(|world| world.server("s2").is_some()).await);
        assert_eq!(store.batches.load(Ordering::SeqCst), batches + 1);
    }

    /// A store with no copy to reload from cannot wipe the world on recovery.
    #[tokio::test]
    async fn a_failed_commit_to_a_store_without_a_copy_keeps_memory() {
        let (cloud, store) = cloud().await;
        store.failing.store(true, Ordering::SeqCst);
        let failed = cloud
            .write(|txn| txn.put(Change::PutServer(server("s2"))))
            .await;
        assert!(matches!(failed, Err(StoreError::Io(_))));
        assert!(cloud.read(|world| world.server("s1").is_some()).await);
    }
}

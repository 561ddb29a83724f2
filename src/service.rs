//! The state service: the world in memory as the fast read path, kept
//! current with the store's change log (which every process sharing the
//! store follows), every change durable before the caller hears of it.
//!
//! - A read first makes sure this process has applied every batch any
//!   process committed before the read began ([`Cloud::read`]).
//! - Writes go through one committer task per process: it takes the
//!   store's write lock, applies what other processes committed meanwhile,
//!   lets every writer waiting at that moment run its transaction on the
//!   world, and commits their batches together (one disk sync for all).
//!   A volatile store (memory) has nothing to commit: its writes only take
//!   the world's lock.

use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::{mpsc, oneshot, watch, Mutex, RwLock};

use crate::domain::ids::IdSource;
use crate::domain::world::Txn;
use crate::domain::{Change, World};
use crate::store::{Catchup, Head, Position, Store, StoreError};

tokio::task_local! {
    /// Whether the request this task serves has synced with the log: its
    /// later reads need not ask again (one round trip per request on
    /// PostgreSQL, not one per read: token, fault rules, handler).
    static REQUEST_SYNCED: Cell<bool>;
}

/// Run `request` (one request's handling) so that its reads sync with the
/// log once. Reading as of the first read is still reading as of a moment
/// within the request; this process's own writes are always in its world.
pub fn one_sync_per_request<F: Future>(request: F) -> impl Future<Output = F::Output> {
    REQUEST_SYNCED.scope(Cell::new(false), request)
}

/// How long a request waits for the store by default.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(5);

struct Guarded {
    world: World,
}

/// The outcome of a group's commit, for each of its writers.
type GroupResult = Option<Result<Position, StoreError>>;

/// A writer's turn in an open write session.
struct Permit {
    /// Where the writer puts its batch, under the world's lock (so the
    /// batches keep the order they were applied in).
    batches: Arc<StdMutex<Vec<Vec<Change>>>>,
    /// Dropped once the writer is done (or gone).
    _done: oneshot::Sender<()>,
    /// The group's commit.
    committed: watch::Receiver<GroupResult>,
}

struct Shared {
    state: RwLock<Guarded>,
    /// The last batch of the log applied to the world and committed.
    applied: AtomicU64,
    /// While this process holds the write lock: the last batch it applied,
    /// committed or still in flight (no other process can write then).
    leased_upto: AtomicU64,
    /// The world may hold changes that a failed commit did not make
    /// durable: reload before serving from it.
    stale: AtomicBool,
    /// Held while the position moves (a write session, a catch-up, a
    /// reload), so that no batch is applied twice.
    log: Mutex<()>,
    store: Arc<dyn Store>,
    ids: IdSource,
    timeout: Duration,
    /// Instance actions per server kept in memory.
    actions_in_memory: usize,
    /// How long writes wait for durability (seconds).
    commit_seconds: Histogram,
}

pub struct Cloud {
    shared: Arc<Shared>,
    writers: mpsc::UnboundedSender<oneshot::Sender<Result<Permit, StoreError>>>,
    heads: mpsc::UnboundedSender<oneshot::Sender<Result<Position, StoreError>>>,
}

impl Cloud {
    /// Load the store's state; random ids.
    pub async fn open(store: Arc<dyn Store>) -> Result<Self, StoreError> {
        Self::open_with(store, IdSource::random()).await
    }

    /// Load the store's state; new ids from `ids`.
    pub async fn open_with(store: Arc<dyn Store>, ids: IdSource) -> Result<Self, StoreError> {
        Self::open_configured(
            store,
            ids,
            DEFAULT_STORE_TIMEOUT,
            crate::domain::world::DEFAULT_ACTIONS_IN_MEMORY,
        )
        .await
    }

    /// Load the store's state; new ids from `ids`; each wait for the store
    /// bounded by `timeout` (then the caller gets [`StoreError::Timeout`]);
    /// at most `actions_in_memory` instance actions per server in memory.
    pub async fn open_configured(
        store: Arc<dyn Store>,
        ids: IdSource,
        timeout: Duration,
        actions_in_memory: usize,
    ) -> Result<Self, StoreError> {
        // Not bounded by the request timeout: a large store takes longer to
        // load than a request may wait (the backends bound their connects).
        let mut snapshot = store.load().await?;
        snapshot.world.set_actions_in_memory(actions_in_memory);
        let shared = Arc::new(Shared {
            applied: AtomicU64::new(snapshot.position),
            leased_upto: AtomicU64::new(0),
            state: RwLock::new(Guarded {
                world: snapshot.world,
            }),
            stale: AtomicBool::new(false),
            log: Mutex::new(()),
            store,
            ids,
            timeout,
            actions_in_memory,
            commit_seconds: crate::metrics::latency_histogram(),
        });
        let (writers, waiting) = mpsc::unbounded_channel();
        tokio::spawn(committer(shared.clone(), waiting));
        let (heads, asking) = mpsc::unbounded_channel();
        tokio::spawn(head_asker(shared.clone(), asking));
        Ok(Cloud {
            shared,
            writers,
            heads,
        })
    }

    /// Where new ids come from.
    pub fn ids(&self) -> &IdSource {
        &self.shared.ids
    }

    /// The commit-latency histogram, for the metrics registry.
    pub fn commit_histogram(&self) -> &Histogram {
        &self.shared.commit_seconds
    }

    pub fn store_name(&self) -> &'static str {
        self.shared.store.name()
    }

    /// Whether the store answers a round trip within `timeout` (readiness).
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        bounded(timeout, self.shared.store.ping()).await
    }

    /// Run `f` over the current world: one that holds every change any
    /// process had acknowledged when this call began.
    pub async fn read<R>(&self, f: impl FnOnce(&World) -> R) -> Result<R, StoreError> {
        self.sync().await?;
        let guard = self.shared.state.read().await;
        Ok(f(&guard.world))
    }

    /// [`Self::read`] for the instance-action lookups of one server: when
    /// memory no longer holds all its actions (the oldest are dropped
    /// beyond `actions_in_memory`) and the store keeps them, `f` runs over
    /// a world of that server with every action from the store.
    pub async fn read_with_actions<R>(
        &self,
        server_id: &str,
        f: impl FnOnce(&World) -> R,
    ) -> Result<R, StoreError> {
        self.sync().await?;
        {
            let guard = self.shared.state.read().await;
            if guard.world.actions_complete(server_id) {
                return Ok(f(&guard.world));
            }
        }
        let stored = bounded(
            self.shared.timeout,
            self.shared.store.instance_actions(server_id),
        )
        .await?;
        let guard = self.shared.state.read().await;
        let Some(actions) = stored else {
            // Nothing beyond memory (the memory store's retention).
            return Ok(f(&guard.world));
        };
        let mut world = World::default();
        world.set_actions_in_memory(usize::MAX);
        if let Some(server) = guard.world.server(server_id) {
            world.apply(Change::PutServer(server.clone()));
        } else if let Some(server) = guard.world.deleted_server(server_id) {
            world.apply(Change::PutServer(server.clone()));
            world.apply(Change::SoftDeleteServer(server.id.clone()));
        }
        drop(guard);
        for action in actions {
            world.apply(Change::PutAction(action));
        }
        Ok(f(&world))
    }

    /// Run `f` over the world as this process has it, without asking the
    /// store (start-up, diagnostics).
    pub async fn read_local<R>(&self, f: impl FnOnce(&World) -> R) -> R {
        let guard = self.shared.state.read().await;
        f(&guard.world)
    }

    /// Catch up with the log's head as of now.
    async fn sync(&self) -> Result<(), StoreError> {
        let shared = &self.shared;
        if !shared.stale.load(Ordering::Acquire) {
            let synced = REQUEST_SYNCED.try_with(Cell::get).unwrap_or(false)
                || match shared.store.head() {
                    Head::Own => true,
                    Head::Known(head) => head <= current(shared),
                    Head::Ask => false,
                };
            if synced {
                let _ = REQUEST_SYNCED.try_with(|synced| synced.set(true));
                return Ok(());
            }
        }
        // The rare way (a reload, a catch-up, a round trip) is boxed: every
        // read's future stays small, and every layer above it moves it.
        Box::pin(self.sync_from_store()).await
    }

    /// [`Self::sync`] when the world may be behind the store.
    async fn sync_from_store(&self) -> Result<(), StoreError> {
        let shared = &self.shared;
        if shared.stale.load(Ordering::Acquire) {
            let _log = shared.log.lock().await;
            reload_if_stale(shared).await?;
        }
        if REQUEST_SYNCED.try_with(Cell::get).unwrap_or(false) {
            return Ok(());
        }
        self.sync_with_head().await?;
        // Outside a request's scope (tests, start-up) there is nothing to mark.
        let _ = REQUEST_SYNCED.try_with(|synced| synced.set(true));
        Ok(())
    }

    /// Catch up with the log's head as of now, whatever this request did.
    async fn sync_with_head(&self) -> Result<(), StoreError> {
        let shared = &self.shared;
        let head = match shared.store.head() {
            Head::Own => return Ok(()),
            Head::Known(head) => head,
            Head::Ask => {
                let (reply, answer) = oneshot::channel();
                self.heads.send(reply).map_err(|_| StoreError::Closed)?;
                bounded(shared.timeout, async {
                    answer.await.map_err(|_| StoreError::Closed)?
                })
                .await?
            }
        };
        if head <= current(shared) {
            return Ok(());
        }
        bounded(shared.timeout, async {
            let _log = shared.log.lock().await;
            reload_if_stale(shared).await?;
            let since = shared.applied.load(Ordering::Acquire);
            if since >= head {
                return Ok(());
            }
            let catchup = shared.store.catch_up(since).await?;
            let mut guard = shared.state.write().await;
            apply_catchup(shared, &mut guard, catchup);
            Ok(())
        })
        .await
    }

    /// Run `f` as one transaction: its changes are visible at once to later
    /// calls of this process, and durable (and visible to every process)
    /// before this returns. `f` may return an error and still have changes
    /// (an instance action recording the failure). If `f` panics, its
    /// changes are undone and nothing reaches the store, then the panic goes
    /// on (the HTTP layer answers it with a 500).
    pub async fn write<R>(&self, f: impl FnOnce(&mut Txn) -> R) -> Result<R, StoreError> {
        let started = Instant::now();
        let shared = &self.shared;
        if shared.store.volatile() {
            // Nothing to make durable, no other process: no turn from the
            // committer (two task switches each way), only the world's lock.
            let result = bounded(shared.timeout, async {
                let mut guard = shared.state.write().await;
                let (result, changes) = run_transaction(shared, &mut guard, f);
                if !changes.is_empty() {
                    // The position a commit of one batch would reach.
                    shared.applied.fetch_add(1, Ordering::AcqRel);
                }
                Ok(result)
            })
            .await?;
            shared
                .commit_seconds
                .observe(started.elapsed().as_secs_f64());
            return Ok(result);
        }
        // Boxed: a commit's wait would make every write's future large.
        Box::pin(self.write_durably(started, f)).await
    }

    /// [`Self::write`] through the committer, on a durable store.
    async fn write_durably<R>(
        &self,
        started: Instant,
        f: impl FnOnce(&mut Txn) -> R,
    ) -> Result<R, StoreError> {
        let shared = &self.shared;
        let (reply, turn) = oneshot::channel();
        self.writers.send(reply).map_err(|_| StoreError::Closed)?;
        bounded(shared.timeout, async move {
            let permit = turn.await.map_err(|_| StoreError::Closed)??;
            let result = {
                let mut guard = shared.state.write().await;
                let (result, changes) = run_transaction(shared, &mut guard, f);
                if !changes.is_empty() {
                    lock(&permit.batches).push(changes);
                }
                result
            };
            // Done: the committer may commit the group once all are.
            let Permit {
                mut committed,
                _done: done,
                ..
            } = permit;
            drop(done);
            let outcome = committed
                .wait_for(Option::is_some)
                .await
                .map_err(|_| StoreError::Closed)?
                .clone();
            outcome.expect("waited for")?;
            shared
                .commit_seconds
                .observe(started.elapsed().as_secs_f64());
            Ok(result)
        })
        .await
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
}

/// How far this process's world goes: what it applied and committed, or
/// while it holds the write lock, what it applied in its session.
fn current(shared: &Shared) -> Position {
    shared
        .applied
        .load(Ordering::Acquire)
        .max(shared.leased_upto.load(Ordering::Acquire))
}

/// `f` as one transaction on the world: its result and changes. If `f`
/// panics, its changes are undone and the panic goes on.
fn run_transaction<R>(
    shared: &Shared,
    guard: &mut Guarded,
    f: impl FnOnce(&mut Txn) -> R,
) -> (R, Vec<Change>) {
    let mut txn = guard.world.txn(&shared.ids);
    // Unwind safety: whatever `f` changed in the world is rolled back
    // below; nothing else here outlives the panic.
    match catch_unwind(AssertUnwindSafe(|| f(&mut txn))) {
        Ok(result) => (result, txn.into_changes()),
        Err(panic) => {
            txn.rollback();
            resume_unwind(panic)
        }
    }
}

/// `future`, or [`StoreError::Timeout`] after `timeout`.
async fn bounded<T>(
    timeout: Duration,
    future: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(timeout, future)
        .await
        .unwrap_or(Err(StoreError::Timeout(timeout)))
}

fn lock<T>(mutex: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Apply what the store says was committed after this process's position.
fn apply_catchup(shared: &Shared, guard: &mut Guarded, catchup: Catchup) {
    let mut position = shared.applied.load(Ordering::Acquire);
    match catchup {
        Catchup::Batches(batches) => {
            for batch in batches {
                if batch.seq <= position {
                    continue;
                }
                for change in batch.changes {
                    guard.world.apply(change);
                }
                position = batch.seq;
            }
        }
        Catchup::Reload(snapshot) => {
            let snapshot = *snapshot;
            guard.world = snapshot.world;
            guard.world.set_actions_in_memory(shared.actions_in_memory);
            position = snapshot.position;
        }
    }
    shared.applied.store(position, Ordering::Release);
}

/// After a failed commit: the world again as the store has it. Called with
/// the log lock held.
async fn reload_if_stale(shared: &Shared) -> Result<(), StoreError> {
    if !shared.stale.load(Ordering::Acquire) {
        return Ok(());
    }
    let snapshot = bounded(shared.timeout, shared.store.load()).await?;
    let mut guard = shared.state.write().await;
    if !matches!(shared.store.head(), Head::Own) {
        // (A store without a copy, memory, keeps the world as it is.)
        guard.world = snapshot.world;
        guard.world.set_actions_in_memory(shared.actions_in_memory);
        shared.applied.store(snapshot.position, Ordering::Release);
    }
    shared.stale.store(false, Ordering::Release);
    tracing::warn!(
        position = shared.applied.load(Ordering::Acquire),
        "state reloaded from the store after a failed commit"
    );
    Ok(())
}

/// Answers head requests in rounds: every request waiting when a round's
/// query is sent shares its answer, so readers cost one round trip between
/// them, and each gets a head at least as new as its own arrival.
async fn head_asker(
    shared: Arc<Shared>,
    mut requests: mpsc::UnboundedReceiver<oneshot::Sender<Result<Position, StoreError>>>,
) {
    while let Some(first) = requests.recv().await {
        let mut round = vec![first];
        while let Ok(more) = requests.try_recv() {
            round.push(more);
        }
        let head = bounded(shared.timeout, shared.store.ask_head()).await;
        for reply in round {
            let _ = reply.send(head.clone());
        }
    }
}

/// The longest a process keeps the write lock while its writers keep
/// coming, before it lets other processes' sessions in.
const MAX_LEASE: Duration = Duration::from_millis(50);

/// How long a process that gave up the lock for that reason waits before
/// it asks again (other processes poll for it meanwhile).
const LEASE_PAUSE: Duration = Duration::from_millis(1);

type WriterQueue = mpsc::UnboundedReceiver<oneshot::Sender<Result<Permit, StoreError>>>;

/// Everything queued now, after `waiting`.
fn drain(
    writers: &mut WriterQueue,
    waiting: &mut Vec<oneshot::Sender<Result<Permit, StoreError>>>,
) {
    while let Ok(more) = writers.try_recv() {
        waiting.push(more);
    }
}

/// The write sessions, one at a time. In a session every writer waiting
/// gets a turn (a group); the group's batches are queued for commit, and
/// while that commit syncs to disk the next group already takes its turns
/// (pipelined: the lock is held, so nothing else can come between). The
/// session ends when no writer waits and every commit is answered, or
/// after [`MAX_LEASE`].
async fn committer(shared: Arc<Shared>, mut writers: WriterQueue) {
    let mut carried = Vec::new();
    loop {
        let mut waiting = std::mem::take(&mut carried);
        if waiting.is_empty() {
            match writers.recv().await {
                Some(first) => waiting.push(first),
                None => return,
            }
        }
        drain(&mut writers, &mut waiting);
        let _log = shared.log.lock().await;
        let opened = async {
            reload_if_stale(&shared).await?;
            let since = shared.applied.load(Ordering::Acquire);
            let mut session = bounded(shared.timeout, shared.store.begin(since)).await?;
            let missed = session.missed();
            let mut guard = shared.state.write().await;
            apply_catchup(&shared, &mut guard, missed);
            Ok::<_, StoreError>(session)
        }
        .await;
        let mut session = match opened {
            Ok(session) => session,
            Err(error) => {
                for writer in waiting {
                    let _ = writer.send(Err(error.clone()));
                }
                continue;
            }
        };
        let leased = Instant::now();
        shared
            .leased_upto
            .store(shared.applied.load(Ordering::Acquire), Ordering::Release);
        let mut inflight = tokio::task::JoinSet::new();
        'lease: loop {
            if shared.stale.load(Ordering::Acquire) {
                // A commit of this session failed: the world must be
                // reloaded before anyone builds on it.
                carried = waiting;
                break;
            }
            let (batches, result) = take_turns(std::mem::take(&mut waiting)).await;
            if batches.is_empty() {
                let _ = result.send(Some(Ok(shared.applied.load(Ordering::Acquire))));
            } else {
                shared
                    .leased_upto
                    .fetch_add(batches.len() as Position, Ordering::AcqRel);
                let commit = bounded(shared.timeout, session.commit(batches));
                let notified = shared.clone();
                inflight.spawn(async move {
                    let outcome = commit.await;
                    match &outcome {
                        Ok(position) => {
                            notified.applied.fetch_max(*position, Ordering::AcqRel);
                        }
                        Err(error) => {
                            tracing::error!(%error, "commit failed; the state will be reloaded");
                            notified.stale.store(true, Ordering::Release);
                        }
                    }
                    let _ = result.send(Some(outcome));
                });
            }
            // The next group: whoever is waiting now, or arrives while a
            // commit is still in flight.
            loop {
                drain(&mut writers, &mut waiting);
                if !waiting.is_empty() {
                    if leased.elapsed() > MAX_LEASE {
                        carried = std::mem::take(&mut waiting);
                        break 'lease;
                    }
                    break;
                }
                if inflight.is_empty() {
                    break 'lease;
                }
                tokio::select! {
                    more = writers.recv() => match more {
                        Some(more) => waiting.push(more),
                        None => break 'lease,
                    },
                    _ = inflight.join_next() => {}
                }
            }
        }
        while inflight.join_next().await.is_some() {}
        drop(session);
        shared.leased_upto.store(0, Ordering::Release);
        drop(_log);
        if !carried.is_empty() {
            // Writers still waiting: a turn for the other processes first.
            tokio::time::sleep(LEASE_PAUSE).await;
        }
    }
}

/// Give each waiting writer its turn on the world; their batches, in the
/// order they were applied, and where to tell them how the commit went.
async fn take_turns(
    waiting: Vec<oneshot::Sender<Result<Permit, StoreError>>>,
) -> (Vec<Vec<Change>>, watch::Sender<GroupResult>) {
    let batches: Arc<StdMutex<Vec<Vec<Change>>>> = Arc::default();
    let (result, committed) = watch::channel(None);
    let mut turns = Vec::with_capacity(waiting.len());
    for writer in waiting {
        let (done, finished) = oneshot::channel();
        let permit = Permit {
            batches: batches.clone(),
            _done: done,
            committed: committed.clone(),
        };
        if writer.send(Ok(permit)).is_ok() {
            turns.push(finished);
        }
    }
    for finished in turns {
        // Sent nothing: dropped once the writer is done or gone.
        let _ = finished.await;
    }
    let batches = std::mem::take(&mut *lock(&batches));
    (batches, result)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    use super::*;
    use crate::domain::{Server, VmState};
    use crate::store::{Snapshot, StoreFuture, WriteSession};

    /// Counts committed batches; fails commits while `failing`; keeps no
    /// copy of the state (a reload finds it empty).
    #[derive(Default)]
    struct Counting {
        batches: Arc<AtomicUsize>,
        failing: Arc<AtomicBool>,
        /// The head must be asked for (as on PostgreSQL); counted.
        asking: bool,
        asks: AtomicUsize,
    }

    struct CountingSession {
        since: Position,
        batches: Arc<AtomicUsize>,
        failing: bool,
    }

    impl WriteSession for CountingSession {
        fn missed(&mut self) -> Catchup {
            Catchup::Batches(Vec::new())
        }
        fn commit(&mut self, batches: Vec<Vec<Change>>) -> StoreFuture<Position> {
            let count = batches.len();
            if self.failing {
                return Box::pin(async { Err(StoreError::Io("disk full".into())) });
            }
            self.batches.fetch_add(count, Ordering::SeqCst);
            self.since += count as Position;
            let position = self.since;
            Box::pin(async move { Ok(position) })
        }
    }

    impl Store for Counting {
        fn name(&self) -> &'static str {
            "counting"
        }
        fn load(&self) -> StoreFuture<Snapshot> {
            Box::pin(async { Ok(Snapshot::default()) })
        }
        fn head(&self) -> Head {
            if self.asking {
                Head::Ask
            } else {
                Head::Own
            }
        }
        fn ask_head(&self) -> StoreFuture<Position> {
            self.asks.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(0) })
        }
        fn catch_up(&self, _since: Position) -> StoreFuture<Catchup> {
            Box::pin(async { Ok(Catchup::Batches(Vec::new())) })
        }
        fn begin(&self, since: Position) -> StoreFuture<Box<dyn WriteSession>> {
            let session: Box<dyn WriteSession> = Box::new(CountingSession {
                since,
                batches: self.batches.clone(),
                failing: self.failing.load(Ordering::SeqCst),
            });
            Box::pin(async move { Ok(session) })
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
    async fn a_request_asks_for_the_head_once() {
        let store = Arc::new(Counting {
            asking: true,
            ..Counting::default()
        });
        let cloud = Cloud::open(store.clone()).await.unwrap();
        let asks = || store.asks.load(Ordering::SeqCst);
        // Outside a request, every read asks.
        cloud.read(|_| ()).await.unwrap();
        cloud.read(|_| ()).await.unwrap();
        assert_eq!(asks(), 2);
        one_sync_per_request(async {
            for _ in 0..3 {
                cloud.read(|_| ()).await.unwrap();
            }
        })
        .await;
        assert_eq!(asks(), 3);
        one_sync_per_request(async { cloud.read(|_| ()).await.unwrap() }).await;
        assert_eq!(asks(), 4);
    }

    #[tokio::test]
    async fn a_panic_leaves_the_world_as_it_was_and_submits_nothing() {
        let (cloud, store) = cloud().await;
        let cloud = Arc::new(cloud);
        let before = cloud.read(|world| world.clone()).await.unwrap();
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
        let after = cloud.read(|world| world.clone()).await.unwrap();
        assert_eq!(after.dump(), before.dump());
        assert_eq!(after, before);
        assert_eq!(store.batches.load(Ordering::SeqCst), batches);
        // The lock was released: writes go on.
        cloud
            .write(|txn| txn.put(Change::PutServer(server("s3"))))
            .await
            .unwrap();
        assert!(cloud
            .read(|world| world.server("s3").is_some())
            .await
            .unwrap());
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
        assert!(cloud
            .read(|world| world.server("s2").is_some())
            .await
            .unwrap());
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
        assert!(cloud
            .read(|world| world.server("s1").is_some())
            .await
            .unwrap());
    }
}

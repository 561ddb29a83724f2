//! One storage suite, run on every backend: what is acknowledged is what
//! comes back, and a failed commit leaves memory equal to the store.
mod common;
use common::*;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use porthole::domain::{Change, World};
use porthole::seed::SeedDocument;
use porthole::service::Cloud;
use porthole::store::{MemoryStore, SqliteStore, Store, StoreError, StoreFuture};

fn seed_changes() -> Vec<Change> {
    SeedDocument::from_toml(&seed_toml())
        .unwrap()
        .into_changes()
        .unwrap()
}

/// A mixed batch: rebind a port, delete one, add an action, soft-delete a
/// server.
fn later_changes(world: &World) -> Vec<Change> {
    let mut port = world.port(PORT_FREE).unwrap().clone();
    port.device_id = SERVER.to_owned();
    port.tag = Some("t".into());
    let action = porthole::domain::InstanceAction {
        server_id: SERVER.into(),
        action: "attach_interface".into(),
        request_id: "req-00000000-0000-4000-8000-000000000001".into(),
        user_id: "u".into(),
        project_id: PROJECT.into(),
        start_time: 1,
        updated_at: 2,
        message: Some("Error".into()),
        events: vec![porthole::domain::ActionEvent {
            event: "compute_attach_interface".into(),
            start_time: 1,
            finish_time: Some(2),
            result: Some("Error".into()),
            traceback: Some("tb".into()),
            host: "porthole".into(),
            details: Some("d".into()),
        }],
        seq: 1000,
    };
    vec![
        Change::PutPort(port),
        Change::DeletePort(PORT_FREE2.into()),
        Change::PutAction(action),
        Change::SoftDeleteServer(SERVER_ERROR.into()),
    ]
}

fn expected(batches: &[Vec<Change>]) -> Vec<Change> {
    let mut world = World::default();
    for change in batches.iter().flatten() {
        world.apply(change.clone());
    }
    world.dump()
}

/// What every durable backend must do: batches come back as applied.
async fn durable_round_trip(open: impl Fn() -> Arc<dyn Store>) {
    let store = open();
    assert!(store.load().await.unwrap().is_empty());
    let seed = seed_changes();
    store.submit(seed.clone()).await.unwrap();
    let mut world = World::default();
    for c in &seed {
        world.apply(c.clone());
    }
    let later = later_changes(&world);
    store.submit(later.clone()).await.unwrap();
    drop(store);
    let reopened = open();
    let loaded = reopened.load().await.unwrap();
    assert_eq!(loaded.dump(), expected(&[seed, later]));
    assert_eq!(loaded.port(PORT_FREE).unwrap().tag.as_deref(), Some("t"));
    assert_eq!(loaded.ports_of_device(SERVER).count(), 1);
    assert!(loaded.server(SERVER_ERROR).is_none());
    assert!(loaded.deleted_server(SERVER_ERROR).is_some());
}

#[tokio::test]
async fn sqlite_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("porthole.sqlite3");
    durable_round_trip(|| Arc::new(SqliteStore::open(&path).unwrap())).await;
}

#[tokio::test]
async fn memory_acknowledges_and_keeps_nothing() {
    let store = MemoryStore;
    store.submit(seed_changes()).await.unwrap();
    assert!(store.load().await.unwrap().is_empty());
    // Nothing to reload from: recovering must not offer an empty world.
    assert!(store.recover().await.unwrap().is_none());
}

#[tokio::test]
async fn concurrent_batches_all_land() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("porthole.sqlite3");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    let cloud = Arc::new(seeded_cloud(store.clone()).await);
    let app = porthole::build_router(porthole::AppState::new(
        Arc::try_unwrap(cloud).ok().unwrap(),
        porthole::AuthMode::Noauth,
    ));
    let app = Arc::new(TestApp { router: app });
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let r = app
                .post(
                    &interfaces(SERVER),
                    &serde_json::json!({"interfaceAttachment": {"net_id": NET}}),
                )
                .await;
            assert_eq!(r.status, 200, "{}", r.text());
            r.json()["interfaceAttachment"]["fixed_ips"][0]["ip_address"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    let mut ips = Vec::new();
    for t in tasks {
        ips.push(t.await.unwrap());
    }
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 40, "no two ports share an address");
    let listed = app.get(&interfaces(SERVER)).await.json();
    drop(app);
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    let world = reopened.load().await.unwrap();
    assert_eq!(world.ports_of_device(SERVER).count(), 40);
    assert_eq!(listed["interfaceAttachments"].as_array().unwrap().len(), 40);
}

/// Wraps a store and fails submissions while `failing` is set.
struct Flaky {
    inner: SqliteStore,
    failing: AtomicBool,
}

impl Store for Flaky {
    fn name(&self) -> &'static str {
        "flaky"
    }
    fn load(&self) -> StoreFuture<World> {
        self.inner.load()
    }
    fn submit(&self, changes: Vec<Change>) -> StoreFuture<()> {
        if self.failing.load(Ordering::SeqCst) {
            Box::pin(async { Err(StoreError::Io("disk full".into())) })
        } else {
            self.inner.submit(changes)
        }
    }
    fn recover(&self) -> StoreFuture<Option<World>> {
        self.inner.recover()
    }
    fn ping(&self) -> StoreFuture<()> {
        self.inner.ping()
    }
}

#[tokio::test]
async fn a_failed_commit_is_undone_in_memory_and_reported_as_503() {
    let dir = tempfile::tempdir().unwrap();
    let flaky = Arc::new(Flaky {
        inner: SqliteStore::open(&dir.path().join("db")).unwrap(),
        failing: AtomicBool::new(false),
    });
    let cloud = seeded_cloud(flaky.clone()).await;
    let app = TestApp {
        router: porthole::build_router(porthole::AppState::new(cloud, porthole::AuthMode::Noauth)),
    };
    flaky.failing.store(true, Ordering::SeqCst);
    let r = app
        .post(
            &interfaces(SERVER),
            &serde_json::json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
        )
        .await;
    // The store refused: 503, with no internal text for the client.
    assert_eq!(r.status, 503);
    assert_eq!(
        r.json(),
        serde_json::json!({"serviceUnavailable": {"code": 503,
            "message": "The server is currently unavailable. Please try again at a later time."}})
    );
    flaky.failing.store(false, Ordering::SeqCst);
    // Not attached: memory was reloaded from the store.
    assert_eq!(
        app.get(&interfaces(SERVER)).await.json(),
        serde_json::json!({"interfaceAttachments": []})
    );
    let r = app
        .post(
            &interfaces(SERVER),
            &serde_json::json!({"interfaceAttachment": {"port_id": PORT_FREE}}),
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn seed_applies_only_to_an_empty_store() {
    let cloud = Cloud::open(Arc::new(MemoryStore)).await.unwrap();
    assert!(cloud.seed_if_empty(seed_changes()).await.unwrap());
    assert!(!cloud.seed_if_empty(seed_changes()).await.unwrap());
}

/// A failed sqlite commit refuses later writes until a reload; readiness
/// says so in the meantime instead of answering from a store that
/// accepts nothing.
#[tokio::test]
async fn sqlite_is_not_ready_between_a_failed_commit_and_the_reload() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("db")).unwrap();
    let seed = seed_changes();
    store.submit(seed.clone()).await.unwrap();
    let mut world = World::default();
    for c in &seed {
        world.apply(c.clone());
    }
    // Another port with PORT_FREE's MAC: the UNIQUE constraint fails the commit.
    let mut clash = world.port(PORT_FREE).unwrap().clone();
    clash.id = "0f0f0f0f-0000-4000-8000-000000000000".into();
    assert!(matches!(
        store.submit(vec![Change::PutPort(clash)]).await,
        Err(StoreError::Io(_))
    ));
    assert!(matches!(store.ping().await, Err(StoreError::Poisoned)));
    assert_eq!(
        store.recover().await.unwrap().map(|w| w.dump()),
        Some(world.dump())
    );
    store.ping().await.unwrap();
}

#[tokio::test]
async fn tokens_stored_before_scopes_and_chains_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("porthole.sqlite3");
    {
        // A database as porthole left it before migration 003.
        let connection = rusqlite::Connection::open(&path).unwrap();
        connection
            .execute_batch(include_str!("../migrations/sqlite/001_initial.sql"))
            .unwrap();
        connection
            .execute_batch(include_str!("../migrations/sqlite/002_tokens.sql"))
            .unwrap();
        connection.pragma_update(None, "user_version", 2).unwrap();
        connection
            .execute(
                "INSERT INTO tokens (id, user_id, project_id, roles, methods, issued_at, expires_at, audit_id)
                 VALUES ('old-token', 'u1', 'p1', '[\"member\"]', '[\"password\"]', 1, 4102444800000000, 'a1')",
                [],
            )
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let world = store.load().await.unwrap();
    let token = world.token("old-token").expect("the old token");
    assert_eq!(token.project_id.as_deref(), Some("p1"));
    assert_eq!(token.domain_id, None);
    assert!(!token.system && !token.revoked);
    assert_eq!(token.audit_ids(), ["a1"]);
    assert!(token.valid_at(2));
}

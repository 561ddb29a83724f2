//! PostgreSQL, for several porthole processes on one state (`--store
//! postgres://…`). A write session holds an advisory lock on a connection
//! of its own (`WRITE_LOCK`) from its catch-up to its last commit; each
//! commit also locks the log's head row (`SELECT … FOR UPDATE`).
//! Entities are kept one row each, as the JSON the log uses.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use tokio::sync::oneshot;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres, Row};

use super::{
    Batch, Catchup, Head, Position, Snapshot, Store, StoreError, StoreFuture, WriteSession,
};
use crate::domain::{Change, InstanceAction, World};

fn io(e: impl std::fmt::Display) -> StoreError {
    StoreError::Io(e.to_string())
}

pub struct PostgresStore {
    pool: PgPool,
    /// The connection write sessions take the lock on, kept between them.
    lock_connection: Arc<tokio::sync::Mutex<Option<PgConnection>>>,
}

impl PostgresStore {
    /// Connect to `url` (a pool of at most `connections`, each wait for a
    /// connection bounded by `timeout`) and migrate; several processes may
    /// start at once (the migrations take an advisory lock).
    pub async fn open(url: &str, connections: u32, timeout: Duration) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Io(format!("bad PostgreSQL URL: {e}")))?
            .application_name("porthole");
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(2))
            .acquire_timeout(timeout)
            .connect_with(options)
            .await
            .map_err(io)?;
        sqlx::migrate!("migrations/postgres")
            .run(&pool)
            .await
            .map_err(io)?;
        Ok(PostgresStore {
            pool,
            lock_connection: Arc::default(),
        })
    }
}

impl Store for PostgresStore {
    fn name(&self) -> &'static str {
        "postgres"
    }
    fn load(&self) -> StoreFuture<Snapshot> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let mut connection = pool.acquire().await.map_err(io)?;
            let mut tx = snapshot_tx(&mut connection).await?;
            let snapshot = load(&mut tx).await?;
            tx.commit().await.map_err(io)?;
            Ok(snapshot)
        })
    }
    fn head(&self) -> Head {
        Head::Ask
    }
    fn ask_head(&self) -> StoreFuture<Position> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let mut connection = pool.acquire().await.map_err(io)?;
            read_head(&mut connection, false).await
        })
    }
    fn catch_up(&self, since: Position) -> StoreFuture<Catchup> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let mut connection = pool.acquire().await.map_err(io)?;
            let mut tx = snapshot_tx(&mut connection).await?;
            let catchup = catch_up(&mut tx, since).await?;
            tx.commit().await.map_err(io)?;
            Ok(catchup)
        })
    }
    fn begin(&self, since: Position) -> StoreFuture<Box<dyn WriteSession>> {
        let pool = self.pool.clone();
        let keeper = self.lock_connection.clone();
        Box::pin(async move {
            // Owned here until the session runs: if this is given up midway,
            // dropping the connection closes it, and the lock goes with it.
            let kept = keeper.lock().await.take();
            let mut connection = match kept {
                Some(mut connection) => match take_lock(&mut connection).await {
                    Ok(()) => connection,
                    // Kept from before the database went away: a new one.
                    Err(_) => fresh_locked(&pool).await?,
                },
                None => fresh_locked(&pool).await?,
            };
            let missed = {
                let mut tx = connection.begin().await.map_err(io)?;
                let missed = catch_up(&mut tx, since).await?;
                tx.commit().await.map_err(io)?;
                missed
            };
            let (commits, queued) = tokio::sync::mpsc::unbounded_channel();
            tokio::spawn(run_session(connection, queued, keeper));
            let session: Box<dyn WriteSession> = Box::new(PostgresSession {
                missed: Some(missed),
                commits,
            });
            Ok(session)
        })
    }
    fn instance_actions(&self, server_id: &str) -> StoreFuture<Option<Vec<InstanceAction>>> {
        let pool = self.pool.clone();
        let server_id = server_id.to_owned();
        Box::pin(async move {
            let bodies: Vec<String> = sqlx::query_scalar(
                "SELECT body FROM entities WHERE kind = 'action' AND owner = $1 ORDER BY position",
            )
            .bind(server_id)
            .fetch_all(&pool)
            .await
            .map_err(io)?;
            let mut actions = bodies
                .iter()
                .map(|body| serde_json::from_str::<InstanceAction>(body).map_err(io))
                .collect::<Result<Vec<_>, _>>()?;
            actions.sort_by_key(|a| a.seq);
            Ok(Some(actions))
        })
    }
    fn ping(&self) -> StoreFuture<()> {
        let pool = self.pool.clone();
        Box::pin(async move {
            let mut connection = pool.acquire().await.map_err(io)?;
            read_head(&mut connection, false).await.map(drop)
        })
    }
}

/// A read-only transaction on one snapshot of the database.
async fn snapshot_tx(
    connection: &mut PgConnection,
) -> Result<sqlx::Transaction<'_, Postgres>, StoreError> {
    let mut tx = connection.begin().await.map_err(io)?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .execute(&mut *tx)
        .await
        .map_err(io)?;
    Ok(tx)
}

/// The advisory lock every porthole process takes to write (a constant:
/// "porthole" in ASCII).
const WRITE_LOCK: i64 = 0x706f_7274_686f_6c65;

/// Batches queued for commit, and who waits for the outcome.
type QueuedCommit = (
    Vec<Vec<Change>>,
    oneshot::Sender<Result<Position, StoreError>>,
);

/// A write session: a connection of its own holding the advisory lock, and
/// a task committing the queued batches on it in order. When the session
/// is dropped, the task finishes the queue, unlocks and hands the
/// connection back; if anything fails, the connection is closed instead
/// (which releases the lock on the server).
struct PostgresSession {
    missed: Option<Catchup>,
    commits: tokio::sync::mpsc::UnboundedSender<QueuedCommit>,
}

impl WriteSession for PostgresSession {
    fn missed(&mut self) -> Catchup {
        self.missed.take().unwrap_or(Catchup::Batches(Vec::new()))
    }
    fn commit(&mut self, batches: Vec<Vec<Change>>) -> StoreFuture<Position> {
        let (reply, answer) = oneshot::channel();
        let sent = self.commits.send((batches, reply));
        Box::pin(async move {
            sent.map_err(|_| StoreError::Closed)?;
            answer.await.map_err(|_| StoreError::Closed)?
        })
    }
}

/// Take the advisory lock on `connection`, polling (a wait that can be
/// given up at any point: the caller closes the connection then).
async fn take_lock(connection: &mut PgConnection) -> Result<(), StoreError> {
    loop {
        let taken: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(WRITE_LOCK)
            .fetch_one(&mut *connection)
            .await
            .map_err(io)?;
        if taken {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A new connection of its own (out of the pool), holding the lock.
async fn fresh_locked(pool: &PgPool) -> Result<PgConnection, StoreError> {
    let mut connection = pool.acquire().await.map_err(io)?.detach();
    // Waits for any other process's session.
    take_lock(&mut connection).await?;
    Ok(connection)
}

/// Commit each queued group in its own transaction, in order, then unlock.
async fn run_session(
    mut connection: PgConnection,
    mut commits: tokio::sync::mpsc::UnboundedReceiver<QueuedCommit>,
    keeper: Arc<tokio::sync::Mutex<Option<PgConnection>>>,
) {
    let mut failed: Option<StoreError> = None;
    while let Some((batches, reply)) = commits.recv().await {
        if let Some(error) = &failed {
            let _ = reply.send(Err(error.clone()));
            continue;
        }
        let committed = commit(&mut connection, &batches).await;
        if let Err(error) = &committed {
            failed = Some(error.clone());
        }
        let _ = reply.send(committed);
    }
    if failed.is_some() {
        return; // Closed with the connection: the lock goes with it.
    }
    let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
        .bind(WRITE_LOCK)
        .execute(&mut connection)
        .await;
    if unlocked.is_ok() {
        *keeper.lock().await = Some(connection);
    }
}

async fn commit(
    connection: &mut PgConnection,
    batches: &[Vec<Change>],
) -> Result<Position, StoreError> {
    let mut tx = connection.begin().await.map_err(io)?;
    let before = read_head(&mut tx, true).await?;
    // A group's batches in a few statements, not one per change: on one
    // connection every statement is a round trip, and a group of 64
    // writers made hundreds.
    let mut seqs = Vec::with_capacity(batches.len());
    let mut texts = Vec::with_capacity(batches.len());
    let mut writes = EntityWrites::default();
    for (seq, batch) in (before + 1..).zip(batches) {
        seqs.push(seq as i64);
        texts.push(serde_json::to_string(batch).expect("changes serialise"));
        for change in batch {
            write_change(&mut tx, &mut writes, change).await?;
        }
    }
    writes.flush(&mut tx).await?;
    let position = before + batches.len() as Position;
    sqlx::query(
        "INSERT INTO change_log (seq, batch) SELECT * FROM UNNEST($1::bigint[], $2::text[])",
    )
    .bind(&seqs)
    .bind(&texts)
    .execute(&mut *tx)
    .await
    .map_err(io)?;
    sqlx::query("UPDATE log_head SET position = $1 WHERE id = 1")
        .bind(position as i64)
        .execute(&mut *tx)
        .await
        .map_err(io)?;
    if let Some((above, upto)) = super::log_trim(before, position) {
        sqlx::query("DELETE FROM change_log WHERE seq > $1 AND seq <= $2")
            .bind(above as i64)
            .bind(upto as i64)
            .execute(&mut *tx)
            .await
            .map_err(io)?;
    }
    tx.commit().await.map_err(io)?;
    Ok(position)
}

async fn read_head(connection: &mut PgConnection, lock: bool) -> Result<Position, StoreError> {
    let sql = if lock {
        "SELECT position FROM log_head WHERE id = 1 FOR UPDATE"
    } else {
        "SELECT position FROM log_head WHERE id = 1"
    };
    let position: i64 = sqlx::query_scalar(sql)
        .fetch_one(connection)
        .await
        .map_err(io)?;
    Ok(position as Position)
}

/// What was committed after `since`.
async fn catch_up(connection: &mut PgConnection, since: Position) -> Result<Catchup, StoreError> {
    let head = read_head(connection, false).await?;
    if since >= head {
        return Ok(Catchup::Batches(Vec::new()));
    }
    // Not `min(seq)`: that walks the index through every dead row a vacuum
    // has not removed yet. The batches must start right after `since`;
    // when the log was trimmed past it, only the whole state will do.
    let first: Option<i64> =
        sqlx::query_scalar("SELECT seq FROM change_log WHERE seq > $1 ORDER BY seq LIMIT 1")
            .bind(since as i64)
            .fetch_optional(&mut *connection)
            .await
            .map_err(io)?;
    if first != Some(since as i64 + 1) {
        return load(connection).await.map(|s| Catchup::Reload(Box::new(s)));
    }
    let rows = sqlx::query("SELECT seq, batch FROM change_log WHERE seq > $1 ORDER BY seq")
        .bind(since as i64)
        .fetch_all(connection)
        .await
        .map_err(io)?;
    rows.into_iter()
        .map(|row| {
            let text: String = row.try_get(1).map_err(io)?;
            Ok(Batch {
                seq: row.try_get::<i64, _>(0).map_err(io)? as Position,
                changes: serde_json::from_str(&text).map_err(io)?,
            })
        })
        .collect::<Result<_, _>>()
        .map(Catchup::Batches)
}

/// The kinds in the order they load (a port after its network, an action
/// after its server).
const KINDS: [&str; 7] = [
    "server",
    "network",
    "subnet",
    "port",
    "action",
    "token",
    "fault_rule",
];

async fn load(connection: &mut PgConnection) -> Result<Snapshot, StoreError> {
    let position = read_head(connection, false).await?;
    // Streamed, not fetched whole: the world keeps only the newest instance
    // actions per server, so a long history never sits in memory at once.
    let mut rows = sqlx::query(
        "SELECT kind, body, deleted FROM entities
         ORDER BY array_position($1::text[], kind), position",
    )
    .bind(&KINDS[..])
    .fetch(connection);
    let mut world = World::default();
    while let Some(row) = rows.try_next().await.map_err(io)? {
        let kind: &str = row.try_get(0).map_err(io)?;
        let body: &str = row.try_get(1).map_err(io)?;
        let deleted: bool = row.try_get(2).map_err(io)?;
        let change = match kind {
            "server" => Change::PutServer(serde_json::from_str(body).map_err(io)?),
            "network" => Change::PutNetwork(serde_json::from_str(body).map_err(io)?),
            "subnet" => Change::PutSubnet(serde_json::from_str(body).map_err(io)?),
            "port" => Change::PutPort(serde_json::from_str(body).map_err(io)?),
            "action" => Change::PutAction(serde_json::from_str(body).map_err(io)?),
            "token" => Change::PutToken(serde_json::from_str(body).map_err(io)?),
            "fault_rule" => Change::PutFaultRule(serde_json::from_str(body).map_err(io)?),
            other => return Err(StoreError::Io(format!("unknown entity kind {other:?}"))),
        };
        let soft_deleted = match (&change, deleted) {
            (Change::PutServer(server), true) => Some(server.id.clone()),
            _ => None,
        };
        world.apply(change);
        if let Some(id) = soft_deleted {
            world.apply(Change::SoftDeleteServer(id));
        }
    }
    Ok(Snapshot { world, position })
}

/// A commit's entity puts and deletes, gathered and written by
/// [`EntityWrites::flush`] as one statement each. A key is pending once at
/// most: its second write flushes the first (so a put after a delete still
/// inserts a new row, with a new load position), and so does any change
/// that touches rows by other than their key.
#[derive(Default)]
struct EntityWrites {
    pending: std::collections::HashSet<(&'static str, String)>,
    put_kinds: Vec<&'static str>,
    put_keys: Vec<String>,
    put_owners: Vec<Option<String>>,
    put_bodies: Vec<String>,
    delete_kinds: Vec<&'static str>,
    delete_keys: Vec<String>,
}

impl EntityWrites {
    /// Make room for `(kind, key)`: flush if it is pending already.
    async fn claim(
        &mut self,
        connection: &mut PgConnection,
        kind: &'static str,
        key: &str,
    ) -> Result<(), StoreError> {
        let entry = (kind, key.to_owned());
        if self.pending.contains(&entry) {
            self.flush(connection).await?;
        }
        self.pending.insert(entry);
        Ok(())
    }

    async fn put(
        &mut self,
        connection: &mut PgConnection,
        kind: &'static str,
        key: &str,
        owner: Option<&str>,
        body: &impl serde::Serialize,
    ) -> Result<(), StoreError> {
        self.claim(connection, kind, key).await?;
        self.put_kinds.push(kind);
        self.put_keys.push(key.to_owned());
        self.put_owners.push(owner.map(str::to_owned));
        self.put_bodies
            .push(serde_json::to_string(body).expect("entities serialise"));
        Ok(())
    }

    async fn delete(
        &mut self,
        connection: &mut PgConnection,
        kind: &'static str,
        key: &str,
    ) -> Result<(), StoreError> {
        self.claim(connection, kind, key).await?;
        self.delete_kinds.push(kind);
        self.delete_keys.push(key.to_owned());
        Ok(())
    }

    /// Write what is pending: the puts (inserted in their order, which is
    /// the order entities load in), then the deletes (other keys).
    async fn flush(&mut self, connection: &mut PgConnection) -> Result<(), StoreError> {
        if !self.put_keys.is_empty() {
            sqlx::query(
                "INSERT INTO entities (kind, key, owner, body)
                 SELECT kind, key, owner, body
                 FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[])
                   WITH ORDINALITY AS put(kind, key, owner, body, n)
                 ORDER BY n
                 ON CONFLICT (kind, key) DO UPDATE SET owner = excluded.owner,
                   body = excluded.body, deleted = false",
            )
            .bind(&self.put_kinds)
            .bind(&self.put_keys)
            .bind(&self.put_owners)
            .bind(&self.put_bodies)
            .execute(&mut *connection)
            .await
            .map_err(io)?;
        }
        if !self.delete_keys.is_empty() {
            sqlx::query(
                "DELETE FROM entities USING UNNEST($1::text[], $2::text[]) AS gone(kind, key)
                 WHERE entities.kind = gone.kind AND entities.key = gone.key",
            )
            .bind(&self.delete_kinds)
            .bind(&self.delete_keys)
            .execute(&mut *connection)
            .await
            .map_err(io)?;
        }
        *self = EntityWrites::default();
        Ok(())
    }
}

async fn write_change(
    connection: &mut PgConnection,
    writes: &mut EntityWrites,
    change: &Change,
) -> Result<(), StoreError> {
    match change {
        Change::PutServer(s) => {
            writes
                .put(connection, "server", s.id.as_str(), None, s)
                .await
        }
        Change::PutNetwork(n) => {
            writes
                .put(connection, "network", n.id.as_str(), None, n)
                .await
        }
        Change::PutSubnet(s) => {
            writes
                .put(connection, "subnet", s.id.as_str(), None, s)
                .await
        }
        Change::PutPort(p) => writes.put(connection, "port", p.id.as_str(), None, p).await,
        Change::PutAction(a) => {
            let key = format!("{}/{}", a.server_id.as_str(), a.request_id);
            let owner = Some(a.server_id.as_str());
            writes.put(connection, "action", &key, owner, a).await
        }
        Change::PutToken(t) => writes.put(connection, "token", &t.id, None, t).await,
        Change::DeletePort(id) => writes.delete(connection, "port", id.as_str()).await,
        Change::DeleteNetwork(id) => writes.delete(connection, "network", id.as_str()).await,
        Change::DeleteSubnet(id) => writes.delete(connection, "subnet", id.as_str()).await,
        Change::DeleteToken(id) => writes.delete(connection, "token", id).await,
        Change::PutFaultRule(r) => writes.put(connection, "fault_rule", &r.id, None, r).await,
        Change::DeleteFaultRule(id) => writes.delete(connection, "fault_rule", id).await,
        // Rows by other than their key: what is pending goes first.
        Change::DeleteServer(id) => {
            writes.flush(connection).await?;
            sqlx::query(
                "DELETE FROM entities WHERE (kind = 'action' AND owner = $1)
                   OR (kind = 'server' AND key = $1)",
            )
            .bind(id.as_str())
            .execute(connection)
            .await
            .map_err(io)?;
            Ok(())
        }
        Change::SoftDeleteServer(id) => {
            writes.flush(connection).await?;
            sqlx::query("UPDATE entities SET deleted = true WHERE kind = 'server' AND key = $1")
                .bind(id.as_str())
                .execute(connection)
                .await
                .map_err(io)?;
            Ok(())
        }
        Change::ClearFaultRules => {
            writes.flush(connection).await?;
            sqlx::query("DELETE FROM entities WHERE kind = 'fault_rule'")
                .execute(connection)
                .await
                .map_err(io)?;
            Ok(())
        }
        Change::Reset => {
            writes.flush(connection).await?;
            sqlx::query("DELETE FROM entities WHERE kind NOT IN ('token', 'fault_rule')")
                .execute(connection)
                .await
                .map_err(io)?;
            Ok(())
        }
    }
}

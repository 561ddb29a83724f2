//! Opening the store, seeding it, and serving until SIGTERM or Ctrl-C.

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::app::{build_router, AppOptions, AppState};
use crate::auth::{Authenticator, BuiltinKeystone, KeystoneClient};
use crate::config::{AuthMode, Config, StoreKind};
use crate::domain::ids::IdSource;
use crate::domain::Policy;
use crate::seed::SeedDocument;
use crate::service::Cloud;
use crate::store::{MemoryStore, PostgresStore, SqliteStore, Store};

/// Connections each process keeps to PostgreSQL.
const POSTGRES_CONNECTIONS: u32 = 8;

/// The configured store, loaded and seeded.
pub async fn open_state(config: &Config) -> Result<AppState, String> {
    // Configuration errors first, before anything is opened.
    let policy = match &config.policy_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read policy file {}: {e}", path.display()))?;
            Policy::from_yaml(&text)
                .map_err(|e| format!("bad policy file {}: {e}", path.display()))?
        }
        None => Policy::default(),
    };
    let auth = match (config.auth, &config.keystone) {
        (AuthMode::Noauth, _) => Authenticator::NoAuth,
        (AuthMode::Builtin, _) => {
            Authenticator::Builtin(BuiltinKeystone::from_config(&config.identity)?)
        }
        (AuthMode::Keystone, Some(keystone)) => {
            Authenticator::Keystone(KeystoneClient::from_config(keystone)?)
        }
        (AuthMode::Keystone, None) => {
            return Err("auth = keystone needs a [keystone] section in the config file".into())
        }
    };
    let store: Arc<dyn Store> = match &config.store {
        StoreKind::Memory => Arc::new(MemoryStore),
        StoreKind::Postgres(url) => Arc::new(
            PostgresStore::open(url, POSTGRES_CONNECTIONS, config.store_timeout)
                .await
                .map_err(|e| format!("cannot open the PostgreSQL store: {e}"))?,
        ),
        StoreKind::Sqlite => {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                format!(
                    "cannot create data directory {}: {e}",
                    config.data_dir.display()
                )
            })?;
            let path = config.database_path();
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("cannot open the database: {e}"))?;
            Arc::new(store)
        }
    };
    let ids = match config.deterministic {
        Some(seed) => IdSource::seeded(seed),
        None => IdSource::random(),
    };
    let cloud = Cloud::open_configured(
        store,
        ids,
        config.store_timeout,
        config.instance_actions_in_memory,
    )
    .await
    .map_err(|e| format!("cannot load state: {e}"))?;
    // Read before the seed can fill it.
    let held_state = cloud
        .read_local(|world| (!world.is_empty()).then(|| world.next_sequence()))
        .await;
    let mut seed = Vec::new();
    if let Some(path) = &config.seed {
        // What the seed leaves to be generated (MACs, ids) comes from the
        // seed file itself unless ids are deterministic anyway: every
        // process sharing a store makes the same seed, and a reset on any
        // of them returns to the state the first one seeded.
        let seed_ids = match config.deterministic {
            Some(_) => None,
            None => Some(IdSource::seeded(seed_hash(path)?)),
        };
        let changes = SeedDocument::from_file(path)
            .and_then(|document| {
                document.into_changes_with(seed_ids.as_ref().unwrap_or(cloud.ids()))
            })
            .map_err(|e| e.to_string())?;
        seed = changes.clone();
        let count = changes.len();
        let applied = cloud
            .seed_if_empty(changes)
            .await
            .map_err(|e| format!("cannot apply the seed: {e}"))?;
        if applied {
            tracing::info!(seed = %path.display(), entries = count, "seed applied");
        } else {
            tracing::info!(seed = %path.display(), "store already holds state; seed not applied");
        }
    }
    // A reset replays from here (the seed's generated ids already taken);
    // a store with state goes on with other ids than its earlier runs.
    cloud.ids().mark_restart_point();
    if let Some(sequence) = held_state {
        cloud.ids().diverge(sequence);
    }
    let options = AppOptions {
        control_plane: config.control_plane,
        port_activation_delay: config.port_activation_delay,
        port_initial_status: config.port_initial_status.status(),
        seed: Arc::new(seed),
        catalog: Arc::new(crate::domain::catalog::Catalog {
            flavors: config.flavors.clone(),
            images: config.images.clone(),
        }),
        server_build_delay: config.server_build_delay,
    };
    Ok(AppState::with(cloud, auth, policy).with_options(options))
}

/// A number drawn from the seed file's bytes.
fn seed_hash(path: &std::path::Path) -> Result<u64, String> {
    use sha2::Digest;
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read seed {}: {e}", path.display()))?;
    let digest = sha2::Sha256::digest(&bytes);
    Ok(u64::from_le_bytes(digest[..8].try_into().expect("8 bytes")))
}

/// Serve on `listener` until SIGTERM or Ctrl-C; in-flight requests finish,
/// within `grace` (a stalled client cannot hold the process up).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    grace: std::time::Duration,
) -> std::io::Result<()> {
    serve_until(listener, state, grace, shutdown_signal()).await
}

/// Serve on `listener` until `shutdown` completes; then in-flight requests
/// finish, within `grace`. For embedding (see `Embedded`) and tests.
pub async fn serve_until(
    listener: TcpListener,
    state: AppState,
    grace: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stopping, mut stopped) = tokio::sync::watch::channel(false);
    let server = axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service(build_router(state)),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stopping.send(true);
    });
    let deadline = async move {
        let _ = stopped.wait_for(|s| *s).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result,
        _ = deadline => {
            tracing::warn!("connections still open after the drain deadline; closing them");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}

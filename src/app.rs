//! `AppState` and `build_router`: every route and layer, in one place.

use std::convert::Infallible;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use axum::Router;
use tower::{Service, ServiceExt};

use crate::api::{endpoint, middleware};
use crate::auth::{Authenticator, BuiltinKeystone};
use crate::config::AuthMode;
use crate::domain::{Policy, PortId, PortStatus};
use crate::metrics::Metrics;
use crate::service::Cloud;

/// What the control plane and port transitions are set to.
#[derive(Debug, Clone)]
pub struct AppOptions {
    /// Serve `/_porthole/*` (on by default).
    pub control_plane: bool,
    /// How long an attached port stays in `port_initial_status` before it
    /// turns `ACTIVE` (zero: `ACTIVE` at once).
    pub port_activation_delay: std::time::Duration,
    /// `DOWN` or `BUILD`.
    pub port_initial_status: PortStatus,
    /// What `POST /_porthole/reset` returns to: the start-up seed.
    pub seed: Arc<Vec<crate::domain::Change>>,
    /// Flavors and images (`[[flavors]]`, `[[images]]`).
    pub catalog: Arc<crate::domain::catalog::Catalog>,
    /// How long a created server stays `BUILD` before it turns `ACTIVE`
    /// (zero: `ACTIVE` in the create response already).
    pub server_build_delay: std::time::Duration,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            control_plane: true,
            port_activation_delay: std::time::Duration::ZERO,
            port_initial_status: PortStatus::Down,
            seed: Arc::default(),
            catalog: Arc::default(),
            server_build_delay: std::time::Duration::ZERO,
        }
    }
}

/// The latest activation scheduled for each port: a timer from an earlier
/// attachment of the same port (detached and attached again) is stale and
/// must not turn the new one `ACTIVE` early.
#[derive(Debug, Default)]
pub struct PendingActivations {
    latest: std::sync::Mutex<(u64, std::collections::HashMap<PortId, u64>)>,
}

impl PendingActivations {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, std::collections::HashMap<PortId, u64>)> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A ticket for `port_id`, superseding any earlier one.
    pub fn schedule(&self, port_id: &PortId) -> u64 {
        let mut guard = self.lock();
        let (counter, latest) = &mut *guard;
        *counter += 1;
        latest.insert(port_id.clone(), *counter);
        *counter
    }

    /// Forget every pending activation (a reset).
    pub fn clear(&self) {
        self.lock().1.clear();
    }

    /// Whether `ticket` is still the latest for `port_id` (then it is used up).
    pub fn take(&self, port_id: &PortId, ticket: u64) -> bool {
        let mut guard = self.lock();
        let current = guard.1.get(port_id) == Some(&ticket);
        if current {
            guard.1.remove(port_id);
        }
        current
    }
}

impl AppOptions {
    /// The status a port gets when it is attached.
    pub fn attached_status(&self) -> PortStatus {
        if self.port_activation_delay.is_zero() {
            PortStatus::Active
        } else {
            self.port_initial_status
        }
    }
}

pub struct AppInner {
    pub cloud: Cloud,
    /// Who is calling (`--auth`).
    pub auth: Authenticator,
    /// The compute host named in instance-action events.
    pub host: String,
    pub policy: Arc<Policy>,
    pub options: AppOptions,
    /// Delayed port activations waiting (`--port-activation-delay-ms`).
    pub activations: PendingActivations,
    /// This app's metrics registry (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// `/openapi.json` for this configuration, made on first request.
    openapi: std::sync::OnceLock<bytes::Bytes>,
}

#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

impl AppState {
    /// Nova's default policy; in `builtin` mode the default users.
    pub fn new(cloud: Cloud, auth: AuthMode) -> Self {
        let auth = match auth {
            AuthMode::Noauth => Authenticator::NoAuth,
            AuthMode::Builtin => Authenticator::Builtin(
                BuiltinKeystone::from_config(&crate::config::default_identity())
                    .expect("the default identity is valid"),
            ),
            AuthMode::Keystone => panic!("keystone mode needs AppState::with and a KeystoneClient"),
        };
        Self::with(cloud, auth, Policy::default())
    }

    /// Everything given.
    pub fn with(cloud: Cloud, auth: Authenticator, policy: Policy) -> Self {
        let metrics = Arc::new(Metrics::new(cloud.commit_histogram().clone()));
        AppState(Arc::new(AppInner {
            cloud,
            auth,
            host: "porthole".to_owned(),
            policy: Arc::new(policy),
            options: AppOptions::default(),
            activations: PendingActivations::default(),
            metrics,
            openapi: std::sync::OnceLock::new(),
        }))
    }

    /// The same state with `options` (before it is shared).
    pub fn with_options(mut self, options: AppOptions) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("options are set before the state is shared")
            .options = options;
        self
    }

    /// The OpenAPI document of the routes this configuration serves.
    pub fn openapi_document(&self) -> bytes::Bytes {
        self.openapi
            .get_or_init(|| crate::api::openapi::document_for(self))
            .clone()
    }

    /// Where a client gets a token: the builtin Keystone's URL (its
    /// configured public URL, else the request's host), for `WWW-Authenticate`.
    pub fn identity_url(&self, headers: &axum::http::HeaderMap) -> String {
        let base = self
            .auth
            .builtin()
            .and_then(|b| b.public_url.clone())
            .unwrap_or_else(|| crate::api::response::base_url(headers));
        format!("{base}/identity")
    }
}

impl Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

/// The whole application, ready to serve or to `oneshot` in tests.
pub fn build_router(state: AppState) -> App {
    let routes = endpoint::routes(&state)
        .fallback(middleware::fallback)
        .method_not_allowed_fallback(middleware::method_not_routed)
        .with_state(state.clone());
    around(routes, state)
}

/// What wraps every request, routed or not: request ids, the access log and
/// metrics, and a panic turned into Nova's 500. Around the whole router
/// (not per route), so that it sees, and can clean up, what axum adds to
/// unrouted methods.
fn around(routes: Router, state: AppState) -> App {
    App { state, routes }
}

/// The application: the router behind [`middleware::request_id_and_log`]
/// and [`middleware::catching_panics`]. A service of its own, not layers
/// on a router: one boxed future per request around the routing.
#[derive(Clone)]
pub struct App {
    state: AppState,
    routes: Router,
}

impl Service<Request> for App {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // The router is always ready (its clone serves the request).
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let state = self.state.clone();
        let routes = self.routes.clone();
        Box::pin(async move {
            Ok(middleware::request_id_and_log(state, request, |request| {
                middleware::catching_panics(async move {
                    match routes.oneshot(request).await {
                        Ok(response) => response,
                        Err(never) => match never {},
                    }
                })
            })
            .await)
        })
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_panic_is_novas_500_with_request_ids() {
        let cloud = Cloud::open(Arc::new(crate::store::MemoryStore))
            .await
            .unwrap();
        let state = AppState::new(cloud, AuthMode::Noauth);
        let routes = Router::new().route(
            "/v2.1/boom",
            axum::routing::get(|| async { panic!("secret detail") as &str }),
        );
        let app = around(routes, state);
        let request = Request::get("/v2.1/boom").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);
        assert!(response.headers().contains_key("x-openstack-request-id"));
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"computeFault": {"code": 500, "message": "Unexpected API Error. Please contact the administrator\n<class 'nova.exception.NovaException'>"}}"#
        );
    }

    /// A panic half-way through a write: Nova's 500, and the world as it
    /// was before the request.
    #[tokio::test]
    async fn a_panic_in_a_write_is_a_500_that_changes_nothing() {
        use crate::domain::{Change, Server, VmState};
        let cloud = Cloud::open(Arc::new(crate::store::MemoryStore))
            .await
            .unwrap();
        let server = Server {
            id: "s1".into(),
            name: String::new(),
            project_id: "p".into(),
            user_id: "u".into(),
            vm_state: VmState::Active,
            task_state: None,
            locked: false,
            launched: true,
            details: Default::default(),
        };
        cloud
            .write(|txn| txn.put(Change::PutServer(server.clone())))
            .await
            .unwrap();
        let state = AppState::new(cloud, AuthMode::Noauth);
        let before = state.cloud.read(|world| world.clone()).await.unwrap();
        let writer = state.clone();
        let routes = Router::new().route(
            "/v2.1/boom",
            axum::routing::post(move || async move {
                let _ = writer
                    .cloud
                    .write(|txn| {
                        let mut locked = server.clone();
                        locked.locked = true;
                        txn.put(Change::PutServer(locked));
                        txn.put(Change::DeleteServer("s1".into()));
                        panic!("half-way")
                    })
                    .await;
                "unreachable"
            }),
        );
        let app = around(routes, state.clone());
        let request = Request::post("/v2.1/boom").body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(
            state.cloud.read(|world| world.clone()).await.unwrap(),
            before
        );
    }
}

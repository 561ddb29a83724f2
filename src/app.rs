//! `AppState` and `build_router`: every route and layer, in one place.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::{any, get};
use axum::Router;

use crate::api::fault::not_found_page;
use crate::api::identity as identity_api;
use crate::api::injection::FaultRules;
use crate::api::{
    control, health, injection, instance_actions, interfaces, middleware, openapi, versions,
};
use crate::config::AuthMode;
use crate::domain::Policy;
use crate::identity::Identity;
use crate::keystone::Keystone;
use crate::metrics::{self, Metrics};
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
    pub port_initial_status: &'static str,
    /// What `POST /_porthole/reset` returns to: the start-up seed.
    pub seed: Arc<Vec<crate::domain::Change>>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            control_plane: true,
            port_activation_delay: std::time::Duration::ZERO,
            port_initial_status: "DOWN",
            seed: Arc::default(),
        }
    }
}

/// The latest activation scheduled for each port: a timer from an earlier
/// attachment of the same port (detached and attached again) is stale and
/// must not turn the new one `ACTIVE` early.
#[derive(Debug, Default)]
pub struct PendingActivations {
    latest: std::sync::Mutex<(u64, std::collections::HashMap<String, u64>)>,
}

impl PendingActivations {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, std::collections::HashMap<String, u64>)> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A ticket for `port_id`, superseding any earlier one.
    pub fn schedule(&self, port_id: &str) -> u64 {
        let mut guard = self.lock();
        let (counter, latest) = &mut *guard;
        *counter += 1;
        latest.insert(port_id.to_owned(), *counter);
        *counter
    }

    /// Forget every pending activation (a reset).
    pub fn clear(&self) {
        self.lock().1.clear();
    }

    /// Whether `ticket` is still the latest for `port_id` (then it is used up).
    pub fn take(&self, port_id: &str, ticket: u64) -> bool {
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
    pub fn attached_status(&self) -> &'static str {
        if self.port_activation_delay.is_zero() {
            "ACTIVE"
        } else {
            self.port_initial_status
        }
    }
}

pub struct AppInner {
    pub cloud: Cloud,
    pub auth: AuthMode,
    /// The compute host named in instance-action events.
    pub host: String,
    pub policy: Arc<Policy>,
    /// The builtin Keystone (`builtin` mode only).
    pub identity: Option<Identity>,
    /// The external Keystone (`keystone` mode only).
    pub keystone: Option<Keystone>,
    pub options: AppOptions,
    /// Faults on demand, set through the control plane.
    pub faults: FaultRules,
    /// Delayed port activations waiting (`--port-activation-delay-ms`).
    pub activations: PendingActivations,
    /// This app's metrics registry (`GET /metrics`).
    pub metrics: Arc<Metrics>,
}

#[derive(Clone)]
pub struct AppState(Arc<AppInner>);

impl AppState {
    /// Nova's default policy; in `builtin` mode the default users.
    pub fn new(cloud: Cloud, auth: AuthMode) -> Self {
        let identity = (auth == AuthMode::Builtin).then(|| {
            Identity::from_config(&crate::config::default_identity())
                .expect("the default identity is valid")
        });
        Self::with(cloud, auth, Policy::default(), identity)
    }

    /// Everything given; `identity` is used in `builtin` mode.
    pub fn with(cloud: Cloud, auth: AuthMode, policy: Policy, identity: Option<Identity>) -> Self {
        let metrics = Arc::new(Metrics::new(cloud.commit_histogram().clone()));
        AppState(Arc::new(AppInner {
            cloud,
            auth,
            host: "porthole".to_owned(),
            policy: Arc::new(policy),
            identity: identity.filter(|_| auth == AuthMode::Builtin),
            keystone: None,
            options: AppOptions::default(),
            faults: FaultRules::default(),
            activations: PendingActivations::default(),
            metrics,
        }))
    }

    /// The same state with `options` (before it is shared).
    pub fn with_options(mut self, options: AppOptions) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("options are set before the state is shared")
            .options = options;
        self
    }

    /// `keystone` mode, against `keystone`.
    pub fn with_keystone(cloud: Cloud, policy: Policy, keystone: Keystone) -> Self {
        let metrics = Arc::new(Metrics::new(cloud.commit_histogram().clone()));
        AppState(Arc::new(AppInner {
            cloud,
            auth: AuthMode::Keystone,
            host: "porthole".to_owned(),
            policy: Arc::new(policy),
            identity: None,
            keystone: Some(keystone),
            options: AppOptions::default(),
            faults: FaultRules::default(),
            activations: PendingActivations::default(),
            metrics,
        }))
    }
}

impl Deref for AppState {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

/// The compute routes, each in both URL forms (public for `tests/openapi.rs`,
/// which checks each is documented).
pub fn compute_routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/v2.1", any(versions::v21))
        .route("/v2.1/", any(versions::v21))
        .route("/v2.1/{project_id}/", any(versions::v21));
    for prefix in ["/v2.1", "/v2.1/{project_id}"] {
        router = router
            .route(
                &format!("{prefix}/versions/{{version_id}}"),
                get(versions::show_version),
            )
            .route(
                &format!("{prefix}/servers/{{server_id}}/os-interface"),
                get(interfaces::list_interfaces).post(interfaces::attach_interface),
            )
            .route(
                &format!("{prefix}/servers/{{server_id}}/os-interface/{{port_id}}"),
                get(interfaces::show_interface).delete(interfaces::detach_interface),
            )
            .route(
                &format!("{prefix}/servers/{{server_id}}/os-instance-actions"),
                get(instance_actions::list_instance_actions),
            )
            .route(
                &format!("{prefix}/servers/{{server_id}}/os-instance-actions/{{request_id}}"),
                get(instance_actions::show_instance_action),
            );
    }
    router
}

/// Whether `path` is under Nova's API mounts (`/v2.1`, `/v2`), and whether
/// it is inside one (`/v2.1/+`, `/v2/+`): those pipelines run
/// keystonemiddleware before the router, so there no valid token means 401,
/// not 404.
fn api_mount(path: &str) -> (bool, bool) {
    let (mut api, mut behind_auth) = (false, false);
    for mount in ["/v2.1", "/v2"] {
        if let Some(rest) = path.strip_prefix(mount) {
            api |= rest.is_empty() || rest.starts_with('/');
            behind_auth |= rest.starts_with('/');
        }
    }
    (api, behind_auth)
}

/// Nova's router 404, after authentication where Nova authenticates first.
async fn not_routed(state: &AppState, request: Request) -> Response {
    if api_mount(request.uri().path()).1 {
        if let Some(refused) = middleware::body_too_large(&request) {
            return refused;
        }
        if let Err(unauthorized) = middleware::authenticate(state, request.headers()).await {
            return unauthorized;
        }
    }
    not_found_page(request.method(), request.headers())
}

/// No route: inside the API mounts Nova's router 404, elsewhere its
/// version choice.
async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    if api_mount(request.uri().path()).0 {
        not_routed(&state, request).await
    } else {
        versions::multiple_choices(request).await
    }
}

/// A route without this method: the router's 404, never a 405.
async fn method_not_routed(State(state): State<AppState>, request: Request) -> Response {
    not_routed(&state, request).await
}

/// The whole application, ready to serve or to `oneshot` in tests.
pub fn build_router(state: AppState) -> Router {
    let compute = compute_routes()
        .route_layer(from_fn_with_state(state.clone(), injection::inject_faults))
        .route_layer(from_fn_with_state(state.clone(), middleware::compute_api));
    let mut routes = Router::new();
    if state.identity.is_some() {
        routes = routes.merge(identity_api::routes());
    }
    if state.options.control_plane {
        routes = routes.merge(control::routes(state.clone()));
    }
    let routes = routes
        .route("/", any(versions::root))
        .route("/v2", any(versions::v20))
        .route("/v2/", any(versions::v20))
        .route("/openapi.json", get(openapi::openapi_json))
        .merge(compute)
        // Operations: outside Nova's pipeline, no auth.
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::scrape))
        .route_layer(from_fn(metrics::tag_operation))
        .fallback(fallback)
        .method_not_allowed_fallback(method_not_routed)
        .with_state(state.clone());
    // Around the whole router (not per route), so that it sees, and can
    // clean up, what axum adds to unrouted methods.
    let app = tower::ServiceBuilder::new()
        .layer(from_fn_with_state(state, middleware::request_id_and_log))
        .service(routes);
    Router::new().fallback_service(app)
}

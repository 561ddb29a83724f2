//! The pipelines, in Nova's order: request ids, the access log and metrics
//! around everything; then, for routed compute calls, body size, the token,
//! the router's rules, microversion, Content-Type and the caller.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::LazyLock;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::compute::versions::multiple_choices;
use super::endpoint::{Endpoint, Pipeline};
use super::extract::{too_large_page, ApiContext, RequestId, MAX_REQUEST_BODY};
use super::fault::{
    accept_quality, not_found_page, refusal_response, WebObPage, COMPUTE_JSON_CONTENT_TYPE,
};
use super::identity;
use super::response::JSON_CONTENT_TYPE;
use crate::app::AppState;
use crate::auth::{Authenticated, Credentials};
use crate::domain::ids::{is_route_project_id, IdSource};
use crate::domain::microversion::{parse_version, requested_version, VersionError};
use crate::domain::network::NeutronFault;
use crate::domain::ApiVersion;
use crate::error::Fault;

pub static OPENSTACK_API_VERSION: HeaderName = HeaderName::from_static("openstack-api-version");
pub static NOVA_API_VERSION: HeaderName = HeaderName::from_static("x-openstack-nova-api-version");
static OPENSTACK_REQUEST_ID: HeaderName = HeaderName::from_static("x-openstack-request-id");
static COMPUTE_REQUEST_ID: HeaderName = HeaderName::from_static("x-compute-request-id");

/// Whether `path` is under Nova's API mounts (`/v2.1`, `/v2`), and whether
/// it is inside one (`/v2.1/+`, `/v2/+`): those pipelines add request ids,
/// and run keystonemiddleware before the router, so there no valid token
/// means 401, not 404.
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
pub async fn not_routed(state: &AppState, request: Request) -> Response {
    if api_mount(request.uri().path()).1 {
        if let Some(refused) = body_too_large(&request) {
            return refused;
        }
        if let Err(unauthorized) = authenticate(state, request.headers(), None).await {
            return unauthorized;
        }
    }
    not_found_page(request.method(), request.headers())
}

/// No route: inside the API mounts Nova's router 404, elsewhere its
/// version choice.
pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    if identity_served(&state, &request) {
        return identity::unrouted(request).await;
    }
    if is_network_path(request.uri().path()) {
        return network_unrouted(&state, request, false).await;
    }
    if api_mount(request.uri().path()).0 {
        not_routed(&state, request).await
    } else {
        multiple_choices(request.headers(), request.uri().path())
    }
}

/// A route without this method: the router's 404, never a 405.
pub async fn method_not_routed(State(state): State<AppState>, request: Request) -> Response {
    if identity_served(&state, &request) {
        return identity::unrouted(request).await;
    }
    if is_network_path(request.uri().path()) {
        return network_unrouted(&state, request, true).await;
    }
    not_routed(&state, request).await
}

/// Neutron's router: behind keystonemiddleware, a 404 `HTTPNotFound` for an
/// unknown path, a 405 `HTTPMethodNotAllowed` for a known path's other methods.
async fn network_unrouted(state: &AppState, request: Request, known_path: bool) -> Response {
    if let Err(unauthorized) = authenticate(state, request.headers(), None).await {
        return unauthorized;
    }
    let fault = if known_path {
        NeutronFault::new(
            405,
            "HTTPMethodNotAllowed",
            "The server could not comply with the request since it is either malformed or otherwise incorrect.",
        )
    } else {
        NeutronFault::new(404, "HTTPNotFound", "The resource could not be found.")
    };
    fault.into_response()
}

/// Under `/identity` with the builtin Keystone: Flask's 404 and 405, not Nova's.
fn identity_served(state: &AppState, request: &Request) -> bool {
    state.auth.builtin().is_some() && identity::is_identity_path(request.uri().path())
}

/// `response`, or Nova's 500 if making it panics.
pub async fn catching_panics(response: impl Future<Output = Response>) -> Response {
    use futures_util::FutureExt;
    std::panic::AssertUnwindSafe(response)
        .catch_unwind()
        .await
        .unwrap_or_else(panic_response)
}

/// A handler panicked: Nova's 500, the detail in the log only. The world
/// is as it was before the request (a write rolls back on a panic).
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    Fault::Internal(format!("panic: {detail}")).into_response()
}

/// Request ids on every API response, one log line and the metrics of
/// every request; `next` handles it.
pub async fn request_id_and_log<Fut: Future<Output = Response>>(
    state: AppState,
    mut request: Request,
    next: impl FnOnce(Request) -> Fut,
) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    if request.uri().path().contains("//") {
        // Nova's router collapses empty path segments.
        if let Some(collapsed) = collapse_slashes(request.uri()) {
            *request.uri_mut() = collapsed;
        }
    }
    let uri = request.uri().clone();
    let in_api = api_mount(uri.path()).0;
    // Neutron's version list carries no request id; its API does.
    let in_network = uri.path().starts_with("/networking/v2.0");
    if in_api && method == Method::OPTIONS {
        // oslo's CORS middleware, ahead of everything, answers OPTIONS itself.
        return StatusCode::OK.into_response();
    }
    // Every request gets an id for its log lines; only API responses carry
    // it, and only theirs come from the (possibly seeded) id source, so that
    // health probes do not shift a deterministic run's ids.
    let request_id = if in_api || in_network {
        let id = RequestId::generate(state.cloud.ids());
        request.extensions_mut().insert(id.clone());
        id
    } else {
        let id = RequestId::generate(&IdSource::random());
        if identity::is_identity_path(uri.path()) {
            // Keystone's answers carry it too (the identity envelope).
            request.extensions_mut().insert(id.clone());
        }
        id
    };
    // Every line logged while handling the request carries its id.
    let logging = crate::telemetry::RequestLogging::new(&request_id.0);
    let mut response = logging
        .run(crate::service::one_sync_per_request(next(request)))
        .await;
    // axum names the methods of a path it could not route; Nova's router
    // does not (Keystone's Flask does, and so does porthole's).
    if !identity::is_identity_path(uri.path()) {
        response.headers_mut().remove(header::ALLOW);
    }
    if in_api {
        let headers = response.headers_mut();
        headers.insert(OPENSTACK_REQUEST_ID.clone(), request_id.0.clone());
        headers.insert(COMPUTE_REQUEST_ID.clone(), request_id.0);
    } else if in_network {
        // Neutron's answers carry the one request id header.
        response
            .headers_mut()
            .insert(OPENSTACK_REQUEST_ID.clone(), request_id.0);
    }
    let elapsed = started.elapsed();
    let endpoint = response.extensions().get::<Endpoint>().copied();
    let version = response.headers().get(&NOVA_API_VERSION);
    state.metrics.record(
        endpoint.map_or("other", Endpoint::label),
        response.status().as_u16(),
        version.and_then(|v| v.to_str().ok()),
        elapsed,
    );
    logging.access(
        &method,
        &uri,
        response.status().as_u16(),
        elapsed.as_micros() as u64,
    );
    response
}

fn collapse_slashes(uri: &axum::http::Uri) -> Option<axum::http::Uri> {
    let mut path = String::with_capacity(uri.path().len());
    for c in uri.path().chars() {
        if !(c == '/' && path.ends_with('/')) {
            path.push(c);
        }
    }
    let path_and_query = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path,
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(path_and_query.parse().ok()?);
    axum::http::Uri::from_parts(parts).ok()
}

/// Under the network API's mount (`/networking`).
pub fn is_network_path(path: &str) -> bool {
    path.strip_prefix(super::network::MOUNT)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The network API layer, on every routed `/networking/v2.0` call:
/// sizelimit, keystonemiddleware (the same authentication as compute),
/// then the caller for the handler. Errors are Neutron's.
pub async fn network_api(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(refused) = body_too_large(&request) {
        return refused;
    }
    let authenticated = match authenticate(&state, request.headers(), None).await {
        Ok(authenticated) => authenticated,
        Err(response) => return response,
    };
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .cloned()
        .unwrap_or_else(|| RequestId::generate(state.cloud.ids()));
    request.extensions_mut().insert(ApiContext {
        request_id,
        version: ApiVersion::MIN,
        caller: authenticated.caller,
        token_project: authenticated.token_project,
    });
    next.run(request).await
}

/// Pre-built header values for every supported version.
static VERSION_VALUES: LazyLock<Vec<(HeaderValue, HeaderValue)>> = LazyLock::new(|| {
    (0..=ApiVersion::MAX.minor)
        .map(|minor| version_values(ApiVersion::new(2, minor)))
        .collect()
});

fn version_values(version: impl std::fmt::Display) -> (HeaderValue, HeaderValue) {
    (
        HeaderValue::from_str(&format!("compute {version}")).expect("ascii"),
        HeaderValue::from_str(&version.to_string()).expect("ascii"),
    )
}

/// `OpenStack-API-Version`, the legacy header and the two `Vary` lines.
pub fn add_version_headers(headers: &mut HeaderMap, version: ApiVersion) {
    let (standard, legacy) = match VERSION_VALUES.get(version.minor as usize) {
        Some(values) if version.major == 2 => values.clone(),
        _ => version_values(version),
    };
    insert_version_headers(headers, standard, legacy);
}

fn insert_version_headers(headers: &mut HeaderMap, standard: HeaderValue, legacy: HeaderValue) {
    headers.insert(OPENSTACK_API_VERSION.clone(), standard);
    headers.insert(NOVA_API_VERSION.clone(), legacy);
    headers.append(
        header::VARY,
        HeaderValue::from_static("OpenStack-API-Version"),
    );
    headers.append(
        header::VARY,
        HeaderValue::from_static("X-OpenStack-Nova-API-Version"),
    );
}

fn header_text(headers: &HeaderMap, name: &HeaderName) -> Option<String> {
    let mut values = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .peekable();
    values.peek()?;
    Some(values.collect::<Vec<_>>().join(","))
}

/// The negotiated version, or the fault (with the version to echo, for 406).
pub fn negotiate_version(headers: &HeaderMap) -> Result<ApiVersion, (Fault, Option<String>)> {
    if !headers.contains_key(&OPENSTACK_API_VERSION) && !headers.contains_key(&NOVA_API_VERSION) {
        // Neither header: the minimum (what requested_version(None, None) means).
        return Ok(ApiVersion::MIN);
    }
    let standard = header_text(headers, &OPENSTACK_API_VERSION);
    let legacy = header_text(headers, &NOVA_API_VERSION);
    match requested_version(standard.as_deref(), legacy.as_deref()) {
        None => Ok(ApiVersion::MIN),
        Some(value) => parse_version(value).map_err(|e| match e {
            VersionError::InvalidFormat(raw) => (Fault::InvalidVersionFormat(raw), None),
            VersionError::NotSupported(v) => (Fault::VersionNotSupported(v.clone()), Some(v)),
        }),
    }
}

/// Nova's Content-Type rule: absent, empty and `text/plain` mean "none";
/// otherwise the media type (case-sensitive) must be a JSON one.
fn content_type_supported(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let media = value.split(';').next().unwrap_or("").trim();
    matches!(
        media,
        "" | "text/plain" | "application/json" | "application/vnd.openstack.compute+json"
    )
}

/// The URL's `{project_id}` segment, if the route has one.
fn url_project(request: &Request) -> Option<Cow<'_, str>> {
    let route = request.extensions().get::<axum::extract::MatchedPath>()?;
    // Every compute route with a project has it right after /v2.1.
    if !route.as_str().starts_with("/v2.1/{project_id}") {
        return None;
    }
    let segment = request.uri().path().strip_prefix("/v2.1/")?;
    let segment = segment
        .split_once('/')
        .map_or(segment, |(project, _)| project);
    Some(if segment.contains('%') {
        percent_encoding::percent_decode_str(segment).decode_utf8_lossy()
    } else {
        // The byte-at-a-time decoder costs more than the rest of this.
        Cow::Borrowed(segment)
    })
}

static X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");
static X_ROLES: HeaderName = HeaderName::from_static("x-roles");

/// What the request says about its caller.
fn credentials<'r>(headers: &'r HeaderMap, url_project: Option<&'r str>) -> Credentials<'r> {
    let text = |name: &HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    Credentials {
        token: text(&X_AUTH_TOKEN),
        roles: text(&X_ROLES),
        url_project,
    }
}

/// keystonemiddleware: the caller, or the 401 / 503 it answers itself.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    url_project: Option<&str>,
) -> Result<Authenticated, Response> {
    state
        .auth
        .authenticate(
            &state.cloud,
            &state.policy,
            &credentials(headers, url_project),
        )
        .await
        .map_err(|refusal| refusal_response(&refusal, &state.identity_url(headers), headers))
}

/// oslo.middleware's sizelimit, first in Nova's pipeline (before the token
/// and the router): a declared body over the limit is 413.
pub fn body_too_large(request: &Request) -> Option<Response> {
    let too_large = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        .is_some_and(|len| len > MAX_REQUEST_BODY);
    too_large.then(|| too_large_page(request.method(), request.headers()))
}

/// The image API layer: sizelimit and the token (keystonemiddleware, as
/// in front of Glance); the caller goes to the handler.
pub async fn image_api(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(refused) = body_too_large(&request) {
        return refused;
    }
    match authenticate(&state, request.headers(), None).await {
        Ok(authenticated) => {
            request.extensions_mut().insert(authenticated.caller);
            next.run(request).await
        }
        Err(response) => response,
    }
}

/// A compute handler behind Nova's pipeline ([`compute_api`]), on every
/// routed /v2.1 call. A handler, not a `from_fn` layer: one boxed future
/// per request where a layer costs four, and two clones of the service.
#[derive(Clone)]
pub struct BehindCompute<H> {
    pub endpoint: Endpoint,
    pub handler: H,
}

impl<H, T> Handler<T, AppState> for BehindCompute<H>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    type Future = Pin<Box<dyn Future<Output = Response> + Send>>;

    fn call(self, request: Request, state: AppState) -> Self::Future {
        let BehindCompute { endpoint, handler } = self;
        let handler_state = state.clone();
        Box::pin(compute_api(state, endpoint, request, move |request| {
            handler.call(request, handler_state)
        }))
    }
}

/// The compute API: the endpoint tagged (see `endpoint::tagging`), Nova's
/// pipeline, then fault injection and the handler (`next`).
pub async fn compute_api<Fut: Future<Output = Response>>(
    state: AppState,
    endpoint: Endpoint,
    request: Request,
    next: impl FnOnce(Request) -> Fut,
) -> Response {
    super::endpoint::tagging(endpoint, compute_pipeline(state, endpoint, request, next)).await
}

async fn compute_pipeline<Fut: Future<Output = Response>>(
    state: AppState,
    endpoint: Endpoint,
    mut request: Request,
    next: impl FnOnce(Request) -> Fut,
) -> Response {
    // axum answers HEAD with a GET route; Nova's router does not.
    if request.method() == Method::HEAD
        && endpoint.pipeline() == Pipeline::Compute
        && endpoint.method().is_some()
    {
        return Box::pin(not_routed(&state, request)).await;
    }
    if let Some(refused) = body_too_large(&request) {
        return refused;
    }
    let url_project = url_project(&request);
    // keystonemiddleware, ahead of Nova's router: every compute route but the
    // public version documents needs a valid token.
    let public = endpoint.pipeline() == Pipeline::ComputePublic;
    let authenticated = if public {
        crate::auth::noauth::caller(&Credentials::default(), &state.policy)
    } else {
        match authenticate(&state, request.headers(), url_project.as_deref()).await {
            Ok(authenticated) => authenticated,
            Err(response) => return response,
        }
    };
    // Nova's router, behind keystonemiddleware: a project id it does not
    // route is a 404, for a caller with a valid token.
    if url_project
        .as_deref()
        .is_some_and(|p| !is_route_project_id(p))
    {
        return not_found_page(request.method(), request.headers());
    }
    let prefers_compute_json = accept_prefers_compute_json(request.headers());
    let version = match negotiate_version(request.headers()) {
        Ok(version) => version,
        Err((fault, echo)) => {
            let mut response = fault.into_response();
            if let Some(version) = echo {
                // Digits and a dot, as parsed.
                let (standard, legacy) = version_values(version);
                insert_version_headers(response.headers_mut(), standard, legacy);
            }
            return response;
        }
    };
    let mut response = if !content_type_supported(request.headers()) {
        Fault::UnsupportedMediaType.into_response()
    } else {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .cloned()
            .unwrap_or_else(|| RequestId::generate(state.cloud.ids()));
        request.extensions_mut().insert(ApiContext {
            request_id,
            version,
            caller: authenticated.caller,
            token_project: authenticated.token_project,
        });
        super::control::faults::inject_faults(&state, endpoint, request, next).await
    };
    if response.extensions().get::<WebObPage>().is_some() {
        return response;
    }
    add_version_headers(response.headers_mut(), version);
    if prefers_compute_json
        && response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v == JSON_CONTENT_TYPE)
    {
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(COMPUTE_JSON_CONTENT_TYPE),
        );
    }
    response
}

/// WebOb's `best_match(["application/json", "application/vnd.openstack.compute+json"])`:
/// the compute type only when the client ranks it strictly higher.
fn accept_prefers_compute_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    if !accept.contains(COMPUTE_JSON_CONTENT_TYPE) {
        return false;
    }
    accept_quality(accept, COMPUTE_JSON_CONTENT_TYPE) > accept_quality(accept, JSON_CONTENT_TYPE)
}

//! Every route porthole serves, in one table: its method, its paths, the
//! pipeline it runs behind, its metrics label and its handler.
//!
//! **To add a route**, add one row to [`endpoints!`] below and write its
//! handler (with `#[utoipa::path]`, beside its wire types). The router, the
//! method filter, fault injection, metrics, logs and `/openapi.json` all read
//! this table; `tests/openapi.rs` fails if the handler is not documented.
//!
//! The endpoint of a request is decided once, by the route that matched:
//! [`tag_endpoint`] puts it in the response's extensions, for the access
//! log and metrics around the router (the compute pipeline, which knows its
//! endpoint, hands it to fault injection itself).

use axum::extract::{Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::{from_fn_with_state, Next};
use axum::response::Response;
use axum::routing::{any, on, MethodFilter, MethodRouter};
use axum::Router;

use super::compute::{flavors, instance_actions, interfaces, server_actions, servers, versions};
use super::middleware::{image_api, network_api, BehindCompute};
use super::network::{extensions, networks, ports, subnets};
use super::{control, identity, image, ops};
use crate::app::AppState;

/// What an endpoint runs behind, besides the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pipeline {
    /// Nothing: public documents and operations endpoints.
    Bare,
    /// Nova's: sizelimit, keystonemiddleware, router rules, microversion,
    /// Content-Type, the caller, fault injection.
    Compute,
    /// Nova's, without a token (`GET /v2.1`, `/v2.1/`).
    ComputePublic,
    /// The builtin Keystone (auth mode `builtin` only).
    Identity,
    /// The control plane: admin only (absent with `--control-plane off`).
    Control,
    /// Neutron's: sizelimit, keystonemiddleware (as compute), the caller;
    /// `NeutronError` faults.
    Network,
    /// The minimal Glance v2 image API: the token, no microversions.
    Image,
    /// Glance's version document: no token.
    ImagePublic,
}

/// `ANY` answers every method (the version documents do, as in Nova).
const ANY: Option<Method> = None;
const GET: Option<Method> = Some(Method::GET);
const HEAD: Option<Method> = Some(Method::HEAD);
const POST: Option<Method> = Some(Method::POST);
const PATCH: Option<Method> = Some(Method::PATCH);
const DELETE: Option<Method> = Some(Method::DELETE);
const PUT: Option<Method> = Some(Method::PUT);

macro_rules! endpoints {
    ($(
        $(#[$doc:meta])*
        $variant:ident: $method:ident [$($path:literal),+] $pipeline:ident $label:literal => $handler:expr;
    )*) => {
        /// One route of the API (see the module doc).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Endpoint {
            $($(#[$doc])* $variant,)*
        }

        impl Endpoint {
            /// Every endpoint, in table order.
            pub const ALL: &'static [Endpoint] = &[$(Endpoint::$variant,)*];

            /// The one method it answers (`None`: any).
            pub fn method(self) -> Option<Method> {
                match self { $(Endpoint::$variant => $method,)* }
            }

            /// Its paths, in axum's syntax. Compute paths with
            /// `/v2.1/{project_id}/` are also served without the project.
            pub fn paths(self) -> &'static [&'static str] {
                match self { $(Endpoint::$variant => &[$($path),+],)* }
            }

            pub fn pipeline(self) -> Pipeline {
                match self { $(Endpoint::$variant => Pipeline::$pipeline,)* }
            }

            /// Its `operation` label in `/metrics`.
            pub fn label(self) -> &'static str {
                match self { $(Endpoint::$variant => $label,)* }
            }

            /// Its handler behind its pipeline, answering its method only.
            fn service(self, state: &AppState) -> MethodRouter<AppState> {
                match self { $(Endpoint::$variant => self.pipeline().wrap($handler, state, self),)* }
            }
        }
    };
}

endpoints! {
    // --- compute: version documents
    /// `GET /`: both versions.
    ComputeRoot: ANY ["/"] Bare "versions" => versions::root;
    /// `GET /v2`: the deprecated v2.0 document.
    ComputeV20: ANY ["/v2", "/v2/"] Bare "versions" => versions::v20;
    /// `GET /v2.1`: the v2.1 document, without a token.
    ComputeV21: ANY ["/v2.1", "/v2.1/"] ComputePublic "versions" => versions::v21;
    /// `GET /v2.1/{project_id}/`: the same, behind the token.
    ComputeV21Project: ANY ["/v2.1/{project_id}/"] Compute "versions" => versions::v21;
    ShowVersion: GET ["/v2.1/{project_id}/versions/{version_id}"] Compute "versions" => versions::show_version;
    // --- compute: os-interface
    ListInterfaces: GET ["/v2.1/{project_id}/servers/{server_id}/os-interface"] Compute "list" => interfaces::list_interfaces;
    AttachInterface: POST ["/v2.1/{project_id}/servers/{server_id}/os-interface"] Compute "attach" => interfaces::attach_interface;
    ShowInterface: GET ["/v2.1/{project_id}/servers/{server_id}/os-interface/{port_id}"] Compute "show" => interfaces::show_interface;
    DetachInterface: DELETE ["/v2.1/{project_id}/servers/{server_id}/os-interface/{port_id}"] Compute "detach" => interfaces::detach_interface;
    // --- compute: os-instance-actions
    ListInstanceActions: GET ["/v2.1/{project_id}/servers/{server_id}/os-instance-actions"] Compute "instance_actions" => instance_actions::list_instance_actions;
    ShowInstanceAction: GET ["/v2.1/{project_id}/servers/{server_id}/os-instance-actions/{request_id}"] Compute "instance_actions" => instance_actions::show_instance_action;
    // --- compute: servers
    ListServers: GET ["/v2.1/{project_id}/servers"] Compute "servers" => servers::list_servers;
    ListServersDetail: GET ["/v2.1/{project_id}/servers/detail"] Compute "servers" => servers::list_servers_detail;
    ShowServer: GET ["/v2.1/{project_id}/servers/{server_id}"] Compute "servers" => servers::show_server;
    CreateComputeServer: POST ["/v2.1/{project_id}/servers"] Compute "servers" => servers::create_server;
    DeleteComputeServer: DELETE ["/v2.1/{project_id}/servers/{server_id}"] Compute "servers" => servers::delete_server;
    ServerAction: POST ["/v2.1/{project_id}/servers/{server_id}/action"] Compute "server_action" => server_actions::server_action;
    // --- compute: flavors
    ListFlavors: GET ["/v2.1/{project_id}/flavors"] Compute "flavors" => flavors::list_flavors;
    ListFlavorsDetail: GET ["/v2.1/{project_id}/flavors/detail"] Compute "flavors" => flavors::list_flavors_detail;
    ShowFlavor: GET ["/v2.1/{project_id}/flavors/{flavor_id}"] Compute "flavors" => flavors::show_flavor;
    // --- image (minimal Glance v2)
    ImageVersions: GET ["/image", "/image/"] ImagePublic "image" => image::image_versions;
    ListImages: GET ["/image/v2/images"] Image "image" => image::list_images;
    ShowImage: GET ["/image/v2/images/{image_id}"] Image "image" => image::show_image;
    // --- identity (builtin Keystone v3)
    IdentityVersions: GET ["/identity", "/identity/"] Identity "identity" => identity::identity_versions;
    IdentityV3: GET ["/identity/v3", "/identity/v3/"] Identity "identity" => identity::identity_v3;
    IssueToken: POST ["/identity/v3/auth/tokens"] Identity "identity" => identity::issue_token;
    ValidateToken: GET ["/identity/v3/auth/tokens"] Identity "identity" => identity::validate_token;
    CheckToken: HEAD ["/identity/v3/auth/tokens"] Identity "identity" => identity::validate_token;
    RevokeToken: DELETE ["/identity/v3/auth/tokens"] Identity "identity" => identity::revoke_token;
    AuthCatalog: GET ["/identity/v3/auth/catalog"] Identity "identity" => identity::auth_catalog;
    // --- control plane
    Reset: POST ["/_porthole/reset"] Control "control" => control::reset;
    Seed: POST ["/_porthole/seed"] Control "control" => control::seed;
    DumpState: GET ["/_porthole/state"] Control "control" => control::dump_state;
    CreateServer: POST ["/_porthole/servers"] Control "control" => control::create_server;
    UpdateServer: PATCH ["/_porthole/servers/{server_id}"] Control "control" => control::update_server;
    DeleteServer: DELETE ["/_porthole/servers/{server_id}"] Control "control" => control::delete_server;
    AddFault: POST ["/_porthole/faults"] Control "control" => control::add_fault;
    ListFaults: GET ["/_porthole/faults"] Control "control" => control::list_faults;
    ClearFaults: DELETE ["/_porthole/faults"] Control "control" => control::clear_faults;
    DeleteFault: DELETE ["/_porthole/faults/{fault_id}"] Control "control" => control::delete_fault;
    // --- operations
    Healthz: GET ["/healthz"] Bare "health" => ops::healthz;
    Readyz: GET ["/readyz"] Bare "health" => ops::readyz;
    Metrics: GET ["/metrics"] Bare "metrics" => ops::metrics;
    OpenApi: GET ["/openapi.json"] Bare "openapi" => ops::openapi_json;
    // --- network
    NetworkVersions: GET ["/networking", "/networking/"] Bare "network" => extensions::network_versions;
    ListExtensions: GET ["/networking/v2.0/extensions"] Network "network" => extensions::list_extensions;
    ListNetworks: GET ["/networking/v2.0/networks"] Network "network" => networks::list_networks;
    CreateNetwork: POST ["/networking/v2.0/networks"] Network "network" => networks::create_network;
    ShowNetwork: GET ["/networking/v2.0/networks/{network_id}"] Network "network" => networks::show_network;
    UpdateNetwork: PUT ["/networking/v2.0/networks/{network_id}"] Network "network" => networks::update_network;
    DeleteNetwork: DELETE ["/networking/v2.0/networks/{network_id}"] Network "network" => networks::delete_network;
    ListSubnets: GET ["/networking/v2.0/subnets"] Network "network" => subnets::list_subnets;
    CreateSubnet: POST ["/networking/v2.0/subnets"] Network "network" => subnets::create_subnet;
    ShowSubnet: GET ["/networking/v2.0/subnets/{subnet_id}"] Network "network" => subnets::show_subnet;
    UpdateSubnet: PUT ["/networking/v2.0/subnets/{subnet_id}"] Network "network" => subnets::update_subnet;
    DeleteSubnet: DELETE ["/networking/v2.0/subnets/{subnet_id}"] Network "network" => subnets::delete_subnet;
    ListPorts: GET ["/networking/v2.0/ports"] Network "network" => ports::list_ports;
    CreatePort: POST ["/networking/v2.0/ports"] Network "network" => ports::create_port;
    ShowPort: GET ["/networking/v2.0/ports/{port_id}"] Network "network" => ports::show_port;
    UpdatePort: PUT ["/networking/v2.0/ports/{port_id}"] Network "network" => ports::update_port;
    DeletePort: DELETE ["/networking/v2.0/ports/{port_id}"] Network "network" => ports::delete_port;
}

impl Pipeline {
    /// Whether the running configuration serves this pipeline's routes.
    fn served(self, state: &AppState) -> bool {
        match self {
            Pipeline::Identity => state.auth.builtin().is_some(),
            Pipeline::Control => state.options.control_plane,
            Pipeline::Bare
            | Pipeline::Compute
            | Pipeline::ComputePublic
            | Pipeline::Network
            | Pipeline::Image
            | Pipeline::ImagePublic => true,
        }
    }

    /// `handler` behind the pipeline, on `endpoint`'s method, `endpoint`
    /// tagged on the request and the response (the compute pipeline tags it
    /// itself).
    fn wrap<H, T>(self, handler: H, state: &AppState, endpoint: Endpoint) -> MethodRouter<AppState>
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        if let Pipeline::Compute | Pipeline::ComputePublic = self {
            // Fault injection runs inside compute_api, before the handler.
            return method_router(endpoint.method(), BehindCompute { endpoint, handler });
        }
        self.layers(method_router(endpoint.method(), handler), state)
            .layer(from_fn_with_state(endpoint, tag_endpoint))
    }

    /// The pipeline as layers around `routed` (compute's is its handler's).
    fn layers(self, routed: MethodRouter<AppState>, state: &AppState) -> MethodRouter<AppState> {
        match self {
            Pipeline::Bare
            | Pipeline::ImagePublic
            | Pipeline::Compute
            | Pipeline::ComputePublic => routed,
            Pipeline::Image => routed.layer(from_fn_with_state(state.clone(), image_api)),
            Pipeline::Identity => {
                routed.layer(axum::middleware::from_fn(identity::identity_envelope))
            }
            Pipeline::Control => control::wrap(routed, state),
            Pipeline::Network => routed.layer(from_fn_with_state(state.clone(), network_api)),
        }
    }
}

/// `handler` on `method` only (any method for `None`).
fn method_router<H, T>(method: Option<Method>, handler: H) -> MethodRouter<AppState>
where
    H: Handler<T, AppState>,
    T: 'static,
{
    match method.map(MethodFilter::try_from) {
        Some(Ok(filter)) => on(filter, handler),
        _ => any(handler),
    }
}

impl Endpoint {
    /// Whether the running configuration serves this endpoint.
    pub fn served(self, state: &AppState) -> bool {
        self.pipeline().served(state)
    }

    /// Every path it answers on, the compute API's second URL form included.
    pub fn all_paths(self) -> impl Iterator<Item = String> {
        self.paths().iter().flat_map(move |path| {
            let bare = (self.pipeline() == Pipeline::Compute)
                .then(|| path.strip_prefix("/v2.1/{project_id}/"))
                .flatten()
                .filter(|rest| !rest.is_empty())
                .map(|rest| format!("/v2.1/{rest}"));
            std::iter::once(path.to_string()).chain(bare)
        })
    }
}

/// Every endpoint the configuration serves, each behind its pipeline and
/// tagged with itself.
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for &endpoint in Endpoint::ALL.iter().filter(|e| e.served(state)) {
        let service = endpoint.service(state);
        for path in endpoint.all_paths() {
            router = router.route(&path, service.clone());
        }
    }
    router
}

/// Decide the endpoint once, in the response for the access log and metrics.
async fn tag_endpoint(State(endpoint): State<Endpoint>, request: Request, next: Next) -> Response {
    tagging(endpoint, next.run(request)).await
}

/// `endpoint` in the response of `run`.
pub async fn tagging(
    endpoint: Endpoint,
    run: impl std::future::Future<Output = Response>,
) -> Response {
    let mut response = run.await;
    response.extensions_mut().insert(endpoint);
    response
}

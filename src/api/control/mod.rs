//! The control plane under `/_porthole/`: reset, seed and dump the state,
//! manage servers, set faults. Admin only (in `noauth`, `X-Roles` decides).

use axum::body::Bytes;
use axum::extract::{Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::extract::{FaultPath, LimitedBody};
use super::middleware::authenticate;
use super::response::{json_response, raw_json_response, to_json};
use crate::app::AppState;
use crate::domain::faults::FaultRule;
use crate::domain::ops::{self, ServerPatch};
use crate::domain::{Caller, Change, ServerId, World};
use crate::error::Fault;
use crate::seed::{check_task_state, check_vm_state, SeedDocument, SeedServer};
use faults::FaultRuleRequest;

pub mod faults;

/// The policy name a refused control call reports.
pub const CONTROL_RULE: &str = "porthole:control";

/// Seed documents may be large; the compute API's limit does not apply here.
const MAX_CONTROL_BODY: usize = 64 * 1024 * 1024;

/// A control-plane body, up to its own limit.
type ControlBody = LimitedBody<MAX_CONTROL_BODY>;

/// The control plane's layer: admins only.
pub fn wrap(handler: MethodRouter<AppState>, state: &AppState) -> MethodRouter<AppState> {
    handler.layer(from_fn_with_state(state.clone(), require_admin))
}

/// The caller as the compute API would see it (token or `noauth` headers).
async fn control_caller(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<std::sync::Arc<Caller>, Response> {
    Ok(authenticate(state, headers, None).await?.caller)
}

/// Nova's `context_is_admin` rule decides.
async fn require_admin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match control_caller(&state, request.headers()).await {
        Ok(caller) if caller.is_admin() => next.run(request).await,
        Ok(_) => Fault::PolicyNotAuthorized(CONTROL_RULE).into_response(),
        Err(refused) => refused,
    }
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Fault> {
    serde_json::from_slice(body)
        .map_err(|e| Fault::ControlBadRequest(format!("Malformed request body: {e}")))
}

/// How much the state holds, after a reset or a seed.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StateCounts {
    pub servers: usize,
    pub networks: usize,
    pub subnets: usize,
    pub ports: usize,
}

impl StateCounts {
    fn of(world: &World) -> Self {
        StateCounts {
            servers: world.servers().count(),
            networks: world.networks().count(),
            subnets: world.subnets().count(),
            ports: world.ports().count(),
        }
    }
}

/// Back to the start-up seed.
///
/// One atomic, durable step; fault rules are cleared too.
#[utoipa::path(
    post,
    path = "/_porthole/reset",
    tag = "control",
    responses(
        (status = 200, description = "What the state now holds.", body = StateCounts),
    )
)]
pub async fn reset(State(app): State<AppState>) -> Result<Response, Fault> {
    let seed = app.options.seed.clone();
    let counts = app
        .cloud
        .write(|txn| {
            // Timers of attachments the reset undoes must not fire on the seed.
            app.activations.clear();
            txn.put(Change::Reset);
            txn.put(Change::ClearFaultRules);
            for change in seed.iter() {
                txn.put(change.clone());
            }
            StateCounts::of(txn.world())
        })
        .await?;
    // Only once the reset is durable: a failed one changes nothing.
    app.cloud.ids().restart();
    Ok(json_response(StatusCode::OK, &counts))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SeedQuery {
    /// `add` (the default): the document joins the current state;
    /// `replace`: it becomes the whole state.
    pub mode: Option<String>,
}

/// Apply a seed document (the seed file's format, as JSON).
///
/// All or nothing: checked in full before anything changes.
#[utoipa::path(
    post,
    path = "/_porthole/seed",
    tag = "control",
    params(SeedQuery),
    request_body = SeedDocument,
    responses(
        (status = 200, description = "What the state now holds.", body = StateCounts),
        (status = 400, description = "Malformed body or a bad entry, named.", body = crate::api::fault::NovaFault),
    )
)]
pub async fn seed(
    State(app): State<AppState>,
    query: Result<Query<SeedQuery>, axum::extract::rejection::QueryRejection>,
    LimitedBody(body): ControlBody,
) -> Result<Response, Fault> {
    let replace = match query.map(|q| q.0.mode) {
        Ok(None) => false,
        Ok(Some(mode)) if mode == "add" => false,
        Ok(Some(mode)) if mode == "replace" => true,
        _ => {
            return Err(Fault::ControlBadRequest(
                "The query may only be mode=add or mode=replace.".into(),
            ))
        }
    };
    let document: SeedDocument = parse(&body)?;
    let counts = app
        .cloud
        .write(|txn| {
            // Checked in full before anything changes.
            let changes = if replace {
                document.changes_over(&World::default(), txn.ids())
            } else {
                document.changes_over(txn.world(), txn.ids())
            }
            .map_err(|e| Fault::ControlBadRequest(e.to_string()))?;
            if replace {
                txn.put(Change::Reset);
            }
            for change in changes {
                txn.put(change);
            }
            Ok::<_, Fault>(StateCounts::of(txn.world()))
        })
        .await??;
    Ok(json_response(StatusCode::OK, &counts))
}

/// The whole state in the seed format.
///
/// `POST /_porthole/seed?mode=replace` with it reproduces the state.
#[utoipa::path(
    get,
    path = "/_porthole/state",
    tag = "control",
    responses(
        (status = 200, description = "The state.", body = SeedDocument),
    )
)]
pub async fn dump_state(State(app): State<AppState>) -> Result<Response, Fault> {
    let body = app
        .cloud
        .read(|world| to_json(&SeedDocument::from_world(world)))
        .await?;
    Ok(raw_json_response(StatusCode::OK, body))
}

/// Create a server from a seed `[[servers]]` entry.
#[utoipa::path(
    post,
    path = "/_porthole/servers",
    tag = "control",
    request_body = SeedServer,
    responses(
        (status = 201, description = "The server, with `Location`.", body = SeedServer),
        (status = 400, description = "Malformed body, bad field or duplicate id.", body = crate::api::fault::NovaFault),
    )
)]
pub async fn create_server(
    State(app): State<AppState>,
    LimitedBody(body): ControlBody,
) -> Result<Response, Fault> {
    let entry: SeedServer = parse(&body)?;
    let server = app
        .cloud
        .write(|txn| {
            let document = SeedDocument {
                servers: vec![entry],
                ..SeedDocument::default()
            };
            let changes = document
                .changes_over(txn.world(), txn.ids())
                .map_err(|e| Fault::ControlBadRequest(e.to_string()))?;
            let mut created = None;
            for change in changes {
                if let Change::PutServer(server) = &change {
                    created = Some(server.clone());
                }
                txn.put(change);
            }
            created.ok_or_else(|| Fault::Internal("porthole.NoServerCreated".into()))
        })
        .await??;
    let mut response = json_response(StatusCode::CREATED, &SeedServer::from(&server));
    if let Ok(location) = format!("/_porthole/servers/{}", server.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// `PATCH /_porthole/servers/{id}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServerPatchRequest {
    pub name: Option<String>,
    pub vm_state: Option<String>,
    /// `""` or `null`: no task.
    #[serde(default, deserialize_with = "crate::seed::present")]
    #[schema(value_type = Option<String>)]
    pub task_state: Option<Option<String>>,
    pub locked: Option<bool>,
    pub launched: Option<bool>,
}

fn server_not_found(server_id: &ServerId) -> Fault {
    Fault::ControlNotFound(format!("Server {server_id} could not be found."))
}

/// Change a server's name, `vm_state`, `task_state`, `locked` or `launched`.
#[utoipa::path(
    patch,
    path = "/_porthole/servers/{server_id}",
    tag = "control",
    params(("server_id" = String, Path, description = "The server id.")),
    request_body = ServerPatchRequest,
    responses(
        (status = 200, description = "The server.", body = SeedServer),
        (status = 400, description = "Malformed body or bad field.", body = crate::api::fault::NovaFault),
        (status = 404, description = "No such server.", body = crate::api::fault::NovaFault),
    )
)]
pub async fn update_server(
    State(app): State<AppState>,
    FaultPath(server_id): FaultPath<ServerId>,
    LimitedBody(body): ControlBody,
) -> Result<Response, Fault> {
    let request: ServerPatchRequest = parse(&body)?;
    let bad = Fault::ControlBadRequest;
    let vm_state = request.vm_state.as_deref().map(check_vm_state);
    let vm_state = vm_state.transpose().map_err(bad)?;
    let task_state = match request.task_state {
        None => None,
        Some(None) => Some(None),
        Some(Some(task)) => Some(check_task_state(&task).map_err(bad)?),
    };
    let patch = ServerPatch {
        name: request.name,
        vm_state,
        task_state,
        locked: request.locked,
        launched: request.launched,
    };
    let server = app
        .cloud
        .write(|txn| ops::patch_server(txn, &server_id, patch))
        .await?
        .ok_or_else(|| server_not_found(&server_id))?;
    Ok(json_response(StatusCode::OK, &SeedServer::from(&server)))
}

/// Delete a server for good (the test suite's hard delete): its ports are
/// detached as a detach would, its instance actions go with it.
#[utoipa::path(
    delete,
    path = "/_porthole/servers/{server_id}",
    tag = "control",
    params(("server_id" = String, Path, description = "The server id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "No such server.", body = crate::api::fault::NovaFault),
    )
)]
pub async fn delete_server(
    State(app): State<AppState>,
    FaultPath(server_id): FaultPath<ServerId>,
) -> Result<StatusCode, Fault> {
    let deleted = app
        .cloud
        .write(|txn| ops::delete_server(txn, &server_id))
        .await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(server_not_found(&server_id))
    }
}

/// Set a fault rule.
#[utoipa::path(
    post,
    path = "/_porthole/faults",
    tag = "control",
    request_body = FaultRuleRequest,
    responses(
        (status = 201, description = "The rule, with its id.", body = FaultRule),
        (status = 400, description = "Malformed body or bad field.", body = crate::api::fault::NovaFault),
    )
)]
pub async fn add_fault(
    State(app): State<AppState>,
    LimitedBody(body): ControlBody,
) -> Result<Response, Fault> {
    let request: FaultRuleRequest = parse(&body)?;
    let rule = request
        .into_rule(app.cloud.ids().rule_id())
        .map_err(Fault::ControlBadRequest)?;
    app.cloud
        .write(|txn| txn.put(Change::PutFaultRule(rule.clone())))
        .await?;
    Ok(json_response(StatusCode::CREATED, &rule))
}

/// `GET /_porthole/faults` body.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FaultRules {
    pub faults: Vec<FaultRule>,
}

/// The fault rules, each with how often it fired.
#[utoipa::path(
    get,
    path = "/_porthole/faults",
    tag = "control",
    responses(
        (status = 200, description = "The rules.", body = FaultRules),
    )
)]
pub async fn list_faults(State(app): State<AppState>) -> Result<Response, Fault> {
    let faults = app.cloud.read(|world| world.fault_rules().to_vec()).await?;
    Ok(json_response(StatusCode::OK, &FaultRules { faults }))
}

/// Clear every fault rule.
#[utoipa::path(
    delete,
    path = "/_porthole/faults",
    tag = "control",
    responses(
        (status = 204, description = "Cleared."),
    )
)]
pub async fn clear_faults(State(app): State<AppState>) -> Result<StatusCode, Fault> {
    app.cloud
        .write(|txn| txn.put(Change::ClearFaultRules))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Clear one fault rule.
#[utoipa::path(
    delete,
    path = "/_porthole/faults/{fault_id}",
    tag = "control",
    params(("fault_id" = String, Path, description = "The rule's id.")),
    responses(
        (status = 204, description = "Cleared."),
        (status = 404, description = "No such rule.", body = crate::api::fault::NovaFault),
    )
)]
pub async fn delete_fault(
    State(app): State<AppState>,
    FaultPath(fault_id): FaultPath<String>,
) -> Result<StatusCode, Fault> {
    let removed = app
        .cloud
        .write(|txn| {
            let known = txn.world().fault_rules().iter().any(|r| r.id == fault_id);
            if known {
                txn.put(Change::DeleteFaultRule(fault_id.clone()));
            }
            known
        })
        .await?;
    if removed {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Fault::ControlNotFound(format!(
            "Fault rule {fault_id} could not be found."
        )))
    }
}

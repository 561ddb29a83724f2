//! Faults on demand (`/_porthole/faults`): rules that answer an os-interface
//! call with a chosen fault, or hold it back a while, before its handler
//! runs. Off until a rule is set; then one lock per call.

use std::future::Future;

use axum::extract::Request;
use axum::response::Response;
use serde::Deserialize;

use crate::api::endpoint::Endpoint;
use crate::api::fault::named_fault_response;
use crate::app::AppState;
use crate::domain::faults::{fire, FaultOperation, FaultRule};
use crate::domain::World;
use crate::error::fault_name;
use crate::error::Fault;
use axum::response::IntoResponse;

/// `POST /_porthole/faults`, as the client sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultRuleRequest {
    pub operation: Option<FaultOperation>,
    pub server_id: Option<String>,
    pub port_id: Option<String>,
    pub status: Option<u16>,
    pub fault: Option<String>,
    pub message: Option<String>,
    #[serde(default)]
    pub delay_ms: u64,
    pub times: Option<u64>,
    pub probability: Option<f64>,
}

/// The longest delay a rule may ask for (a minute), so no rule holds a
/// connection for ever.
pub const MAX_DELAY_MS: u64 = 60_000;

impl FaultRuleRequest {
    /// Validate into a rule, or say what is wrong.
    pub fn into_rule(self, id: String) -> Result<FaultRule, String> {
        if let Some(status) = self.status {
            if !(400..=599).contains(&status) {
                return Err(format!(
                    "status {status} is not an error status (400 to 599)"
                ));
            }
        } else if self.delay_ms == 0 {
            return Err("a rule needs a status, a delay_ms, or both".into());
        }
        if self.status.is_none() && (self.fault.is_some() || self.message.is_some()) {
            return Err("fault and message need a status".into());
        }
        if let Some(fault) = &self.fault {
            let ok = !fault.is_empty()
                && fault.len() <= 64
                && fault.bytes().all(|b| b.is_ascii_alphanumeric());
            if !ok {
                return Err(format!(
                    "fault '{fault}' is not a fault name (1 to 64 letters and digits)"
                ));
            }
        }
        if self.delay_ms > MAX_DELAY_MS {
            return Err(format!("delay_ms must be at most {MAX_DELAY_MS}"));
        }
        if self.times == Some(0) {
            return Err("times must be at least 1".into());
        }
        let probability = self.probability.unwrap_or(1.0);
        if !(0.0..=1.0).contains(&probability) {
            return Err("probability must be between 0 and 1".into());
        }
        Ok(FaultRule {
            id,
            operation: self.operation.unwrap_or(FaultOperation::Any),
            server_id: self.server_id,
            port_id: self.port_id,
            fault: self
                .status
                .map(|status| self.fault.unwrap_or_else(|| fault_name(status).to_owned())),
            message: self.status.map(|status| {
                self.message
                    .unwrap_or_else(|| format!("Fault injected by porthole (HTTP {status})."))
            }),
            status: self.status,
            delay_ms: self.delay_ms,
            times: self.times,
            probability,
            fired: 0,
        })
    }
}

impl FaultOperation {
    /// The operation of an endpoint, if rules can target it.
    fn of(endpoint: Endpoint) -> Option<Self> {
        match endpoint {
            Endpoint::ListInterfaces => Some(FaultOperation::List),
            Endpoint::ShowInterface => Some(FaultOperation::Show),
            Endpoint::AttachInterface => Some(FaultOperation::Attach),
            Endpoint::DetachInterface => Some(FaultOperation::Detach),
            _ => None,
        }
    }
}

/// Its server id and port id (every os-interface route has a server id).
fn target(request: &Request) -> Option<(&str, Option<&str>)> {
    // The segment after the first `servers` segment (one is followed by `/`
    // whenever a server id follows it), then the port after `os-interface`.
    let path = request.uri().path();
    let after = path.find("/servers/")? + "/servers/".len();
    let mut segments = path[after..].split('/');
    let server_id = segments.next()?;
    let port_id = segments.nth(1);
    Some((server_id, port_id))
}

/// After authentication and version negotiation, before the handler. The
/// rules are shared state: a firing is a write (counted once, whichever
/// process fires it).
pub async fn inject_faults<Fut: Future<Output = Response>>(
    state: &AppState,
    endpoint: Endpoint,
    request: Request,
    next: impl FnOnce(Request) -> Fut,
) -> Response {
    let Some(operation) = FaultOperation::of(endpoint) else {
        return next(request).await;
    };
    // The path is read only when some rule may fire (the common case has none).
    match state.cloud.read(World::has_live_fault_rules).await {
        Ok(false) => next(request).await,
        // Boxed: the common case's future stays small.
        Ok(true) => Box::pin(fire_faults(state, operation, request, next)).await,
        Err(error) => Fault::from(error).into_response(),
    }
}

/// [`inject_faults`] when some rule may fire.
async fn fire_faults<Fut: Future<Output = Response>>(
    state: &AppState,
    operation: FaultOperation,
    request: Request,
    next: impl FnOnce(Request) -> Fut,
) -> Response {
    let firing = match target(&request) {
        None => None,
        Some((server_id, port_id)) => state
            .cloud
            .write(|txn| fire(txn, operation, server_id, port_id))
            .await
            .unwrap_or_else(|error| {
                tracing::error!(%error, "cannot count a fault rule's firing");
                None
            }),
    };
    let Some(firing) = firing else {
        return next(request).await;
    };
    if !firing.delay.is_zero() {
        tokio::time::sleep(firing.delay).await;
    }
    match firing.fault {
        Some((status, name, message)) => named_fault_response(&name, status, &message),
        None => next(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::faults::Firing;
    use crate::domain::ids::IdSource;
    use crate::domain::Change;

    fn request(json: &str) -> FaultRuleRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_and_validation() {
        let rule = request(r#"{"status": 409}"#).into_rule("r".into()).unwrap();
        assert_eq!(rule.operation, FaultOperation::Any);
        assert_eq!(rule.fault.as_deref(), Some("conflictingRequest"));
        assert_eq!(rule.probability, 1.0);
        for (json, problem) in [
            (r#"{}"#, "a rule needs a status, a delay_ms, or both"),
            (
                r#"{"status": 200}"#,
                "status 200 is not an error status (400 to 599)",
            ),
            (r#"{"status": 500, "times": 0}"#, "times must be at least 1"),
            (
                r#"{"status": 500, "probability": 1.5}"#,
                "probability must be between 0 and 1",
            ),
            (
                r#"{"delay_ms": 5, "message": "m"}"#,
                "fault and message need a status",
            ),
            (
                r#"{"status": 500, "fault": "a b"}"#,
                "fault 'a b' is not a fault name (1 to 64 letters and digits)",
            ),
        ] {
            assert_eq!(
                request(json).into_rule("r".into()).unwrap_err(),
                problem,
                "{json}"
            );
        }
    }

    /// Fire once in a transaction of its own.
    fn fire_in(
        world: &mut World,
        ids: &IdSource,
        operation: FaultOperation,
        port_id: Option<&str>,
        server_id: &str,
    ) -> Option<Firing> {
        let mut txn = world.txn(ids);
        fire(&mut txn, operation, server_id, port_id)
    }

    fn add(world: &mut World, json: &str, id: &str) {
        world.apply(Change::PutFaultRule(
            request(json).into_rule(id.into()).unwrap(),
        ));
    }

    #[test]
    fn times_and_matching() {
        let mut world = World::default();
        let ids = IdSource::seeded(1);
        assert_eq!(
            fire_in(&mut world, &ids, FaultOperation::List, None, "s"),
            None
        );
        add(
            &mut world,
            r#"{"operation": "attach", "server_id": "s", "status": 409, "times": 2}"#,
            "r",
        );
        assert_eq!(
            fire_in(&mut world, &ids, FaultOperation::List, None, "s"),
            None
        );
        assert_eq!(
            fire_in(&mut world, &ids, FaultOperation::Attach, None, "t"),
            None
        );
        for _ in 0..2 {
            assert!(fire_in(&mut world, &ids, FaultOperation::Attach, None, "s").is_some());
        }
        assert_eq!(
            fire_in(&mut world, &ids, FaultOperation::Attach, None, "s"),
            None
        );
        assert_eq!(world.fault_rules()[0].fired, 2);
        // Exhausted: calls skip the write again.
        assert!(!world.has_live_fault_rules());
        world.apply(Change::DeleteFaultRule("r".into()));
        assert!(world.fault_rules().is_empty());
        add(&mut world, r#"{"status": 500, "times": 1}"#, "a");
        add(&mut world, r#"{"status": 501}"#, "b");
        fire_in(&mut world, &ids, FaultOperation::List, None, "s").unwrap();
        assert!(world.has_live_fault_rules(), "b can still fire");
    }

    #[test]
    fn probability_fires_about_that_often() {
        let mut world = World::default();
        let ids = IdSource::seeded(42);
        add(&mut world, r#"{"status": 503, "probability": 0.25}"#, "r");
        let fired = (0..4000)
            .filter(|_| fire_in(&mut world, &ids, FaultOperation::Show, Some("p"), "s").is_some())
            .count();
        assert!((800..1200).contains(&fired), "{fired}");
    }
}

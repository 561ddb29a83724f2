//! Faults on demand (`/_porthole/faults`): rules that answer an os-interface
//! call with a chosen fault, or hold it back a while, before its handler
//! runs. Off until a rule is set; then one lock per call.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::api::endpoint::Endpoint;
use crate::api::fault::named_fault_response;
use crate::app::AppState;
use crate::domain::ids::IdSource;
use crate::error::fault_name;

/// The call a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FaultOperation {
    List,
    Show,
    Attach,
    Detach,
    Any,
}

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

/// A rule as stored and listed, with how often it fired.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FaultRule {
    pub id: String,
    pub operation: FaultOperation,
    pub server_id: Option<String>,
    pub port_id: Option<String>,
    pub status: Option<u16>,
    pub fault: Option<String>,
    pub message: Option<String>,
    pub delay_ms: u64,
    /// `None`: every time.
    pub times: Option<u64>,
    pub probability: f64,
    pub fired: u64,
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

impl FaultRule {
    fn matches(&self, operation: FaultOperation, server_id: &str, port_id: Option<&str>) -> bool {
        (self.operation == FaultOperation::Any || self.operation == operation)
            && self.server_id.as_deref().is_none_or(|s| s == server_id)
            && self.port_id.as_deref().is_none_or(|p| Some(p) == port_id)
            && !self.exhausted()
    }

    /// Fired as often as `times` allows (it stays listed, with its count).
    fn exhausted(&self) -> bool {
        self.times.is_some_and(|times| self.fired >= times)
    }
}

/// What a fired rule does to the call.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    pub delay: Duration,
    /// `(status, fault name, message)`; `None`: the call goes on after the delay.
    pub fault: Option<(u16, String, String)>,
}

#[derive(Debug, Default)]
pub struct FaultRules {
    /// Whether any rule can still fire: the hot path reads only this.
    active: AtomicBool,
    rules: Mutex<Vec<FaultRule>>,
}

impl FaultRules {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<FaultRule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add(&self, rule: FaultRule) {
        let mut rules = self.lock();
        rules.push(rule);
        self.active.store(true, Ordering::Release);
    }

    pub fn list(&self) -> Vec<FaultRule> {
        self.lock().clone()
    }

    pub fn clear(&self) {
        let mut rules = self.lock();
        rules.clear();
        self.active.store(false, Ordering::Release);
    }

    /// Remove one rule; whether it existed.
    pub fn remove(&self, id: &str) -> bool {
        let mut rules = self.lock();
        let before = rules.len();
        rules.retain(|r| r.id != id);
        self.active
            .store(rules.iter().any(|r| !r.exhausted()), Ordering::Release);
        rules.len() != before
    }

    /// The first matching rule that fires (by its probability), counted.
    pub fn fire(
        &self,
        operation: FaultOperation,
        server_id: &str,
        port_id: Option<&str>,
        ids: &IdSource,
    ) -> Option<Firing> {
        if !self.active.load(Ordering::Acquire) {
            return None;
        }
        let mut rules = self.lock();
        let rule = rules.iter_mut().find(|rule| {
            rule.matches(operation, server_id, port_id)
                && (rule.probability >= 1.0 || ids.draw() < rule.probability)
        })?;
        rule.fired += 1;
        let firing = Firing {
            delay: Duration::from_millis(rule.delay_ms),
            fault: rule.status.map(|status| {
                (
                    status,
                    rule.fault.clone().unwrap_or_default(),
                    rule.message.clone().unwrap_or_default(),
                )
            }),
        };
        if rule.exhausted() && rules.iter().all(FaultRule::exhausted) {
            self.active.store(false, Ordering::Release);
        }
        Some(firing)
    }

    /// Whether a call needs classifying at all.
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
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

/// The operation, server id and port id of a routed os-interface call.
fn classify(request: &Request) -> Option<(FaultOperation, &str, Option<&str>)> {
    let operation = FaultOperation::of(*request.extensions().get::<Endpoint>()?)?;
    let mut segments = request.uri().path().split('/');
    segments.find(|s| *s == "servers")?;
    let server_id = segments.next()?;
    let port_id = segments.nth(1);
    Some((operation, server_id, port_id))
}

/// After authentication and version negotiation, before the handler.
pub async fn inject_faults(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if !state.faults.is_active() {
        return next.run(request).await;
    }
    let firing = classify(&request).and_then(|(operation, server_id, port_id)| {
        state
            .faults
            .fire(operation, server_id, port_id, state.cloud.ids())
    });
    let Some(firing) = firing else {
        return next.run(request).await;
    };
    if !firing.delay.is_zero() {
        tokio::time::sleep(firing.delay).await;
    }
    match firing.fault {
        Some((status, name, message)) => named_fault_response(&name, status, &message),
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn times_and_matching() {
        let rules = FaultRules::default();
        let ids = IdSource::seeded(1);
        assert_eq!(rules.fire(FaultOperation::List, "s", None, &ids), None);
        rules.add(
            request(r#"{"operation": "attach", "server_id": "s", "status": 409, "times": 2}"#)
                .into_rule("r".into())
                .unwrap(),
        );
        assert_eq!(rules.fire(FaultOperation::List, "s", None, &ids), None);
        assert_eq!(rules.fire(FaultOperation::Attach, "t", None, &ids), None);
        for _ in 0..2 {
            assert!(rules
                .fire(FaultOperation::Attach, "s", None, &ids)
                .is_some());
        }
        assert_eq!(rules.fire(FaultOperation::Attach, "s", None, &ids), None);
        assert_eq!(rules.list()[0].fired, 2);
        // Exhausted: calls skip the lock again.
        assert!(!rules.is_active());
        assert!(rules.remove("r"));
        assert!(!rules.remove("r"));
        rules.add(
            request(r#"{"status": 500, "times": 1}"#)
                .into_rule("a".into())
                .unwrap(),
        );
        rules.add(request(r#"{"status": 501}"#).into_rule("b".into()).unwrap());
        rules.fire(FaultOperation::List, "s", None, &ids).unwrap();
        assert!(rules.is_active(), "b can still fire");
    }

    #[test]
    fn probability_fires_about_that_often() {
        let rules = FaultRules::default();
        let ids = IdSource::seeded(42);
        rules.add(
            request(r#"{"status": 503, "probability": 0.25}"#)
                .into_rule("r".into())
                .unwrap(),
        );
        let fired = (0..4000)
            .filter(|_| {
                rules
                    .fire(FaultOperation::Show, "s", Some("p"), &ids)
                    .is_some()
            })
            .count();
        assert!((800..1200).contains(&fired), "{fired}");
    }
}

//! Faults on demand: rules, set through the control plane, that answer an
//! os-interface call with a chosen fault or hold it back a while. Kept in
//! the world (and the store), so every process sharing a store fires the
//! same rules and counts their firings together.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::world::Txn;
use super::Change;

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

/// A rule as stored and listed, with how often it fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
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

// A probability is validated to lie in 0..=1: never NaN.
impl Eq for FaultRule {}

impl FaultRule {
    fn matches(&self, operation: FaultOperation, server_id: &str, port_id: Option<&str>) -> bool {
        (self.operation == FaultOperation::Any || self.operation == operation)
            && self.server_id.as_deref().is_none_or(|s| s == server_id)
            && self.port_id.as_deref().is_none_or(|p| Some(p) == port_id)
            && !self.exhausted()
    }

    /// Fired as often as `times` allows (it stays listed, with its count).
    pub fn exhausted(&self) -> bool {
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

/// The first matching rule that fires (by its probability), counted.
pub fn fire(
    txn: &mut Txn,
    operation: FaultOperation,
    server_id: &str,
    port_id: Option<&str>,
) -> Option<Firing> {
    let ids = txn.ids();
    let mut rule = txn
        .world()
        .fault_rules()
        .iter()
        .find(|rule| {
            rule.matches(operation, server_id, port_id)
                && (rule.probability >= 1.0 || ids.draw() < rule.probability)
        })?
        .clone();
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
    txn.put(Change::PutFaultRule(rule));
    Some(firing)
}

//! Nova's compute API: version documents, os-interface, os-instance-actions.
//! Each file holds its handlers and their wire types (serialised by the
//! handlers and documented by utoipa: one definition).

use serde::Deserialize;

use super::extract::ApiContext;
use crate::domain::{ApiVersion, PortId, ServerId};
use crate::error::Fault;

pub mod flavors;
pub mod instance_actions;
pub mod interfaces;
pub mod server_actions;
pub mod servers;
pub mod validation;
pub mod versions;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ServerPath {
    /// The project (second URL form): lower-case hex digits and dashes,
    /// and the token's project (else 400).
    pub project_id: Option<String>,
    /// The server's UUID.
    #[param(value_type = String)]
    pub server_id: ServerId,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PortPath {
    /// The project (second URL form): lower-case hex digits and dashes,
    /// and the token's project (else 400).
    pub project_id: Option<String>,
    /// The server's UUID.
    #[param(value_type = String)]
    pub server_id: ServerId,
    /// The port's UUID.
    #[param(value_type = String)]
    pub port_id: PortId,
}

/// The query-string rules of list and show: UTF-8, and none at all from 2.102.
pub fn check_query(ctx: &ApiContext, query: Option<&str>) -> Result<(), Fault> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(());
    };
    let plus_as_space = query.replace('+', " ");
    if percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .is_err()
    {
        return Err(Fault::QueryNotUtf8);
    }
    if ctx.version < ApiVersion::STRICT_QUERY {
        return Ok(());
    }
    let mut names: Vec<String> = Vec::new();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if (name.is_empty() && value.is_empty()) || names.iter().any(|n| *n == name) {
            continue;
        }
        names.push(name.into_owned());
    }
    validation::check_no_query_parameters(&names)
}

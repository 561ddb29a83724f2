//! The HTTP surface, one module per API, over the domain and the service.
//!
//! - [`endpoint`]: the table of every route; [`middleware`]: the pipelines
//!   (request ids and access log, Nova's compute pipeline).
//! - Shared plumbing: [`extract`] (request context, path and body
//!   extractors), [`response`] (the JSON response builder, Python's JSON
//!   spacing, time formatting), [`fault`] (Nova's fault envelope, WebOb's
//!   error pages, keystonemiddleware's 401).
//! - The APIs, which never import each other: [`compute`] (Nova),
//!   [`identity`] (the builtin Keystone), [`control`] (`/_porthole`),
//!   [`ops`] (health, metrics, the OpenAPI document).

pub mod compute;
pub mod control;
pub mod endpoint;
pub mod extract;
pub mod fault;
pub mod identity;
pub mod image;
pub mod middleware;
pub mod network;
pub mod openapi;
pub mod ops;
pub mod python;
pub mod response;

//! The HTTP surface: Nova's wire format over the domain and the service.

pub mod auth;
pub mod context;
pub mod control;
pub mod fault;
pub mod health;
pub mod identity;
pub mod injection;
pub mod instance_actions;
pub mod interfaces;
pub mod json;
pub mod middleware;
pub mod openapi;
pub mod validation;
pub mod versions;
pub mod wire;

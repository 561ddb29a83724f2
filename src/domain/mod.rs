//! Domain types and Nova's rules. Nothing here knows HTTP or SQL.

pub mod caller;
pub mod catalog;
pub mod directory;
pub mod faults;
pub mod ids;
pub mod ipam;
pub mod microversion;
pub mod model;
pub mod network;
pub mod ops;
pub mod policy;
pub mod servers;
pub mod states;
pub mod world;

pub use caller::{Caller, Operation, Roles};
pub use microversion::ApiVersion;
pub use model::*;
pub use policy::Policy;
pub use world::{Change, World};

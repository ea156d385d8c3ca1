//! Tenants: provisioning, the inventory (`/v1/tenants` and per org), reading and
//! patching, owner reassignment and the lifecycle (suspend, reactivate, deactivate,
//! restore, delete).
//!
//! One file per part: `views` (the wire shapes of a tenant), `provision`,
//! `inventory`, `record` (read, patch, owner) and `lifecycle`. Every item is
//! re-exported here, so `tenants::provision` and the route table keep their paths.

mod inventory;
mod lifecycle;
mod provision;
mod record;
mod views;

pub(crate) use inventory::*;
pub(crate) use lifecycle::*;
pub(crate) use provision::*;
pub(crate) use record::*;
pub(crate) use views::*;

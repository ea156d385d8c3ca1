//! The domain's use cases, end to end through [`domain::Tenancy`] on the
//! in-memory store, a manual clock and sequential ids: every rule of docs/api.md §1–§2
//! as behaviour a caller sees.

mod api_keys;
mod audit_chain;
mod bounds;
mod custom_domain;
mod deletion;
mod export;
mod failures;
mod inventory;
mod inventory_limits;
mod key_authority;
mod kms;
mod lifecycle;
mod namespaces;
mod orgs;
mod patterns;
mod personal_data;
mod properties;
mod provisioning;
mod registrations;
mod rotation;
mod settings;
mod support;
mod updates;
mod webhook_deliveries;
mod webhooks;

//! The HTTP adapter's integration tests: one binary, one module per concern, all
//! against the real router served on a local port (see `app`).

mod api_key_secrets;
mod api_keys;
mod app;
mod audit;
mod audit_chain;
mod bad_requests;
mod bounds;
mod control_characters;
mod events;
mod export;
mod failing_store;
mod idempotency;
mod inventory;
mod isolation;
mod key_authority;
mod keys;
mod kms_calls;
mod library;
mod library_access;
mod lifecycle;
mod limits;
mod logs;
mod namespaces;
mod no_store;
mod openapi;
mod openapi_guards;
mod orgs;
mod owners;
mod privileges;
mod provisioning;
mod request_ids;
mod secret_scopes;
mod secrets;
mod verification;
mod webhooks;

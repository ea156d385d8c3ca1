//! The Postgres adapter against a real server: every test gets its own database
//! (`adapters_postgres::testing`), from `TEST_DATABASE_URL` or `DATABASE_URL`;
//! `cargo xtask test` provides one.

mod audit;
mod audit_chain;
mod contract;
mod errors;
mod find_key;
mod fixtures;
mod host_plans;
mod invalidation;
mod isolation;
mod key_copies;
mod migrations;
mod outbox;
mod pgbouncer;
mod plans;
mod registrations;
mod roles;
mod scoped_transactions;
mod secrets;
mod stores;
mod timeouts;

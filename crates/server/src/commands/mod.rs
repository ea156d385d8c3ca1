//! The subcommands that are more than starting the server or migrating (those
//! two stay in `main.rs`), one module per command group.

pub mod export;
pub mod kms;

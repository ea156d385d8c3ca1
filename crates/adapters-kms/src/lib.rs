//! The domain's `Kms` port, twice:
//!
//! - [`LocalKeyring`]: versioned AES-256 master keys held by this process, from
//!   a keyring file (mode 0600, created by `tenancy kms init`), from the text
//!   of one in a variable, or made up at start ([`LocalKeyring::ephemeral`],
//!   for the in-memory server). Module [`keyring`] documents the file format.
//! - [`AwsKms`]: a key in AWS KMS, through the official AWS SDK for Rust.
//!   Module [`aws`] documents how the port maps onto AWS KMS.
//!
//! Both pass `test-support`'s KMS contract unchanged. [`CheckpointKey`] is the
//! deployment's Ed25519 key that signs audit checkpoints, its seed kept in the
//! keyring file (module [`signing`]).

pub mod aws;
pub mod keyring;
pub mod signing;

pub use aws::{AwsCredentials, AwsKms, AwsKmsConfig};
pub use keyring::{KeyringError, LocalKeyring};
pub use signing::CheckpointKey;

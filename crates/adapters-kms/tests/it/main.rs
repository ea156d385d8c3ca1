//! The KMS adapters' tests: the shared KMS contract against the local keyring
//! (ephemeral and file-backed) and against AWS KMS as played by a local
//! `moto_server`, then what is particular to each (the keyring file; an AWS
//! endpoint that stops answering).

mod aws;
mod checkpoint_key;
mod keyring;
mod retire;
mod support;

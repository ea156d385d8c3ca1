//! [`MemoryDns`]: the `DnsResolver` port over a table the test sets, for
//! harnesses without a nameserver. Deployments use `adapters-dns`.

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use domain::DomainName;
use domain::ports::{DnsFailure, DnsResolver};

/// TXT records by name, or a failure to answer for a name. A name it holds
/// nothing for is NXDOMAIN. Nothing is cached: each lookup reads the table.
#[derive(Debug, Default)]
pub struct MemoryDns {
    answers: RwLock<HashMap<String, Result<Vec<String>, DnsFailure>>>,
}

impl MemoryDns {
    pub fn new() -> Self {
        Self::default()
    }

    /// `name` holds these TXT records from now on (none: it exists without
    /// TXT records).
    pub fn set_txt(&self, name: &DomainName, records: &[&str]) {
        let records = records.iter().map(|r| (*r).to_owned()).collect();
        self.set(name, Ok(records));
    }

    /// Lookups of `name` fail this way from now on.
    pub fn fail(&self, name: &DomainName, failure: DnsFailure) {
        self.set(name, Err(failure));
    }

    fn set(&self, name: &DomainName, answer: Result<Vec<String>, DnsFailure>) {
        self.answers
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.as_str().to_owned(), answer);
    }
}

#[async_trait]
impl DnsResolver for MemoryDns {
    async fn txt(&self, name: &DomainName) -> Result<Vec<String>, DnsFailure> {
        self.answers
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name.as_str())
            .cloned()
            .unwrap_or(Err(DnsFailure::NxDomain))
    }
}

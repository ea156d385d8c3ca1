//! The per-org hash chain over the audit trail (SPEC §7): what makes an edit,
//! a removal or a reordering of stored audit records detectable.
//!
//! Each org's records are numbered 1, 2, 3… in the order written (`seq`, with
//! no gaps) and each carries `hash = SHA-256(prev_hash || canonical event)`,
//! the first one's `prev_hash` being 32 zero bytes ([`ChainHash::GENESIS`]).
//! The canonical event ([`canonical_event`]) is the RFC 8785 (JCS) text of
//!
//! ```text
//! {"action","actor":{"id","kind"},"at","details","id","orgId",
//!  "requestId","seq","target":{"id","type"},"tenantId"}
//! ```
//!
//! with `at` in RFC 3339 UTC with exactly six fractional digits and `Z`, and
//! `details` either `{"sealed":"<lowercase hex>"}` (a tenant's details, sealed
//! with its data key) or `{"changes":[{"field","from","to"}…],"reason"}`.
//! Every key is ASCII and every value a string, an integer or `null`, so
//! [`crate::canonical`]'s text is exactly the JCS text here. Hashing the
//! *sealed* bytes, never the opened details, is what lets the chain of a
//! deleted (crypto-shredded) tenant still verify.
//!
//! Stores compute the links when they append (PostgreSQL in SQL, in a
//! trigger); the storage contract checks that every store agrees with this
//! definition, so the two forms cannot drift apart unnoticed. [`ChainVerifier`]
//! checks a chain read back in pages, in constant memory.

use std::fmt;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{AuditDetails, AuditRecord};

/// A link's hash: SHA-256 over the previous link's hash and the canonical event.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash([u8; 32]);

impl ChainHash {
    /// The `prev_hash` of an org's first record: 32 zero bytes.
    pub const GENESIS: Self = Self([0; 32]);

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The hash in `bytes`, if they are 32 long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// Reads 64 hex digits (either case); `None` for anything else.
    pub fn parse_hex(text: &str) -> Option<Self> {
        let text = text.as_bytes();
        if text.len() != 64 {
            return None;
        }
        let digit = |c: u8| {
            char::from(c)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
            *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
        }
        Some(Self(out))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// A position in an org's chain: a link's `seq` and hash. The head of an
/// empty chain is `seq` 0 with [`ChainHash::GENESIS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: ChainHash,
}

impl ChainHead {
    /// The head of a chain with no record yet.
    pub const GENESIS: Self = Self {
        seq: 0,
        hash: ChainHash::GENESIS,
    };

    /// The head after appending `record` to this one: what a store assigns
    /// the record. `None` for a record that is not in its stored form
    /// ([`AuditDetails::Shredded`] is a reading, never stored).
    pub fn next(&self, record: &AuditRecord) -> Option<Self> {
        let seq = self.seq + 1;
        Some(Self {
            seq,
            hash: link_hash(&self.hash, record, seq)?,
        })
    }
}

/// A stored audit record with its place in its org's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLink {
    /// The record's number in its org's chain: 1, 2, 3… with no gaps.
    pub seq: u64,
    /// `SHA-256(previous hash || canonical_event(record, seq))`, as stored.
    pub hash: ChainHash,
    pub record: AuditRecord,
}

/// The canonical (RFC 8785) bytes of `record` as the `seq`-th event of its
/// org; `None` for details that are not a stored form ([`AuditDetails::Shredded`]).
pub fn canonical_event(record: &AuditRecord, seq: u64) -> Option<Vec<u8>> {
    let details = match &record.details {
        AuditDetails::Sealed(bytes) => json!({ "sealed": hex(bytes) }),
        AuditDetails::Clear { reason, changes } => json!({
            "changes": changes
                .iter()
                .map(|c| json!({ "field": c.field, "from": c.from, "to": c.to }))
                .collect::<Vec<Value>>(),
            "reason": reason.as_ref().map(|r| r.as_str()),
        }),
        AuditDetails::Shredded => return None,
    };
    let event = json!({
        "action": record.action.as_str(),
        "actor": { "id": record.actor.id, "kind": record.actor.kind.as_str() },
        "at": format_at(record.at),
        "details": details,
        "id": record.id.as_uuid().to_string(),
        "orgId": record.org_id.as_uuid().to_string(),
        "requestId": record.request_id,
        "seq": seq,
        "target": { "id": record.target_id.to_string(), "type": record.target_kind.as_str() },
        "tenantId": record.tenant_id.map(|t| t.as_uuid().to_string()),
    });
    Some(crate::canonical::canonical_json(&event).into_bytes())
}

/// `SHA-256(prev || canonical_event(record, seq))`; `None` as for
/// [`canonical_event`].
pub fn link_hash(prev: &ChainHash, record: &AuditRecord, seq: u64) -> Option<ChainHash> {
    let event = canonical_event(record, seq)?;
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(&event);
    Some(ChainHash(hasher.finalize().into()))
}

/// What a verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainReport {
    /// No broken link and, when a checkpoint was given, not truncated.
    pub intact: bool,
    /// How many records were read.
    pub checked: u64,
    /// The last stored link read (the genesis head for an empty trail).
    pub head: ChainHead,
    /// The first `seq` whose record does not hash to its stored link, or the
    /// first number missing from the sequence.
    pub first_broken_seq: Option<u64>,
    /// Against a checkpoint: the chain ends before its `seq`, or the stored
    /// hash at its `seq` differs. `false` when no checkpoint was given.
    pub truncated: bool,
}

/// Checks an org's chain fed in `seq` order, a page at a time, in constant
/// memory: it keeps only the last good link, the last link read and counts.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    good: ChainHead,
    last: ChainHead,
    checked: u64,
    broken: Option<u64>,
    checkpoint: Option<ChainHead>,
    checkpoint_differs: bool,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self::new(None)
    }
}

impl ChainVerifier {
    /// A verifier from the start of the chain, checking against `checkpoint`
    /// (a head the caller kept from an earlier signed checkpoint), if any.
    pub fn new(checkpoint: Option<ChainHead>) -> Self {
        Self {
            good: ChainHead::GENESIS,
            last: ChainHead::GENESIS,
            checked: 0,
            broken: None,
            checkpoint_differs: checkpoint.is_some_and(|c| c.seq == 0 && c != ChainHead::GENESIS),
            checkpoint,
        }
    }

    /// The last `seq` read: where the next page starts.
    pub fn position(&self) -> u64 {
        self.last.seq
    }

    /// Checks the next stored link. After the first broken link the rest are
    /// only counted: the report names the first.
    pub fn push(&mut self, link: &AuditLink) {
        self.checked += 1;
        if self.broken.is_none() {
            let expected = self.good.seq + 1;
            match self.good.next(&link.record) {
                Some(next) if link.seq == expected && next.hash == link.hash => self.good = next,
                // A gap (or a reordering) names the first number missing.
                _ if link.seq != expected => self.broken = Some(expected),
                _ => self.broken = Some(link.seq),
            }
        }
        if self
            .checkpoint
            .is_some_and(|c| c.seq == link.seq && c.hash != link.hash)
        {
            self.checkpoint_differs = true;
        }
        self.last = ChainHead {
            seq: link.seq,
            hash: link.hash,
        };
    }

    /// The report once every link has been pushed.
    pub fn finish(self) -> ChainReport {
        let truncated = self
            .checkpoint
            .is_some_and(|c| self.checkpoint_differs || c.seq > self.last.seq);
        ChainReport {
            intact: self.broken.is_none() && !truncated,
            checked: self.checked,
            head: self.last,
            first_broken_seq: self.broken,
            truncated,
        }
    }
}

/// Verifies a whole chain at once (see [`ChainVerifier`]).
pub fn verify<'a>(
    links: impl IntoIterator<Item = &'a AuditLink>,
    checkpoint: Option<ChainHead>,
) -> ChainReport {
    let mut verifier = ChainVerifier::new(checkpoint);
    for link in links {
        verifier.push(link);
    }
    verifier.finish()
}

/// The message a signed checkpoint's signature covers: the RFC 8785 text of
/// `{"at","hash","keyId","orgId","seq"}` (`hash` in lowercase hex, `at` as in
/// the canonical event). The deployment key signs nothing else.
pub fn checkpoint_message(
    org: crate::ids::OrgId,
    head: &ChainHead,
    at: chrono::DateTime<chrono::Utc>,
    key_id: &str,
) -> Vec<u8> {
    let body = json!({
        "at": format_at(at),
        "hash": head.hash.to_hex(),
        "keyId": key_id,
        "orgId": org.as_uuid().to_string(),
        "seq": head.seq,
    });
    crate::canonical::canonical_json(&body).into_bytes()
}

/// A time as the chain writes it: RFC 3339 UTC, six fractional digits, `Z`.
pub fn format_at(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
#[path = "chain_tests.rs"]
mod tests;

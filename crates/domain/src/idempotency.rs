//! Idempotent responses (docs/api.md §2): a request carrying an `Idempotency-Key` is
//! answered once; a replay within [`REPLAY_WINDOW`] gets the first response
//! byte for byte, stored sealed with the org's data key.
//!
//! A record goes through two states. A request first *claims* its key (a
//! pending record with a lease, so a concurrent duplicate is told to wait
//! rather than run twice), then *completes* it with the response it gave, or
//! releases it if it failed and changed nothing. The rule of which claim may
//! take over an existing record is [`IdempotencyRecord::yields_to`], the same
//! for every adapter.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::ids::{OrgId, TenantId};
use crate::values::InvalidValue;

/// How long a completed response is replayed.
pub const REPLAY_WINDOW: Duration = Duration::hours(24);

/// How long a claim holds its key before another request with the same key
/// and body may take it over: a request that crashed midway does not block
/// its retries for the whole replay window.
pub const CLAIM_LEASE: Duration = Duration::seconds(60);

/// The client's name for one logical request: 1–255 visible ASCII characters
/// (a UUID, typically). Unique per org.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be 1 to {} characters",
                Self::MAX_LEN
            )));
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidValue::new(
                "must be visible ASCII characters, without spaces",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What makes two requests "the same": SHA-256 over the method, the path and
/// the canonical body, each length-prefixed. A key reused with another
/// fingerprint is the client's mistake (`422`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RequestFingerprint([u8; 32]);

impl RequestFingerprint {
    pub fn of(method: &str, path: &str, body: &[u8]) -> Self {
        let mut hash = Sha256::new();
        for part in [method.as_bytes(), path.as_bytes(), body] {
            hash.update(u64::try_from(part.len()).unwrap_or(u64::MAX).to_be_bytes());
            hash.update(part);
        }
        Self(hash.finalize().into())
    }

    /// The fingerprint of a request with a JSON body: the body counts by its
    /// canonical text ([`crate::canonical`]), so two spellings of the same JSON
    /// are one request. Refuses a body that is not JSON.
    pub fn of_json(method: &str, path: &str, body: &[u8]) -> Result<Self, InvalidValue> {
        let canonical = crate::canonical::canonicalize(body)?;
        Ok(Self::of(method, path, canonical.as_bytes()))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for RequestFingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestFingerprint(")?;
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…)")
    }
}

/// A response as it went out: status, the headers worth replaying and the body
/// bytes. What is sealed and stored; replayed exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The first byte of [`StoredResponse::to_bytes`]: the encoding's version.
const RESPONSE_FORMAT: u8 = 1;

impl StoredResponse {
    /// One byte string: the format version, the status, the header count,
    /// each header's name and value, then the body, every part
    /// length-prefixed (u32, big-endian).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.body.len());
        out.push(RESPONSE_FORMAT);
        out.extend_from_slice(&self.status.to_be_bytes());
        put_len(&mut out, self.headers.len());
        for (name, value) in &self.headers {
            put_part(&mut out, name.as_bytes());
            put_part(&mut out, value.as_bytes());
        }
        put_part(&mut out, &self.body);
        out
    }

    /// The inverse of [`Self::to_bytes`]; `None` for anything it did not write.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut reader = Reader(bytes);
        if reader.take(1)? != [RESPONSE_FORMAT] {
            return None;
        }
        let status = u16::from_be_bytes(reader.take(2)?.try_into().ok()?);
        let count = reader.len()?;
        let mut headers = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            let name = String::from_utf8(reader.part()?.to_vec()).ok()?;
            let value = String::from_utf8(reader.part()?.to_vec()).ok()?;
            headers.push((name, value));
        }
        let body = reader.part()?.to_vec();
        reader.0.is_empty().then_some(Self {
            status,
            headers,
            body,
        })
    }
}

pub(crate) fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

pub(crate) fn put_part(out: &mut Vec<u8>, part: &[u8]) {
    put_len(out, part.len());
    out.extend_from_slice(part);
}

pub(crate) struct Reader<'a>(pub(crate) &'a [u8]);

impl<'a> Reader<'a> {
    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    pub(crate) fn len(&mut self) -> Option<usize> {
        let raw = u32::from_be_bytes(self.take(4)?.try_into().ok()?);
        usize::try_from(raw).ok()
    }

    pub(crate) fn part(&mut self) -> Option<&'a [u8]> {
        let n = self.len()?;
        self.take(n)
    }
}

/// The associated data a stored response is sealed with: a label, the org id
/// and the idempotency key, each length-prefixed. A sealed response moved to
/// another org or key does not open.
pub fn response_aad(org: OrgId, key: &IdempotencyKey) -> Vec<u8> {
    let mut aad = Vec::with_capacity(48 + key.as_str().len());
    for part in [
        b"tenancy-idempotent-response-v1".as_slice(),
        org.as_uuid().as_bytes().as_slice(),
        key.as_str().as_bytes(),
    ] {
        put_part(&mut aad, part);
    }
    aad
}

/// A request's claim on its idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyClaim {
    pub org_id: OrgId,
    pub key: IdempotencyKey,
    pub fingerprint: RequestFingerprint,
    /// Identifies this claim: only its holder may complete or release it.
    pub token: Uuid,
    pub claimed_at: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl IdempotencyClaim {
    /// A claim made at `now`, leased for [`CLAIM_LEASE`] and kept for
    /// [`REPLAY_WINDOW`].
    pub fn new(
        org_id: OrgId,
        key: IdempotencyKey,
        fingerprint: RequestFingerprint,
        token: Uuid,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            org_id,
            key,
            fingerprint,
            token,
            claimed_at: now,
            lease_until: now + CLAIM_LEASE,
            expires_at: now + REPLAY_WINDOW,
        }
    }
}

/// A stored record: a claim, and once completed the response it gave, sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub claim: IdempotencyClaim,
    /// `None` while the claim is pending; the sealed [`StoredResponse`] bytes
    /// once completed.
    pub sealed_response: Option<Vec<u8>>,
    /// The tenant the response is about (the one a provisioning created), if
    /// any: deleting that tenant deletes the record, so nothing replays its
    /// name, owner or first key's secret afterwards.
    pub tenant_id: Option<TenantId>,
}

impl IdempotencyRecord {
    /// Whether `claim` replaces this record rather than meeting it: the record
    /// is past its replay window, or it is a pending claim of the same request
    /// whose lease ran out (its holder crashed or gave up). A lapsed claim of
    /// another request still holds its key: the key stays bound to its body.
    pub fn yields_to(&self, claim: &IdempotencyClaim) -> bool {
        let now = claim.claimed_at;
        self.claim.expires_at <= now
            || (self.sealed_response.is_none()
                && self.claim.lease_until <= now
                && self.claim.fingerprint == claim.fingerprint)
    }
}

/// What a claim met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The claim is stored: the request runs.
    New,
    /// Another record holds the key (pending or completed, any fingerprint).
    Held(IdempotencyRecord),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(raw: &str) -> IdempotencyKey {
        IdempotencyKey::parse(raw).expect("a valid idempotency key")
    }

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("3f0e6c1e-2b7a-4f43-9d59-0d1f3c1e5a10").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", "with space", "tab\there", "ünï", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn json_fingerprints_count_the_body_by_its_canonical_text() {
        let path = "/v1/orgs/acme/tenants";
        let canonical = RequestFingerprint::of("POST", path, r#"{"a":1,"b":"é"}"#.as_bytes());
        let spelled =
            RequestFingerprint::of_json("POST", path, b" { \"b\": \"\\u00e9\", \"a\": 1 } ");
        assert_eq!(spelled.unwrap(), canonical);
        assert!(RequestFingerprint::of_json("POST", path, b"{").is_err());
    }

    #[test]
    fn fingerprints_tell_method_path_and_body_apart_without_ambiguity() {
        let base = RequestFingerprint::of("POST", "/v1/orgs/acme/tenants", b"{}");
        assert_eq!(
            base,
            RequestFingerprint::of("POST", "/v1/orgs/acme/tenants", b"{}")
        );
        assert_ne!(
            base,
            RequestFingerprint::of("PUT", "/v1/orgs/acme/tenants", b"{}")
        );
        assert_ne!(
            base,
            RequestFingerprint::of("POST", "/v1/orgs/other/tenants", b"{}")
        );
        assert_ne!(
            base,
            RequestFingerprint::of("POST", "/v1/orgs/acme/tenants", b"{ }")
        );
        // Length prefixes: moving bytes between parts changes the fingerprint.
        assert_ne!(
            RequestFingerprint::of("POST", "/a", b"b"),
            RequestFingerprint::of("POST", "/", b"ab")
        );
    }

    #[test]
    fn a_stored_response_survives_its_byte_form_exactly() {
        let response = StoredResponse {
            status: 201,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("location".into(), "/v1/orgs/o/tenants/t".into()),
            ],
            body: br#"{"secret":"tny_live_abc"}"#.to_vec(),
        };
        let bytes = response.to_bytes();
        assert_eq!(StoredResponse::from_bytes(&bytes), Some(response.clone()));
        let empty = StoredResponse {
            status: 200,
            headers: Vec::new(),
            body: Vec::new(),
        };
        assert_eq!(StoredResponse::from_bytes(&empty.to_bytes()), Some(empty));
        // Truncated, extended, or of another format: refused, never a panic.
        for cut in 0..bytes.len() {
            assert_eq!(StoredResponse::from_bytes(&bytes[..cut]), None, "cut {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(StoredResponse::from_bytes(&longer), None);
        let mut other = bytes;
        other[0] = 2;
        assert_eq!(StoredResponse::from_bytes(&other), None);
    }

    #[test]
    fn the_associated_data_binds_the_org_and_the_key() {
        let org = OrgId::from_uuid(Uuid::from_u128(1));
        let other = OrgId::from_uuid(Uuid::from_u128(2));
        assert_ne!(response_aad(org, &key("a")), response_aad(other, &key("a")));
        assert_ne!(response_aad(org, &key("a")), response_aad(org, &key("b")));
    }

    #[test]
    fn a_record_yields_when_expired_or_when_its_own_lease_lapsed() {
        let at = |s: i64| DateTime::<Utc>::from_timestamp(1_800_000_000 + s, 0).expect("a time");
        let org = OrgId::from_uuid(Uuid::from_u128(1));
        let body = RequestFingerprint::of("POST", "/p", b"1");
        let other_body = RequestFingerprint::of("POST", "/p", b"2");
        let claim = |fp, s| IdempotencyClaim::new(org, key("k"), fp, Uuid::from_u128(9), at(s));
        let pending = IdempotencyRecord {
            claim: claim(body, 0),
            sealed_response: None,
            tenant_id: None,
        };
        let done = IdempotencyRecord {
            sealed_response: Some(vec![1]),
            ..pending.clone()
        };
        let lease = CLAIM_LEASE.num_seconds();
        let window = REPLAY_WINDOW.num_seconds();

        assert!(!pending.yields_to(&claim(body, lease - 1)));
        assert!(pending.yields_to(&claim(body, lease)));
        assert!(!pending.yields_to(&claim(other_body, lease)));
        assert!(!done.yields_to(&claim(body, lease)));
        assert!(!done.yields_to(&claim(body, window - 1)));
        for record in [&pending, &done] {
            assert!(record.yields_to(&claim(body, window)));
            assert!(record.yields_to(&claim(other_body, window)));
        }
    }
}

//! The library (docs/api.md §4): versioned namespace resources, listings an org
//! publishes for many namespaces, grants that decide who sees a listing, installs
//! that pin a listing's version in place, and forks that copy it into a
//! namespace with its provenance.
//!
//! Every version is an immutable snapshot. [`admit_version`] is the one rule both
//! resources and listings follow when a new version arrives: it must be greater
//! than every version before it (semver precedence), and re-sending an existing
//! version is a replay when its content is the same and a conflict otherwise.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::audit::Actor;
use crate::canonical::{canonical_json, canonicalize};
use crate::ids::{InstallId, ListingId, NamespaceId, OrgId, ResourceId, TenantId};
use crate::slug::{NamespaceKey, ResourceKey};
use crate::values::{InvalidValue, Name};

/// A semantic version (`MAJOR.MINOR.PATCH`, optionally `-pre.release`), ordered
/// by semver precedence. Build metadata (`+build`) is refused: two versions
/// differing only in it would have the same precedence, so neither could
/// follow the other.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Semver(semver::Version);

impl Semver {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let version = semver::Version::parse(raw).map_err(|_| {
            InvalidValue::new("must be a semantic version such as 1.2.0 or 2.0.0-rc.1")
        })?;
        if !version.build.is_empty() {
            return Err(InvalidValue::new(
                "must not carry build metadata (`+...`): it does not order versions",
            ));
        }
        Ok(Self(version))
    }
}

impl Ord for Semver {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp_precedence(&other.0)
    }
}

impl PartialOrd for Semver {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Semver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// SHA-256 of a document's text: what tells a replay of a version from a
/// conflicting one.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContentDigest([u8; 32]);

impl ContentDigest {
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for ContentDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…")
    }
}

/// The content of a resource or listing version: JSON text in its canonical
/// form ([`crate::canonical`]), at most 1 MiB of it.
///
/// Two spellings of the same JSON are one document: both constructors store
/// the canonical text, which is what is digested and compared on a replay.
/// Cheap to clone: the text is shared.
#[derive(Clone, PartialEq, Eq)]
pub struct Document {
    json: Arc<str>,
    digest: ContentDigest,
}

impl Document {
    /// Largest document, in bytes of its canonical text.
    pub const MAX_BYTES: usize = 1 << 20;

    /// The document of JSON `json`, canonicalised; refuses text that is not
    /// JSON. Canonical text (what a store hands back) is kept as it is.
    pub fn new(json: impl Into<Arc<str>>) -> Result<Self, InvalidValue> {
        let json: Arc<str> = json.into();
        let canonical = canonicalize(json.as_bytes())?;
        if *canonical == *json {
            Self::sized(json)
        } else {
            Self::sized(canonical.into())
        }
    }

    /// The document of text a store wrote from a [`Document`]: canonical
    /// already, so it is not parsed again on every read (only its size and
    /// digest are taken). A store must never hand other text to it.
    pub fn stored(canonical: impl Into<Arc<str>>) -> Result<Self, InvalidValue> {
        Self::sized(canonical.into())
    }

    /// The document of a parsed JSON value, in its canonical text.
    pub fn from_json(value: &serde_json::Value) -> Result<Self, InvalidValue> {
        Self::sized(canonical_json(value).into())
    }

    fn sized(json: Arc<str>) -> Result<Self, InvalidValue> {
        if json.len() > Self::MAX_BYTES {
            return Err(InvalidValue::new(format!(
                "must be at most {} bytes of JSON (got {})",
                Self::MAX_BYTES,
                json.len()
            )));
        }
        let digest = ContentDigest(Sha256::digest(json.as_bytes()).into());
        Ok(Self { json, digest })
    }

    pub fn as_str(&self) -> &str {
        &self.json
    }

    pub fn digest(&self) -> ContentDigest {
        self.digest
    }

    pub fn len(&self) -> usize {
        self.json.len()
    }

    pub fn is_empty(&self) -> bool {
        self.json.is_empty()
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Document({} bytes, {:?})", self.json.len(), self.digest)
    }
}

/// What kind of thing a resource is (`blueprint`, `workflow`): the rules of a
/// [`ResourceKey`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceType(ResourceKey);

impl ResourceType {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        ResourceKey::parse(raw)
            .map(Self)
            .map_err(|e| InvalidValue::new(e.to_string()))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Free text describing a listing: at most 2,000 characters, no control
/// characters other than line breaks and tabs. May be empty.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Description(String);

impl Description {
    pub const MAX_LEN: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let trimmed = raw.trim();
        let len = trimmed.chars().count();
        if len > Self::MAX_LEN {
            return Err(InvalidValue::new(format!(
                "must be at most {} characters long (got {len})",
                Self::MAX_LEN
            )));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(InvalidValue::new(
                "must not contain control characters other than line breaks and tabs",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where a fork came from: the listing, its publisher and the version copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    pub org_id: OrgId,
    pub listing_id: ListingId,
    pub listing_key: ResourceKey,
    pub version: Semver,
}

/// One version of a namespace resource, as stored. Never changed once stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub id: ResourceId,
    pub org_id: OrgId,
    pub tenant_id: TenantId,
    pub namespace_id: NamespaceId,
    pub key: ResourceKey,
    pub resource_type: ResourceType,
    pub version: Semver,
    pub content: Document,
    /// Set on forks (customize) and on every later version of a fork.
    pub provenance: Option<Provenance>,
    pub created_at: DateTime<Utc>,
    pub created_by: Actor,
}

/// A resource version to store in the calling namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewResource {
    pub key: ResourceKey,
    pub resource_type: ResourceType,
    pub version: Semver,
    pub content: Document,
}

/// Who may be granted a listing: an org-scoped listing stays within its
/// publisher's org; a platform listing (published by a platform admin) may be
/// granted to any org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListingScope {
    Org,
    Platform,
}

impl ListingScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Org => "org",
            Self::Platform => "platform",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Org, Self::Platform]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// Which namespaces of a granted org see a listing: all of them, or those with
/// one of these keys (in any of the org's tenants).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NamespaceSelector {
    All,
    Keys(BTreeSet<NamespaceKey>),
}

impl NamespaceSelector {
    /// The namespaces with one of `keys`: at least one (a grant to no
    /// namespace is no grant; revoke it instead).
    pub fn keys(keys: impl IntoIterator<Item = NamespaceKey>) -> Result<Self, InvalidValue> {
        let keys: BTreeSet<NamespaceKey> = keys.into_iter().collect();
        if keys.is_empty() {
            return Err(InvalidValue::new(
                "must name at least one namespace key, or be \"*\"",
            ));
        }
        Ok(Self::Keys(keys))
    }

    pub fn selects(&self, namespace: &NamespaceKey) -> bool {
        match self {
            Self::All => true,
            Self::Keys(keys) => keys.contains(namespace),
        }
    }
}

/// Access to a listing for namespaces of one org.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grant {
    pub org_id: OrgId,
    pub namespaces: NamespaceSelector,
}

/// A listing as it exists: its current description, grants and latest version.
/// Its versions are stored apart ([`ListingVersion`]), each immutable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub id: ListingId,
    /// The publisher.
    pub org_id: OrgId,
    pub key: ResourceKey,
    pub title: Name,
    pub description: Description,
    pub resource_type: ResourceType,
    pub scope: ListingScope,
    pub grants: Vec<Grant>,
    /// The greatest version published.
    pub latest: Semver,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; stores refuse a write based on a stale version.
    pub version: u64,
}

impl Listing {
    /// Whether the namespace `namespace` of org `org` is granted this listing.
    pub fn grants_to(&self, org: OrgId, namespace: &NamespaceKey) -> bool {
        self.grants
            .iter()
            .any(|g| g.org_id == org && g.namespaces.selects(namespace))
    }
}

/// One published version of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingVersion {
    pub listing_id: ListingId,
    pub org_id: OrgId,
    pub version: Semver,
    pub content: Document,
    pub published_at: DateTime<Utc>,
    pub published_by: Actor,
}

/// A version as listed in a history: no content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    pub version: Semver,
    pub digest: ContentDigest,
    pub at: DateTime<Utc>,
}

impl From<&ListingVersion> for VersionInfo {
    fn from(v: &ListingVersion) -> Self {
        Self {
            version: v.version.clone(),
            digest: v.content.digest(),
            at: v.published_at,
        }
    }
}

impl From<&Resource> for VersionInfo {
    fn from(r: &Resource) -> Self {
        Self {
            version: r.version.clone(),
            digest: r.content.digest(),
            at: r.created_at,
        }
    }
}

/// A listing to publish (a new listing, or a new version of one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishListing {
    pub key: ResourceKey,
    pub title: Name,
    pub description: Description,
    pub resource_type: ResourceType,
    pub version: Semver,
    pub content: Document,
    pub scope: ListingScope,
    pub grants: Vec<Grant>,
}

/// A namespace's use of a listing in place: a pin to one version, no copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    pub id: InstallId,
    pub org_id: OrgId,
    pub tenant_id: TenantId,
    pub namespace_id: NamespaceId,
    pub listing_id: ListingId,
    pub listing_org_id: OrgId,
    pub listing_key: ResourceKey,
    /// The pinned version: moved only by an explicit upgrade.
    pub pinned: Semver,
    pub installed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change; stores refuse a write based on a stale version.
    pub version: u64,
}

/// How a new version relates to those already stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admitted {
    /// Greater than every stored version: store it.
    New,
    /// Stored already with the same content: nothing to do.
    Replay,
}

/// Why a new version is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionRefused {
    #[error("version {version} must be greater than the latest, {latest}")]
    NotIncreasing { version: Semver, latest: Semver },
    #[error("version {0} exists with other content; versions are immutable")]
    ContentDiffers(Semver),
}

/// The rule for a new version `version` with `digest`, given the stored
/// `history` (any order).
pub fn admit_version(
    history: &[VersionInfo],
    version: &Semver,
    digest: ContentDigest,
) -> Result<Admitted, VersionRefused> {
    if let Some(same) = history.iter().find(|v| &v.version == version) {
        return if same.digest == digest {
            Ok(Admitted::Replay)
        } else {
            Err(VersionRefused::ContentDiffers(version.clone()))
        };
    }
    match history.iter().map(|v| &v.version).max() {
        Some(latest) if version <= latest => Err(VersionRefused::NotIncreasing {
            version: version.clone(),
            latest: latest.clone(),
        }),
        _ => Ok(Admitted::New),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn v(raw: &str) -> Semver {
        Semver::parse(raw).unwrap()
    }

    fn doc(json: &str) -> Document {
        Document::new(json).unwrap()
    }

    fn info(version: &str, json: &str) -> VersionInfo {
        VersionInfo {
            version: v(version),
            digest: doc(json).digest(),
            at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn semver_is_strict_and_ordered_by_precedence() {
        for bad in [
            "1",
            "1.2",
            "v1.2.0",
            "1.2.0.0",
            "01.2.0",
            "1.2.0+build.5",
            "",
            "x.y.z",
        ] {
            assert!(Semver::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(v("1.2.0-rc.1") < v("1.2.0"));
        assert!(v("1.2.0") < v("1.10.0"));
        assert!(v("1.9.9") < v("2.0.0-alpha"));
        assert_eq!(v("1.2.3").to_string(), "1.2.3");
    }

    #[test]
    fn documents_are_limited_to_one_mebibyte() {
        let limit = Document::MAX_BYTES;
        let fits = format!("\"{}\"", "a".repeat(limit - 2));
        assert_eq!(doc(&fits).len(), limit);
        let over = format!("\"{}\"", "a".repeat(limit - 1));
        assert!(Document::new(over).is_err());
    }

    #[test]
    fn documents_are_stored_in_canonical_form() {
        let spelled = doc("{ \"b\": [1, {\"z\": 1, \"y\": 2}], \"a\": \"\\u00e9\" }");
        assert_eq!(
            spelled.as_str(),
            "{\"a\":\"é\",\"b\":[1,{\"y\":2,\"z\":1}]}"
        );
        let value = serde_json::json!({"b": [1, {"z": 1, "y": 2}], "a": "é"});
        assert_eq!(Document::from_json(&value).unwrap(), spelled);
        assert!(Document::new("{not json}").is_err());
    }

    #[test]
    fn versions_table() {
        let history = [info("1.2.0", "{\"a\":1}"), info("1.0.0", "{}")];
        let cases: &[(&str, &str, Result<Admitted, &str>)] = &[
            ("1.3.0", "{}", Ok(Admitted::New)),
            ("2.0.0-rc.1", "{}", Ok(Admitted::New)),
            ("1.2.0", "{\"a\":1}", Ok(Admitted::Replay)),
            ("1.0.0", "{}", Ok(Admitted::Replay)),
            ("1.2.0", "{\"a\":2}", Err("differs")),
            ("1.1.0", "{}", Err("not increasing")),
            ("1.2.0-rc.1", "{}", Err("not increasing")),
        ];
        for (version, json, expected) in cases {
            let got = admit_version(&history, &v(version), doc(json).digest());
            match (expected, got) {
                (Ok(e), Ok(g)) => assert_eq!(e, &g, "{version}"),
                (Err("differs"), Err(VersionRefused::ContentDiffers(_))) => {}
                (Err("not increasing"), Err(VersionRefused::NotIncreasing { .. })) => {}
                (e, g) => panic!("{version} {json}: expected {e:?}, got {g:?}"),
            }
        }
        assert_eq!(
            admit_version(&[], &v("0.0.1"), doc("1").digest()),
            Ok(Admitted::New)
        );
    }

    #[test]
    fn grants_select_namespaces_of_one_org() {
        let org = OrgId::from_uuid(uuid::Uuid::from_u128(1));
        let other = OrgId::from_uuid(uuid::Uuid::from_u128(2));
        let live = NamespaceKey::parse("acme-live").unwrap();
        let test = NamespaceKey::parse("acme-test").unwrap();
        let some = NamespaceSelector::keys([live.clone()]).unwrap();
        assert!(
            NamespaceSelector::keys([]).is_err(),
            "a grant to no namespace"
        );
        assert!(some.selects(&live));
        assert!(!some.selects(&test));
        assert!(NamespaceSelector::All.selects(&test));
        let grants = vec![Grant {
            org_id: org,
            namespaces: some,
        }];
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let listing = Listing {
            id: ListingId::from_uuid(uuid::Uuid::from_u128(3)),
            org_id: org,
            key: ResourceKey::parse("standard_nda").unwrap(),
            title: Name::parse("Standard NDA").unwrap(),
            description: Description::default(),
            resource_type: ResourceType::parse("blueprint").unwrap(),
            scope: ListingScope::Org,
            grants,
            latest: v("1.0.0"),
            created_at: at,
            updated_at: at,
            version: 1,
        };
        assert!(listing.grants_to(org, &live));
        assert!(!listing.grants_to(org, &test));
        assert!(!listing.grants_to(other, &live));
    }
}

//! Rows to domain values: the column lists the library's queries select, and the
//! decoding of each row (resources, listings and their grants, versions,
//! installs), which refuses a row the domain would not accept.

use super::*;

pub(super) const RESOURCE_COLUMNS: &str = "id, org_id, tenant_id, namespace_id, key, type, version, \
     content::text AS content, provenance_org_id, provenance_listing_id, \
     provenance_listing_key, provenance_version, created_at, created_by_kind, created_by_id";

pub(super) const LISTING_COLUMNS: &str = "l.id, l.org_id, l.key, l.title, l.description, l.type, l.scope, \
     l.latest, l.created_at, l.updated_at, l.version, \
     coalesce((SELECT json_agg(json_build_object('org', g.grantee_org_id, 'keys', g.namespace_keys) \
                ORDER BY g.grantee_org_id) \
               FROM library_grants g WHERE g.listing_id = l.id), '[]'::json)::text AS grants";

pub(super) const VERSION_COLUMNS: &str = "listing_id, listing_org_id, version, content::text AS content, \
     published_at, published_by_kind, published_by_id";

pub(super) const INSTALL_COLUMNS: &str = "id, org_id, tenant_id, namespace_id, listing_org_id, listing_id, \
     listing_key, pinned, installed_at, updated_at, version";

/// The advisory lock key of a tenant's resources: resource writes of one
/// tenant take turns, so the quota count and the `latest` check hold.
pub(super) fn resources_lock_key(tenant: TenantId) -> i64 {
    let (high, low) = tenant.as_uuid().as_u64_pair();
    i64::from_ne_bytes((high ^ low ^ 0x7265_736f_7572_6365).to_ne_bytes())
}

pub(super) fn document(row: &PgRow, column: &str) -> Result<Document, StoreError> {
    let text: String = get(row, column)?;
    Document::stored(text).map_err(|_| corrupt(column))
}

pub(super) fn actor(row: &PgRow, kind: &str, id: &str) -> Result<Actor, StoreError> {
    Ok(Actor {
        kind: parsed(row, kind, actor_kind)?,
        id: get(row, id)?,
    })
}

pub(super) fn resource(row: &PgRow) -> Result<Resource, StoreError> {
    let listing: Option<Uuid> = get(row, "provenance_listing_id")?;
    let provenance = match listing {
        None => None,
        Some(listing) => {
            let org: Option<Uuid> = get(row, "provenance_org_id")?;
            Some(Provenance {
                org_id: OrgId::from_uuid(org.ok_or_else(|| corrupt("provenance_org_id"))?),
                listing_id: ListingId::from_uuid(listing),
                listing_key: parsed(row, "provenance_listing_key", ResourceKey::parse)?,
                version: parsed(row, "provenance_version", Semver::parse)?,
            })
        }
    };
    Ok(Resource {
        id: ResourceId::from_uuid(get(row, "id")?),
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        tenant_id: TenantId::from_uuid(get(row, "tenant_id")?),
        namespace_id: NamespaceId::from_uuid(get(row, "namespace_id")?),
        key: parsed(row, "key", ResourceKey::parse)?,
        resource_type: parsed(row, "type", ResourceType::parse)?,
        version: parsed(row, "version", Semver::parse)?,
        content: document(row, "content")?,
        provenance,
        created_at: get(row, "created_at")?,
        created_by: actor(row, "created_by_kind", "created_by_id")?,
    })
}

pub(super) fn grants(raw: &str) -> Result<Vec<Grant>, StoreError> {
    let bad = || corrupt("grants");
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|_| bad())?;
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|g| {
            let org = g
                .get("org")
                .and_then(|o| o.as_str())
                .and_then(|o| Uuid::try_parse(o).ok())
                .ok_or_else(bad)?;
            let namespaces = match g.get("keys") {
                None | Some(serde_json::Value::Null) => NamespaceSelector::All,
                Some(serde_json::Value::Array(keys)) => NamespaceSelector::Keys(
                    keys.iter()
                        .map(|k| {
                            k.as_str()
                                .and_then(|k| NamespaceKey::parse(k).ok())
                                .ok_or_else(bad)
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Some(_) => return Err(bad()),
            };
            Ok(Grant {
                org_id: OrgId::from_uuid(org),
                namespaces,
            })
        })
        .collect()
}

pub(super) fn listing(row: &PgRow) -> Result<Listing, StoreError> {
    let grants_text: String = get(row, "grants")?;
    Ok(Listing {
        id: ListingId::from_uuid(get(row, "id")?),
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        key: parsed(row, "key", ResourceKey::parse)?,
        title: parsed(row, "title", Name::parse)?,
        description: parsed(row, "description", Description::parse)?,
        resource_type: parsed(row, "type", ResourceType::parse)?,
        scope: parsed(row, "scope", |s| ListingScope::parse(s).ok_or(()))?,
        grants: grants(&grants_text)?,
        latest: parsed(row, "latest", Semver::parse)?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        version: rows::version(row)?,
    })
}

pub(super) fn listing_version(row: &PgRow) -> Result<ListingVersion, StoreError> {
    Ok(ListingVersion {
        listing_id: ListingId::from_uuid(get(row, "listing_id")?),
        org_id: OrgId::from_uuid(get(row, "listing_org_id")?),
        version: parsed(row, "version", Semver::parse)?,
        content: document(row, "content")?,
        published_at: get(row, "published_at")?,
        published_by: actor(row, "published_by_kind", "published_by_id")?,
    })
}

pub(super) fn install(row: &PgRow) -> Result<Install, StoreError> {
    Ok(Install {
        id: InstallId::from_uuid(get(row, "id")?),
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        tenant_id: TenantId::from_uuid(get(row, "tenant_id")?),
        namespace_id: NamespaceId::from_uuid(get(row, "namespace_id")?),
        listing_id: ListingId::from_uuid(get(row, "listing_id")?),
        listing_org_id: OrgId::from_uuid(get(row, "listing_org_id")?),
        listing_key: parsed(row, "listing_key", ResourceKey::parse)?,
        pinned: parsed(row, "pinned", Semver::parse)?,
        installed_at: get(row, "installed_at")?,
        updated_at: get(row, "updated_at")?,
        version: rows::version(row)?,
    })
}

/// A history row: a version and its digest.
pub(super) fn version_info(row: &PgRow) -> Result<VersionInfo, StoreError> {
    let digest: Vec<u8> = get(row, "digest")?;
    let digest: [u8; 32] = digest.try_into().map_err(|_| corrupt("digest"))?;
    Ok(VersionInfo {
        version: parsed(row, "version", Semver::parse)?,
        digest: ContentDigest::from_bytes(digest),
        at: get(row, "at")?,
    })
}

pub(super) fn sorted(mut history: Vec<VersionInfo>) -> Vec<VersionInfo> {
    history.sort_by(|a, b| a.version.cmp(&b.version));
    history
}

//! Rows to domain values and back: the column lists the stores select, and
//! the decoding of each row. A stored value the domain refuses is reported as
//! `Unavailable` (naming the column, never the value).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use domain::ports::StoreError;
use domain::{
    Access, Actor, ActorKind, ApiKey, ApiKeyId, AuditAction, AuditDetails, AuditId, AuditLink,
    AuditRecord, ChainHash, ChainHead, Change, Email, KeyHash, KeyMode, KeyOwner, Lifecycle,
    Metadata, Mode, Name, Namespace, NamespaceId, NamespaceKey, Org, OrgId, OrgKey, Owner, Plan,
    Reason, RegionCode, Role, Scopes, SpecDigest, TargetKind, Tenant, TenantId, TenantKey,
    TenantStatus, UserId,
};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::error::translate;

pub(crate) const ORG_COLUMNS: &str = "id, key, name, created_at, updated_at, version";

pub(crate) const TENANT_COLUMNS: &str = "id, org_id, key, name, plan, region, owner_user_id, \
     owner_email, metadata, status, status_changed_at, status_changed_by_kind, \
     status_changed_by_id, status_reason, retention_ends_at, spec_digest, created_at, \
     updated_at, version";

pub(crate) const NAMESPACE_COLUMNS: &str =
    "id, org_id, tenant_id, key, name, mode, created_at, updated_at, version";

/// The columns both key tables share, after the owner columns.
pub(crate) const KEY_COMMON_COLUMNS: &str = "id, org_id, hash, display, name, mode, role, \
     scopes, resources, expires_at, last_used_at, revoked_at, rotated_from, created_at, \
     created_by_kind, created_by_id, version";

/// An audit record's columns and its link in its org's chain (0040).
pub(crate) const AUDIT_COLUMNS: &str = "id, org_id, tenant_id, at, actor_kind, actor_id, \
     action, target_type, target_id, request_id, reason, changes, sealed_details, chain_seq, hash";

/// A stored value the domain does not accept.
pub(crate) fn corrupt(column: &str) -> StoreError {
    StoreError::Unavailable(format!("stored column {column} holds an invalid value"))
}

pub(crate) fn get<'r, T>(row: &'r PgRow, column: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(translate)
}

pub(crate) fn version(row: &PgRow) -> Result<u64, StoreError> {
    let v: i64 = get(row, "version")?;
    u64::try_from(v).map_err(|_| corrupt("version"))
}

/// A domain version as stored.
pub(crate) fn stored_version(version: u64) -> i64 {
    i64::try_from(version).unwrap_or(i64::MAX)
}

pub(crate) fn parsed<T, E>(
    row: &PgRow,
    column: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let raw: String = get(row, column)?;
    parse(&raw).map_err(|_| corrupt(column))
}

pub(crate) fn parsed_opt<T, E>(
    row: &PgRow,
    column: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    let raw: Option<String> = get(row, column)?;
    raw.map(|r| parse(&r).map_err(|_| corrupt(column)))
        .transpose()
}

fn some<T>(value: Option<T>) -> Result<T, ()> {
    value.ok_or(())
}

pub(crate) fn org(row: &PgRow) -> Result<Org, StoreError> {
    Ok(Org {
        id: OrgId::from_uuid(get(row, "id")?),
        key: parsed(row, "key", OrgKey::parse)?,
        name: parsed(row, "name", Name::parse)?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        version: version(row)?,
    })
}

pub(crate) fn actor_kind(raw: &str) -> Result<ActorKind, ()> {
    [
        ActorKind::PlatformAdmin,
        ActorKind::OrgKey,
        ActorKind::NamespaceKey,
        ActorKind::System,
    ]
    .into_iter()
    .find(|k| k.as_str() == raw)
    .ok_or(())
}

pub(crate) fn status(raw: &str) -> Result<TenantStatus, ()> {
    some(TenantStatus::parse(raw))
}

pub(crate) fn tenant(row: &PgRow) -> Result<Tenant, StoreError> {
    let user_id = parsed_opt(row, "owner_user_id", UserId::parse)?;
    let email = parsed_opt(row, "owner_email", Email::parse)?;
    let owner = match (user_id, email) {
        (Some(user_id), Some(email)) => Some(Owner { user_id, email }),
        (None, None) => None,
        _ => return Err(corrupt("owner_user_id")),
    };
    let metadata: Value = get(row, "metadata")?;
    let digest: Vec<u8> = get(row, "spec_digest")?;
    let digest: [u8; 32] = digest.try_into().map_err(|_| corrupt("spec_digest"))?;
    Ok(Tenant {
        id: TenantId::from_uuid(get(row, "id")?),
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        key: parsed(row, "key", TenantKey::parse)?,
        name: parsed(row, "name", Name::parse)?,
        plan: parsed(row, "plan", Plan::parse)?,
        region: parsed(row, "region", RegionCode::parse)?,
        owner,
        metadata: metadata_from_json(&metadata)?,
        lifecycle: Lifecycle {
            status: parsed(row, "status", status)?,
            changed_at: get(row, "status_changed_at")?,
            changed_by: Actor {
                kind: parsed(row, "status_changed_by_kind", actor_kind)?,
                id: get(row, "status_changed_by_id")?,
            },
            reason: parsed_opt(row, "status_reason", Reason::parse)?,
            retention_ends_at: get(row, "retention_ends_at")?,
        },
        spec_digest: SpecDigest::from_bytes(digest),
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        version: version(row)?,
    })
}

pub(crate) fn metadata_json(metadata: &Metadata) -> Value {
    Value::Object(
        metadata
            .iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
            .collect(),
    )
}

fn metadata_from_json(value: &Value) -> Result<Metadata, StoreError> {
    let object = value.as_object().ok_or_else(|| corrupt("metadata"))?;
    let mut map = BTreeMap::new();
    for (k, v) in object {
        let v = v.as_str().ok_or_else(|| corrupt("metadata"))?;
        map.insert(k.clone(), v.to_owned());
    }
    Metadata::new(map).map_err(|_| corrupt("metadata"))
}

pub(crate) fn namespace(row: &PgRow) -> Result<Namespace, StoreError> {
    Ok(Namespace {
        id: NamespaceId::from_uuid(get(row, "id")?),
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        tenant_id: TenantId::from_uuid(get(row, "tenant_id")?),
        key: parsed(row, "key", NamespaceKey::parse)?,
        name: parsed(row, "name", Name::parse)?,
        mode: parsed(row, "mode", |m| some(Mode::parse(m)))?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        version: version(row)?,
    })
}

fn key_mode(raw: &str) -> Result<KeyMode, ()> {
    [KeyMode::Live, KeyMode::Test, KeyMode::Org]
        .into_iter()
        .find(|m| m.as_str() == raw)
        .ok_or(())
}

/// A key of either table; org keys are selected with NULL `tenant_id` and
/// `namespace_id`.
pub(crate) fn api_key(row: &PgRow) -> Result<ApiKey, StoreError> {
    let tenant_id: Option<Uuid> = get(row, "tenant_id")?;
    let namespace_id: Option<Uuid> = get(row, "namespace_id")?;
    let owner = match (tenant_id, namespace_id) {
        (Some(t), Some(n)) => KeyOwner::Namespace {
            tenant_id: TenantId::from_uuid(t),
            namespace_id: NamespaceId::from_uuid(n),
        },
        (None, None) => KeyOwner::Org,
        _ => return Err(corrupt("namespace_id")),
    };
    let hash: Vec<u8> = get(row, "hash")?;
    let hash: [u8; 32] = hash.try_into().map_err(|_| corrupt("hash"))?;
    let scopes: i32 = get(row, "scopes")?;
    let scopes = u16::try_from(scopes).map_err(|_| corrupt("scopes"))?;
    let rotated_from: Option<Uuid> = get(row, "rotated_from")?;
    let role = parsed_opt(row, "role", |r| some(Role::parse(r)))?;
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(get(row, "id")?),
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        owner,
        mode: parsed(row, "mode", key_mode)?,
        name: parsed(row, "name", Name::parse)?,
        display: get(row, "display")?,
        hash: KeyHash::from_bytes(hash),
        access: Access {
            role,
            scopes: Scopes::of_stored(role, scopes),
            resources: get(row, "resources")?,
        },
        expires_at: get(row, "expires_at")?,
        last_used_at: get(row, "last_used_at")?,
        revoked_at: get(row, "revoked_at")?,
        rotated_from: rotated_from.map(ApiKeyId::from_uuid),
        created_at: get(row, "created_at")?,
        created_by: Actor {
            kind: parsed(row, "created_by_kind", actor_kind)?,
            id: get(row, "created_by_id")?,
        },
        version: version(row)?,
    })
}

const ACTIONS: [AuditAction; AuditAction::ALL.len()] = AuditAction::ALL;

const TARGETS: [TargetKind; TargetKind::ALL.len()] = TargetKind::ALL;

pub(crate) fn changes_json(changes: &[Change]) -> Value {
    Value::Array(
        changes
            .iter()
            .map(|c| json!({ "field": c.field, "from": c.from, "to": c.to }))
            .collect(),
    )
}

fn changes_from_json(value: &Value) -> Result<Vec<Change>, StoreError> {
    let bad = || corrupt("changes");
    let text = |v: Option<&Value>| -> Result<Option<String>, StoreError> {
        match v {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad()),
        }
    };
    value
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|c| {
            let field = c.get("field").and_then(Value::as_str).ok_or_else(bad)?;
            Ok(Change {
                field: domain::audit::field_name(field),
                from: text(c.get("from"))?,
                to: text(c.get("to"))?,
            })
        })
        .collect()
}

pub(crate) fn audit(row: &PgRow) -> Result<AuditRecord, StoreError> {
    let tenant_id: Option<Uuid> = get(row, "tenant_id")?;
    let changes: Value = get(row, "changes")?;
    let at: DateTime<Utc> = get(row, "at")?;
    Ok(AuditRecord {
        id: AuditId::from_uuid(get(row, "id")?),
        at,
        actor: Actor {
            kind: parsed(row, "actor_kind", actor_kind)?,
            id: get(row, "actor_id")?,
        },
        action: parsed(row, "action", |a| {
            ACTIONS.into_iter().find(|x| x.as_str() == a).ok_or(())
        })?,
        target_kind: parsed(row, "target_type", |t| {
            TARGETS.into_iter().find(|x| x.as_str() == t).ok_or(())
        })?,
        target_id: get(row, "target_id")?,
        org_id: OrgId::from_uuid(get(row, "org_id")?),
        tenant_id: tenant_id.map(TenantId::from_uuid),
        request_id: get(row, "request_id")?,
        details: match get::<Option<Vec<u8>>>(row, "sealed_details")? {
            Some(sealed) => AuditDetails::Sealed(sealed),
            None => AuditDetails::Clear {
                reason: parsed_opt(row, "reason", Reason::parse)?,
                changes: changes_from_json(&changes)?,
            },
        },
    })
}

/// A chain position from `chain_seq` and `hash`.
pub(crate) fn chain_head(row: &PgRow) -> Result<ChainHead, StoreError> {
    let seq: i64 = get(row, "chain_seq")?;
    let hash: Vec<u8> = get(row, "hash")?;
    Ok(ChainHead {
        seq: u64::try_from(seq).map_err(|_| corrupt("chain_seq"))?,
        hash: ChainHash::from_slice(&hash).ok_or_else(|| corrupt("hash"))?,
    })
}

/// A record of [`AUDIT_COLUMNS`] with its link.
pub(crate) fn audit_link(row: &PgRow) -> Result<AuditLink, StoreError> {
    let head = chain_head(row)?;
    Ok(AuditLink {
        seq: head.seq,
        hash: head.hash,
        record: audit(row)?,
    })
}

/// Decodes every row with `decode`.
pub(crate) fn all<T>(
    rows: &[PgRow],
    decode: impl Fn(&PgRow) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(decode).collect()
}

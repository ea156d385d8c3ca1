//! The library's request bodies and the validation that turns them into
//! domain values: canonical documents, access grants, optional versions.

use std::collections::BTreeSet;

use domain::{Document, Grant, NamespaceKey, NamespaceSelector, OrgId, Semver};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::validate::Validator;

/// The document of a JSON value; its canonical form is the domain's rule
/// ([`Document::from_json`]).
pub(super) fn document(v: &mut Validator, field: &str, content: Option<Value>) -> Option<Document> {
    let Some(content) = content else {
        v.add(field, "is required");
        return None;
    };
    v.check(field, Document::from_json(&content))
}

/// Access to a listing for one org's namespaces.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = AccessGrant)]
pub(crate) struct GrantBody {
    /// The org whose namespaces may see the listing: the publisher's own, or
    /// (for `platform` listings only) another org.
    org_id: String,
    /// `"*"` for every namespace of the org, or a list of namespace keys
    /// (matching namespaces with that key in any of the org's tenants).
    #[schema(value_type = Value, example = "*")]
    namespace_keys: Value,
}

pub(super) fn grants(v: &mut Validator, grants: Vec<GrantBody>) -> Option<Vec<Grant>> {
    let mut valid = Some(Vec::with_capacity(grants.len()));
    for (i, g) in grants.into_iter().enumerate() {
        let org = v.check(
            format!("accessGrants[{i}].orgId"),
            Uuid::try_parse(&g.org_id)
                .map(OrgId::from_uuid)
                .map_err(|_| "must be an org id (a UUID)"),
        );
        let field = format!("accessGrants[{i}].namespaceKeys");
        let namespaces = match g.namespace_keys {
            Value::String(s) if s == "*" => Some(NamespaceSelector::All),
            Value::Array(keys) => {
                let mut set = BTreeSet::new();
                let mut ok = true;
                for (j, key) in keys.iter().enumerate() {
                    let parsed = v.check(
                        format!("{field}[{j}]"),
                        key.as_str()
                            .ok_or_else(|| "must be a namespace key".to_owned())
                            .and_then(|k| NamespaceKey::parse(k).map_err(|e| e.to_string())),
                    );
                    match parsed {
                        Some(k) => {
                            set.insert(k);
                        }
                        None => ok = false,
                    }
                }
                if ok {
                    v.check(&field, NamespaceSelector::keys(set))
                } else {
                    None
                }
            }
            _ => {
                v.add(&field, "must be \"*\" or a list of namespace keys");
                None
            }
        };
        match (org, namespaces, valid.as_mut()) {
            (Some(org_id), Some(namespaces), Some(list)) => list.push(Grant { org_id, namespaces }),
            _ => valid = None,
        }
    }
    valid
}

/// A listing version to publish. The listing's title, description, scope and
/// grants become these; its key and resource type never change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = PublishListing)]
pub(crate) struct PublishBody {
    /// Unique within the org: 3–63 characters of `a-z`, `0-9`, `-` and `_`.
    #[schema(example = "standard_nda")]
    pub(super) key: String,
    #[schema(example = "Standard NDA")]
    pub(super) title: String,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[schema(example = "blueprint")]
    pub(super) resource_type: String,
    /// Semantic version, greater than every version published before.
    #[schema(example = "1.2.0")]
    pub(super) version: String,
    /// Any JSON value, at most 1 MiB.
    #[schema(value_type = Value)]
    pub(super) content: Option<Value>,
    /// `org` (the default): granted within the publishing org only.
    /// `platform`: may be granted to any org; published by platform admins.
    #[schema(value_type = Option<String>, example = "org")]
    pub(super) scope: Option<String>,
    #[serde(default)]
    pub(super) access_grants: Vec<GrantBody>,
}

/// New grants for a listing, replacing the old ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = ListingGrants)]
pub(crate) struct GrantsBody {
    pub(super) access_grants: Vec<GrantBody>,
}

/// A resource version to store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = NewResource)]
pub(crate) struct ResourceBody {
    /// 3–63 characters of `a-z`, `0-9`, `-` and `_`.
    #[schema(example = "welcome_email")]
    pub(super) key: String,
    #[serde(rename = "type")]
    #[schema(example = "blueprint")]
    pub(super) resource_type: String,
    #[schema(example = "1.0.0")]
    pub(super) version: String,
    #[schema(value_type = Value)]
    pub(super) content: Option<Value>,
}

/// Which version to try or upgrade to (the latest when left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = PickVersion)]
pub(crate) struct VersionBody {
    #[schema(example = "1.2.0")]
    pub(super) version: Option<String>,
}

/// Which version to fork (the latest when left out) and the new resource's key
/// (the listing's when left out).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = Customize)]
pub(crate) struct CustomizeBody {
    pub(super) version: Option<String>,
    pub(super) key: Option<String>,
}

pub(super) fn optional_version(v: &mut Validator, raw: Option<&str>) -> Option<Option<Semver>> {
    match raw {
        None => Some(None),
        Some(raw) => v.check("version", Semver::parse(raw)).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_stored_as_canonical_text() {
        let a: Value = serde_json::from_str(r#"{ "b": [1, {"z": 1, "y": 2}], "a": "x" }"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":"x","b":[1,{"y":2,"z":1}]}"#).unwrap();
        let mut v = Validator::body();
        let da = document(&mut v, "content", Some(a)).unwrap();
        let db = document(&mut v, "content", Some(b)).unwrap();
        assert_eq!(da.as_str(), r#"{"a":"x","b":[1,{"y":2,"z":1}]}"#);
        assert_eq!(da.digest(), db.digest());
    }
}

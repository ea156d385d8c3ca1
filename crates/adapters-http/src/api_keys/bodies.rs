//! The request bodies that issue and rotate keys, and their validation into the
//! domain's requests.

use chrono::{DateTime, Duration, Utc};
use domain::{Name, NewApiKey, ResourceKey, Role, Scope, Scopes};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::problem::Problem;
use crate::validate::Validator;

use super::{RoleBody, ScopeName};

/// A new org key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = NewOrgApiKey)]
pub(crate) struct NewOrgKeyBody {
    #[schema(example = "CI deploys")]
    name: String,
    /// RFC 3339; in the future. Absent: never expires, unless the calling key
    /// does: a key never outlives the key that creates it, so an expiry left out
    /// or later than the calling key's becomes the calling key's.
    #[schema(value_type = Option<DateTime<Utc>>)]
    expires_at: Option<String>,
}

impl NewOrgKeyBody {
    pub(super) fn validate(self) -> Result<NewApiKey, Problem> {
        let mut v = Validator::body();
        let name = v.check("name", Name::parse(&self.name));
        let expires_at = expiry(&mut v, self.expires_at.as_deref());
        let (Some(name), Some(expires_at)) = (name, expires_at) else {
            return Err(v.into_problem());
        };
        Ok(NewApiKey {
            name,
            role: None,
            scopes: None,
            resources: None,
            expires_at,
        })
    }
}

/// A new namespace key: a role or a scope list (not both; `member` when neither).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = NewNamespaceApiKey)]
pub(crate) struct NewNamespaceKeyBody {
    #[schema(example = "checkout service")]
    name: String,
    role: Option<RoleBody>,
    /// Instead of a role: exactly these scopes.
    #[schema(value_type = Option<Vec<ScopeName>>, example = json!(["tenant:read", "keys:read"]))]
    scopes: Option<Vec<String>>,
    /// Only these resource keys of the namespace, at most 100; all when absent.
    #[schema(example = json!(["standard_nda"]), max_items = 100)]
    resources: Option<Vec<String>>,
    /// RFC 3339; in the future. Absent: never expires, unless the calling key
    /// does: a key never outlives the key that creates it, so an expiry left out
    /// or later than the calling key's becomes the calling key's.
    #[schema(value_type = Option<DateTime<Utc>>)]
    expires_at: Option<String>,
}

impl NewNamespaceKeyBody {
    pub(super) fn validate(self) -> Result<NewApiKey, Problem> {
        let mut v = Validator::body();
        let name = v.check("name", Name::parse(&self.name));
        let scopes = match (&self.role, self.scopes) {
            (Some(_), Some(_)) => {
                v.add("scopes", "cannot be given with role; give one or the other");
                None
            }
            (_, None) => Some(None),
            (None, Some(names)) => scopes(&mut v, &names).map(Some),
        };
        let resources = match self.resources {
            None => Some(None),
            // Past the bound, the resources themselves are not even looked at.
            Some(raw) if raw.len() > domain::Access::MAX_RESOURCES => {
                v.check(
                    "resources",
                    domain::check_list_len(raw.len(), domain::Access::MAX_RESOURCES),
                );
                None
            }
            Some(raw) => raw
                .iter()
                .enumerate()
                .map(|(i, r)| v.check(format!("resources[{i}]"), ResourceKey::parse(r)))
                // Collect first: every resource is checked, not just up to the first error.
                .collect::<Vec<_>>()
                .into_iter()
                .collect::<Option<Vec<_>>>()
                .map(Some),
        };
        let expires_at = expiry(&mut v, self.expires_at.as_deref());
        let (Some(name), Some(scopes), Some(resources), Some(expires_at)) =
            (name, scopes, resources, expires_at)
        else {
            return Err(v.into_problem());
        };
        Ok(NewApiKey {
            name,
            role: self.role.map(Role::from),
            scopes,
            resources,
            expires_at,
        })
    }
}

/// Parses scope names, recording each unknown one against its index.
fn scopes(v: &mut Validator, names: &[String]) -> Option<Scopes> {
    let mut scopes = Vec::with_capacity(names.len());
    let mut valid = true;
    for (i, name) in names.iter().enumerate() {
        match Scope::parse(name) {
            Some(scope) => scopes.push(scope),
            None => {
                valid = false;
                v.add(
                    format!("scopes[{i}]"),
                    format!("\"{name}\" is not a scope; see the Scope schema for the names"),
                );
            }
        }
    }
    valid.then(|| scopes.into_iter().collect())
}

/// Parses an optional RFC 3339 expiry. The domain checks that it is in the future.
fn expiry(v: &mut Validator, raw: Option<&str>) -> Option<Option<DateTime<Utc>>> {
    match raw {
        None => Some(None),
        Some(raw) => v
            .check(
                "expiresAt",
                DateTime::parse_from_rfc3339(raw)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|_| "must be an RFC 3339 date-time such as 2030-01-01T00:00:00Z"),
            )
            .map(Some),
    }
}

/// How a rotation treats the old secret. The body may be left out.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = RotateApiKey)]
pub(crate) struct RotateBody {
    /// How long the old secret keeps working, 0 to 2592000 (30 days); 0 (the
    /// default) revokes it at once.
    #[schema(minimum = 0, maximum = 2_592_000, example = 3600)]
    grace_period_seconds: Option<i64>,
}

impl RotateBody {
    pub(super) fn grace(&self) -> Duration {
        // The domain owns the range. A number of seconds no duration can hold is
        // as far out of it as any, so it goes in as the longest duration there is.
        self.grace_period_seconds.map_or(Duration::zero(), |s| {
            Duration::try_seconds(s).unwrap_or(Duration::MAX)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::Code;

    fn namespace_body(json: &str) -> Result<NewApiKey, Problem> {
        crate::extract::parse_json::<NewNamespaceKeyBody>(json.as_bytes())
            .expect("valid JSON")
            .validate()
    }

    fn fields(problem: &Problem) -> String {
        format!("{problem:?}")
    }

    #[test]
    fn a_role_and_a_scope_list_are_mutually_exclusive() {
        let problem = namespace_body(r#"{"name": "k", "role": "admin", "scopes": ["keys:read"]}"#)
            .unwrap_err();
        assert_eq!(problem.code(), Code::ValidationFailed);
        assert!(fields(&problem).contains("\"scopes\""), "{problem:?}");
    }

    #[test]
    fn every_unknown_scope_and_bad_resource_is_named() {
        let problem = namespace_body(
            r#"{"name": " ", "scopes": ["keys:read", "keys:destroy", "root"],
                "resources": ["standard_nda", "Bad Key"], "expiresAt": "tomorrow"}"#,
        )
        .unwrap_err();
        let text = fields(&problem);
        for expected in [
            "\"name\"",
            "scopes[1]",
            "keys:destroy",
            "scopes[2]",
            "root",
            "resources[1]",
            "\"expiresAt\"",
        ] {
            assert!(text.contains(expected), "{expected} missing from {text}");
        }
        assert!(!text.contains("scopes[0]") && !text.contains("resources[0]"));
    }

    #[test]
    fn a_valid_namespace_body_becomes_the_domain_request() {
        let new = namespace_body(
            r#"{"name": "reader", "scopes": ["tenant:read", "keys:read"],
                "resources": ["standard_nda"], "expiresAt": "2030-01-01T00:00:00+02:00"}"#,
        )
        .unwrap();
        assert_eq!(new.role, None);
        assert_eq!(
            new.scopes,
            Some([Scope::TenantRead, Scope::KeysRead].into_iter().collect())
        );
        assert_eq!(new.resources.unwrap()[0].as_str(), "standard_nda");
        assert_eq!(
            new.expires_at.unwrap().to_rfc3339(),
            "2029-12-31T22:00:00+00:00"
        );
        let member = namespace_body(r#"{"name": "m", "role": "member"}"#).unwrap();
        assert_eq!(member.role, Some(Role::Member));
        assert_eq!(member.scopes, None);
    }

    #[test]
    fn grace_periods_no_duration_can_hold_go_to_the_domain_as_too_long() {
        for seconds in [i64::MAX, i64::MIN] {
            let body = RotateBody {
                grace_period_seconds: Some(seconds),
            };
            assert_eq!(body.grace(), Duration::MAX, "{seconds}");
        }
        assert_eq!(RotateBody::default().grace(), Duration::zero());
    }
}

//! The data scope a transaction runs in, which row-level security enforces.

use domain::ports::DataScope;

/// The values of `app.scope`, `app.current_org_id` and `app.current_tenant_id`.
/// An empty id matches no row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    pub scope: &'static str,
    pub org_id: String,
    pub tenant_id: String,
}

/// The settings a transaction in `scope` starts with.
pub(crate) fn settings(scope: &DataScope) -> Settings {
    match scope {
        DataScope::Platform => Settings {
            scope: "platform",
            org_id: String::new(),
            tenant_id: String::new(),
        },
        DataScope::Org(org) => Settings {
            scope: "org",
            org_id: org.to_string(),
            tenant_id: String::new(),
        },
        DataScope::Tenant { org, tenant } => Settings {
            scope: "tenant",
            org_id: org.to_string(),
            tenant_id: tenant.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{OrgId, TenantId};
    use uuid::Uuid;

    #[test]
    fn each_scope_sets_exactly_the_ids_it_names() {
        let org = OrgId::from_uuid(Uuid::from_u128(1));
        let tenant = TenantId::from_uuid(Uuid::from_u128(2));
        assert_eq!(
            settings(&DataScope::Platform),
            Settings {
                scope: "platform",
                org_id: String::new(),
                tenant_id: String::new()
            }
        );
        assert_eq!(
            settings(&DataScope::Org(org)),
            Settings {
                scope: "org",
                org_id: "00000000-0000-0000-0000-000000000001".into(),
                tenant_id: String::new()
            }
        );
        assert_eq!(
            settings(&DataScope::Tenant { org, tenant }),
            Settings {
                scope: "tenant",
                org_id: "00000000-0000-0000-0000-000000000001".into(),
                tenant_id: "00000000-0000-0000-0000-000000000002".into()
            }
        );
    }
}

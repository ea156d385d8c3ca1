//! `AuditLog`, and the rule every mutating port method shares: a successful
//! write appends exactly its own audit record, a failed one appends none.

use domain::ports::DataScope;
use domain::ports::StoreError;
use domain::{AuditAction, AuditDetails, Namespace, Org, TenantId};

use super::{ALL, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, name, renamed, revoked, tombstone};

pub async fn audit_records_are_listed_in_the_order_written_not_in_id_order(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let created = trail(&store, &org).await;
    // Two use cases mint their record ids, then reach the store in the other
    // order: the trail follows the writes.
    let minted_first = f.org_audit(&org, AuditAction::OrgUpdated);
    let minted_second = f.org_audit(&org, AuditAction::OrgUpdated);
    let v2 = Org {
        name: name("SignStack 2"),
        version: 2,
        ..org.clone()
    };
    let v3 = Org {
        name: name("SignStack 3"),
        version: 3,
        ..v2.clone()
    };
    store
        .orgs
        .update_org(&DataScope::Platform, &v2, &minted_second)
        .await
        .unwrap();
    store
        .orgs
        .update_org(&DataScope::Platform, &v3, &minted_first)
        .await
        .unwrap();

    let all = trail(&store, &org).await;
    let after_second = store
        .audit
        .audit_records(
            &DataScope::Platform,
            org.id,
            None,
            Some(minted_second.id.as_uuid()),
            ALL,
        )
        .await
        .unwrap();

    let expected = [created.clone(), vec![minted_second, minted_first.clone()]].concat();
    let ids = |records: &[domain::AuditRecord]| records.iter().map(|r| r.id).collect::<Vec<_>>();
    assert_eq!(ids(&all), ids(&expected), "record ids in the order written");
    assert_eq!(all, expected, "the order written");
    assert_eq!(
        after_second,
        vec![minted_first],
        "what was written after a record follows it"
    );
}

pub async fn audit_records_are_filtered_by_org_and_by_tenant(store: StorePorts) {
    let f = Fixtures::new();
    // Writes of two orgs interleave.
    let signstack = seed_org(&store, &f, "signstack").await;
    let tigris = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &signstack, "acme", &["acme-live"]).await;
    let omega = seed_tenant(&store, &f, &tigris, "omega", &["omega-live"]).await;
    let beta = seed_tenant(&store, &f, &signstack, "beta", &["beta-live"]).await;
    let ns = f.namespace(&acme.tenant, "acme-test");
    let ns_created = f.namespace_audit(&ns, AuditAction::NamespaceCreated);
    store
        .namespaces
        .create_namespace(&DataScope::Platform, &ns, &ns_created)
        .await
        .unwrap();

    let signstack_trail = trail(&store, &signstack).await;
    let tigris_trail = trail(&store, &tigris).await;
    let records = |org: &Org, tenant: Option<TenantId>| {
        let store = store.clone();
        let org = org.id;
        async move {
            store
                .audit
                .audit_records(&DataScope::Platform, org, tenant, None, ALL)
                .await
                .unwrap()
        }
    };

    assert_eq!(signstack_trail.len(), 4, "created, acme, beta, namespace");
    assert_eq!(
        signstack_trail[1..].to_vec(),
        vec![acme.audit.clone(), beta.audit.clone(), ns_created.clone()]
    );
    assert_eq!(tigris_trail.len(), 2, "created, omega");
    assert_eq!(tigris_trail[1], omega.audit);
    assert_eq!(
        records(&signstack, Some(acme.tenant.id)).await,
        vec![acme.audit.clone(), ns_created],
        "one tenant's records, its namespaces' included"
    );
    assert_eq!(
        records(&signstack, Some(beta.tenant.id)).await,
        vec![beta.audit]
    );
    assert_eq!(
        records(&signstack, Some(omega.tenant.id)).await,
        vec![],
        "a tenant of another org"
    );
    assert_eq!(
        records(&f.org("nobody"), None).await,
        vec![],
        "an org that does not exist"
    );
}

pub async fn audit_records_resume_after_a_record_up_to_a_limit(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    let mut acme_now = acme.tenant.clone();
    for i in 0..3 {
        acme_now = renamed(&acme_now, &format!("Acme {i}"));
        store
            .tenants
            .update_tenant(
                &DataScope::Platform,
                &acme_now,
                &f.tenant_audit(&acme_now, AuditAction::TenantUpdated),
            )
            .await
            .unwrap();
    }
    let all = trail(&store, &org).await;
    assert_eq!(all.len(), 6, "created, acme, beta, three updates");
    let id = |i: usize| Some(all[i].id.as_uuid());
    let acme_id = Some(acme.tenant.id);

    let cases = [
        ("first page", None, None, 2, &all[..2]),
        ("resumed", None, id(1), 2, &all[2..4]),
        ("resumed to the end", None, id(3), ALL, &all[4..]),
        ("after the last", None, id(5), ALL, &[][..]),
        // The beta record is not acme's, but acme's later records follow it.
        (
            "one tenant, after another's record",
            acme_id,
            id(2),
            2,
            &all[3..5],
        ),
    ];
    for (what, tenant, after, limit, expected) in cases {
        let got = store
            .audit
            .audit_records(&DataScope::Platform, org.id, tenant, after, limit)
            .await
            .unwrap();
        assert_eq!(got, expected, "{what}");
    }
}

pub async fn every_successful_write_appends_exactly_its_own_audit_record(store: StorePorts) {
    let f = Fixtures::new();
    let mut expected = Vec::new();
    macro_rules! appended {
        ($what:literal, $org:expr, $record:expr) => {
            expected.push($record.clone());
            assert_eq!(trail(&store, $org).await, expected, $what);
        };
    }

    let org = f.org("signstack");
    let record = f.org_audit(&org, AuditAction::OrgCreated);
    store
        .orgs
        .create_org(&DataScope::Platform, &org, &record)
        .await
        .unwrap();
    appended!("create_org", &org, record);

    let renamed_org = Org {
        name: name("SignStack GmbH"),
        version: 2,
        ..org.clone()
    };
    let record = f.org_audit(&renamed_org, AuditAction::OrgUpdated);
    store
        .orgs
        .update_org(&DataScope::Platform, &renamed_org, &record)
        .await
        .unwrap();
    appended!("update_org", &org, record);

    let p = f.provisioning(&org, "acme", &["acme-live", "acme-test"]);
    store
        .tenants
        .provision(&DataScope::Platform, &p)
        .await
        .unwrap();
    appended!("provision", &org, p.audit);

    let tenant = renamed(&p.tenant, "Acme Holdings");
    let record = f.tenant_audit(&tenant, AuditAction::TenantUpdated);
    store
        .tenants
        .update_tenant(&DataScope::Platform, &tenant, &record)
        .await
        .unwrap();
    appended!("update_tenant", &org, record);

    let ns = f.namespace(&tenant, "acme-extra");
    let record = f.namespace_audit(&ns, AuditAction::NamespaceCreated);
    store
        .namespaces
        .create_namespace(&DataScope::Platform, &ns, &record)
        .await
        .unwrap();
    appended!("create_namespace", &org, record);

    let ns = Namespace {
        name: name("Extra"),
        updated_at: at(3),
        version: 2,
        ..ns
    };
    let record = f.namespace_audit(&ns, AuditAction::NamespaceUpdated);
    store
        .namespaces
        .update_namespace(&DataScope::Platform, &ns, &record)
        .await
        .unwrap();
    appended!("update_namespace", &org, record);

    let key = f.namespace_api_key(&ns, "CI");
    let record = f.key_audit(&key, AuditAction::ApiKeyCreated);
    store
        .keys
        .create_key(&DataScope::Platform, &key, &record)
        .await
        .unwrap();
    appended!("create_key", &org, record);

    let key = revoked(&key, at(4));
    let record = f.key_audit(&key, AuditAction::ApiKeyRevoked);
    store
        .keys
        .update_key(&DataScope::Platform, &key, &record)
        .await
        .unwrap();
    appended!("update_key", &org, record);

    let org_key = f.org_api_key(&org, "Terraform");
    let record = f.key_audit(&org_key, AuditAction::ApiKeyCreated);
    store
        .keys
        .create_key(&DataScope::Platform, &org_key, &record)
        .await
        .unwrap();
    appended!("create_key for an org key", &org, record);

    let (old, new) = f.rotation(&org_key, at(5));
    let record = f.key_audit(&old, AuditAction::ApiKeyRotated);
    store
        .keys
        .rotate_key(&DataScope::Platform, &old, &new, &record)
        .await
        .unwrap();
    appended!("rotate_key", &org, record);

    store
        .keys
        .record_usage(&[(new.id, at(6)), (key.id, at(6))])
        .await
        .unwrap();
    assert_eq!(
        trail(&store, &org).await,
        expected,
        "record_usage appends none"
    );

    let dead = tombstone(&tenant);
    let record = f.tenant_audit(&dead, AuditAction::TenantDeleted);
    store
        .tenants
        .update_tenant(&DataScope::Platform, &dead, &record)
        .await
        .unwrap();
    appended!("update_tenant to a tombstone", &org, record);
}

pub async fn failed_writes_append_no_audit_record(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns = &acme.namespaces[0];
    let key = f.namespace_api_key(ns, "CI");
    store
        .keys
        .create_key(
            &DataScope::Platform,
            &key,
            &f.key_audit(&key, AuditAction::ApiKeyCreated),
        )
        .await
        .unwrap();
    let before = trail(&store, &org).await;
    let missing_ns = f.namespace_api_key(&f.namespace(&acme.tenant, "acme-never"), "CI");
    let (stale_old, stale_new) = f.rotation(&revoked(&key, at(1)), at(2));

    let twin = f.org("signstack");
    let failures: Vec<(&str, Result<(), StoreError>)> = vec![
        (
            "create_key for a namespace that does not exist",
            store
                .keys
                .create_key(
                    &DataScope::Platform,
                    &missing_ns,
                    &f.key_audit(&missing_ns, AuditAction::ApiKeyCreated),
                )
                .await,
        ),
        (
            "update_key from a stale version",
            store
                .keys
                .update_key(
                    &DataScope::Platform,
                    &key,
                    &f.key_audit(&key, AuditAction::ApiKeyRevoked),
                )
                .await,
        ),
        (
            "rotate_key from a stale version",
            store
                .keys
                .rotate_key(
                    &DataScope::Platform,
                    &stale_old,
                    &stale_new,
                    &f.key_audit(&stale_old, AuditAction::ApiKeyRotated),
                )
                .await,
        ),
        (
            "create_org with a used key",
            store
                .orgs
                .create_org(
                    &DataScope::Platform,
                    &twin,
                    &f.org_audit(&twin, AuditAction::OrgCreated),
                )
                .await,
        ),
        (
            "update_org from a stale version",
            store
                .orgs
                .update_org(
                    &DataScope::Platform,
                    &org,
                    &f.org_audit(&org, AuditAction::OrgUpdated),
                )
                .await,
        ),
        (
            "provision with a used tenant key",
            store
                .tenants
                .provision(
                    &DataScope::Platform,
                    &f.provisioning(&org, "acme", &["acme-other"]),
                )
                .await,
        ),
        (
            "provision with a namespace key twice",
            store
                .tenants
                .provision(
                    &DataScope::Platform,
                    &f.provisioning(&org, "beta", &["beta-live", "beta-live"]),
                )
                .await,
        ),
        (
            "update_tenant from a stale version",
            store
                .tenants
                .update_tenant(
                    &DataScope::Platform,
                    &acme.tenant,
                    &f.tenant_audit(&acme.tenant, AuditAction::TenantUpdated),
                )
                .await,
        ),
        (
            "create_namespace with a used key",
            store
                .namespaces
                .create_namespace(
                    &DataScope::Platform,
                    &f.namespace(&acme.tenant, "acme-live"),
                    &f.namespace_audit(ns, AuditAction::NamespaceCreated),
                )
                .await,
        ),
        (
            "update_namespace from a stale version",
            store
                .namespaces
                .update_namespace(
                    &DataScope::Platform,
                    ns,
                    &f.namespace_audit(ns, AuditAction::NamespaceUpdated),
                )
                .await,
        ),
    ];

    for (what, result) in &failures {
        assert!(result.is_err(), "{what} must fail");
    }
    assert_eq!(trail(&store, &org).await, before, "no audit record");
    assert_eq!(trail(&store, &twin).await, vec![], "none for the twin org");
}

pub async fn audit_records_outlive_the_tenant_they_are_about(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns_record = f.namespace_audit(&acme.namespaces[0], AuditAction::NamespaceUpdated);
    let ns = Namespace {
        name: name("Live"),
        version: 2,
        ..acme.namespaces[0].clone()
    };
    store
        .namespaces
        .update_namespace(&DataScope::Platform, &ns, &ns_record)
        .await
        .unwrap();
    let dead = tombstone(&acme.tenant);
    let deleted = f.tenant_audit(&dead, AuditAction::TenantDeleted);
    store
        .tenants
        .update_tenant(&DataScope::Platform, &dead, &deleted)
        .await
        .unwrap();

    let records = store
        .audit
        .audit_records(
            &DataScope::Platform,
            org.id,
            Some(acme.tenant.id),
            None,
            ALL,
        )
        .await
        .unwrap();

    assert_eq!(records, vec![acme.audit, ns_record, deleted]);
}

/// A tenant's record arrives with its details sealed by the domain: the store
/// keeps the sealed bytes exactly (they are what an integrity check of the
/// trail is computed over), beside clear records of the same tenant written
/// before sealing existed, and lists both back as written, in every scope
/// that sees them.
pub async fn sealed_details_are_stored_and_read_back_exactly_beside_clear_ones(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let ns = Namespace {
        name: name("Live"),
        version: 2,
        ..acme.namespaces[0].clone()
    };
    let mut sealed = f.namespace_audit(&ns, AuditAction::NamespaceUpdated);
    // Any bytes: a store never interprets them. A zero byte and bytes that
    // are not UTF-8 included.
    sealed.details = AuditDetails::Sealed(vec![0, 159, 146, 150, 255, 1, 2, 3]);
    store
        .namespaces
        .update_namespace(&DataScope::Platform, &ns, &sealed)
        .await
        .unwrap();
    let clear = f.tenant_audit(&acme.tenant, AuditAction::TenantUpdated);
    let renamed_acme = renamed(&acme.tenant, "Acme 2");
    store
        .tenants
        .update_tenant(&DataScope::Platform, &renamed_acme, &clear)
        .await
        .unwrap();

    let expected = vec![acme.audit.clone(), sealed.clone(), clear.clone()];
    for scope in [
        DataScope::Platform,
        DataScope::Org(org.id),
        DataScope::Tenant {
            org: org.id,
            tenant: acme.tenant.id,
        },
    ] {
        let records = store
            .audit
            .audit_records(&scope, org.id, Some(acme.tenant.id), None, ALL)
            .await
            .unwrap();
        assert_eq!(records, expected, "in {scope:?}");
    }
}

pub async fn an_appended_record_joins_the_trail_and_is_refused_outside_its_scope(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let beta = seed_tenant(&store, &f, &org, "beta", &["beta-live"]).await;
    let before = trail(&store, &org).await;

    let exported = f.tenant_audit(&acme.tenant, AuditAction::TenantExported);
    let acme_scope = DataScope::Tenant {
        org: org.id,
        tenant: acme.tenant.id,
    };
    store
        .audit
        .append(&DataScope::Org(org.id), &exported)
        .await
        .expect("an org scope appends its tenant's record");
    let in_tenant_scope = f.tenant_audit(&acme.tenant, AuditAction::TenantExported);
    store
        .audit
        .append(&acme_scope, &in_tenant_scope)
        .await
        .expect("a tenant scope appends its own record");

    let refused = [
        (
            "another org's scope",
            DataScope::Org(other.id),
            f.tenant_audit(&acme.tenant, AuditAction::TenantExported),
        ),
        (
            "another tenant's scope",
            DataScope::Tenant {
                org: org.id,
                tenant: beta.tenant.id,
            },
            f.tenant_audit(&acme.tenant, AuditAction::TenantExported),
        ),
        (
            "an org-level record in a tenant scope",
            acme_scope,
            f.org_audit(&org, AuditAction::OrgUpdated),
        ),
    ];
    for (what, scope, record) in refused {
        assert_eq!(
            store.audit.append(&scope, &record).await,
            Err(StoreError::OutOfScope),
            "{what}"
        );
    }

    let after = trail(&store, &org).await;
    assert_eq!(
        after,
        [before, vec![exported, in_tenant_scope]].concat(),
        "exactly the appended records, in the order appended"
    );
    assert_eq!(
        trail(&store, &other).await.len(),
        1,
        "nothing reached the other org"
    );
}

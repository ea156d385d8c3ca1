//! `CustomDomainStore`: one domain per tenant, each name one tenant's, written
//! by version (with its audit record when there is one), the due ones listed
//! in order, a verified one found by name, visible to its org and tenant
//! only, purged with its tenant.

use chrono::Duration;
use domain::ports::{DataScope, StoreError, StoredDomain, Unique};
use domain::{
    AuditAction, AuditRecord, CheckReason, CustomDomain, DomainName, DomainStatus, TargetKind,
    Tenant, VerificationToken,
};

use super::{delete_tenant, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at};

fn name(raw: &str) -> DomainName {
    DomainName::parse(raw).expect("a valid name")
}

/// `raw` added for `tenant` at minute `minute`: version 1, pending, due then.
fn added(tenant: &Tenant, raw: &str, minute: i64) -> StoredDomain {
    StoredDomain {
        org_id: tenant.org_id,
        tenant_id: tenant.id,
        domain: CustomDomain::new(
            name(raw),
            VerificationToken::from_bytes(&[7; 16]),
            at(minute),
        ),
        version: 1,
        updated_at: at(minute),
    }
}

/// The next version of `stored` after a check answering `records` at `minute`.
fn checked(stored: &StoredDomain, records: &[&str], minute: i64) -> StoredDomain {
    let answer = Ok(records.iter().map(|r| (*r).to_owned()).collect());
    let (domain, _) = stored.domain.after_check(&answer, at(minute));
    StoredDomain {
        domain,
        version: stored.version + 1,
        updated_at: at(minute),
        ..stored.clone()
    }
}

fn audit(f: &Fixtures, stored: &StoredDomain, action: AuditAction) -> AuditRecord {
    f.record(
        action,
        TargetKind::CustomDomain,
        stored.tenant_id.as_uuid(),
        stored.org_id,
        Some(stored.tenant_id),
    )
}

pub async fn a_domain_is_one_tenants_and_written_by_version(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let globex = seed_tenant(&store, &f, &org, "globex", &["globex-live"])
        .await
        .tenant;
    let scope = DataScope::Org(org.id);
    let domains = &store.custom_domains;
    let before = trail(&store, &org).await.len();
    assert_eq!(domains.custom_domain(&scope, acme.id).await.unwrap(), None);

    let first = added(&acme, "login.acme.example", 0);
    domains
        .put_custom_domain(
            &scope,
            &first,
            Some(audit(&f, &first, AuditAction::DomainAdded)),
        )
        .await
        .expect("added");
    assert_eq!(
        domains.custom_domain(&scope, acme.id).await.unwrap(),
        Some(first.clone()),
        "read back exactly"
    );
    let second = added(&acme, "www.acme.example", 1);
    assert_eq!(
        domains.put_custom_domain(&scope, &second, None).await,
        Err(StoreError::Stale),
        "a second domain of one tenant"
    );
    let stolen = added(&globex, "login.acme.example", 1);
    assert_eq!(
        domains.put_custom_domain(&scope, &stolen, None).await,
        Err(StoreError::Taken(Unique::Domain)),
        "another tenant's name"
    );

    let next = checked(&first, &[], 1);
    assert_eq!(next.domain.last_reason, Some(CheckReason::NoRecord));
    domains
        .put_custom_domain(&scope, &next, None)
        .await
        .expect("a check without a status change, unaudited");
    assert_eq!(
        domains.put_custom_domain(&scope, &next, None).await,
        Err(StoreError::Stale),
        "the same version twice"
    );
    let skipped = StoredDomain {
        version: next.version + 2,
        ..next.clone()
    };
    assert_eq!(
        domains.put_custom_domain(&scope, &skipped, None).await,
        Err(StoreError::Stale),
        "a version that is not the next"
    );
    assert_eq!(
        domains.custom_domain(&scope, acme.id).await.unwrap(),
        Some(next.clone())
    );

    assert_eq!(
        domains
            .remove_custom_domain(
                &scope,
                &first,
                &audit(&f, &first, AuditAction::DomainRemoved)
            )
            .await,
        Err(StoreError::Stale),
        "removing a version that is not the stored one"
    );
    domains
        .remove_custom_domain(&scope, &next, &audit(&f, &next, AuditAction::DomainRemoved))
        .await
        .expect("removed");
    assert_eq!(domains.custom_domain(&scope, acme.id).await.unwrap(), None);
    domains
        .put_custom_domain(&scope, &stolen, None)
        .await
        .expect("a removed name is free for another tenant");
    assert_eq!(
        trail(&store, &org).await.len(),
        before + 2,
        "one record a write that has one"
    );
}

pub async fn due_domains_are_the_pending_ones_whose_check_is_due_in_order(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let scope = DataScope::Org(org.id);
    let mut tenants = Vec::new();
    for key in ["a", "b", "c", "d"] {
        let key = format!("tenant-{key}");
        let tenant = seed_tenant(&store, &f, &org, &key, &[&format!("{key}-live")])
            .await
            .tenant;
        tenants.push(tenant);
    }
    // a: due at minute 5; b: due at minute 2; c: verified; d: due at 30.
    let a = added(&tenants[0], "a.example.com", 5);
    let b = added(&tenants[1], "b.example.com", 2);
    let c = added(&tenants[2], "c.example.com", 0);
    let d = added(&tenants[3], "d.example.com", 30);
    for stored in [&a, &b, &c, &d] {
        store
            .custom_domains
            .put_custom_domain(&scope, stored, None)
            .await
            .unwrap();
    }
    let token = c.domain.token.to_string();
    let verified = checked(&c, &[&token], 1);
    assert_eq!(verified.domain.status, DomainStatus::Verified);
    store
        .custom_domains
        .put_custom_domain(&scope, &verified, None)
        .await
        .unwrap();

    let due = |minute: i64, limit: usize| {
        let store = &store;
        async move {
            store
                .custom_domains
                .due_custom_domains(at(minute), limit)
                .await
                .unwrap()
                .into_iter()
                .map(|d| d.domain.domain.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(due(1, 10).await, Vec::<String>::new(), "none due yet");
    assert_eq!(due(5, 10).await, ["b.example.com", "a.example.com"]);
    assert_eq!(due(5, 1).await, ["b.example.com"], "at most the limit");
    assert_eq!(
        due(60, 10).await,
        ["b.example.com", "a.example.com", "d.example.com"],
        "never a verified one"
    );
    let later = StoredDomain {
        domain: CustomDomain {
            next_check_at: Some(at(5) + Duration::hours(1)),
            ..b.domain.clone()
        },
        version: 2,
        ..b.clone()
    };
    store
        .custom_domains
        .put_custom_domain(&scope, &later, None)
        .await
        .unwrap();
    assert_eq!(due(5, 10).await, ["a.example.com"], "checked, due later");
}

pub async fn only_a_verified_domain_names_its_tenant(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let scope = DataScope::Org(org.id);
    let pending = added(&acme, "login.acme.example", 0);
    store
        .custom_domains
        .put_custom_domain(&scope, &pending, None)
        .await
        .unwrap();
    let lookup = |raw: &'static str| {
        let store = &store;
        async move {
            store
                .custom_domains
                .tenant_of_verified_domain(&name(raw))
                .await
                .unwrap()
        }
    };
    assert_eq!(lookup("login.acme.example").await, None, "pending");
    let token = pending.domain.token.to_string();
    let verified = checked(&pending, &[&token], 1);
    store
        .custom_domains
        .put_custom_domain(&scope, &verified, None)
        .await
        .unwrap();
    assert_eq!(lookup("login.acme.example").await, Some((org.id, acme.id)));
    assert_eq!(lookup("other.acme.example").await, None, "another name");
}

pub async fn another_orgs_and_tenants_domains_are_invisible_and_untouchable(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let globex = seed_tenant(&store, &f, &org, "globex", &["globex-live"])
        .await
        .tenant;
    let scope = DataScope::Org(org.id);
    let stored = added(&acme, "login.acme.example", 0);
    store
        .custom_domains
        .put_custom_domain(&scope, &stored, None)
        .await
        .unwrap();
    let globex_scope = DataScope::Tenant {
        org: org.id,
        tenant: globex.id,
    };
    let theirs = DataScope::Org(other.id);
    for outsider in [&globex_scope, &theirs] {
        assert_eq!(
            store
                .custom_domains
                .custom_domain(outsider, acme.id)
                .await
                .unwrap(),
            None
        );
        let next = checked(&stored, &[], 1);
        assert!(
            store
                .custom_domains
                .put_custom_domain(outsider, &next, None)
                .await
                .is_err()
        );
        let audit = audit(&f, &stored, AuditAction::DomainRemoved);
        assert!(
            store
                .custom_domains
                .remove_custom_domain(outsider, &stored, &audit)
                .await
                .is_err()
        );
    }
    let own = DataScope::Tenant {
        org: org.id,
        tenant: acme.id,
    };
    assert_eq!(
        store
            .custom_domains
            .custom_domain(&own, acme.id)
            .await
            .unwrap(),
        Some(stored),
        "its own tenant's, unchanged"
    );
}

pub async fn a_deleted_tenants_domain_is_purged_with_it(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let globex = seed_tenant(&store, &f, &org, "globex", &["globex-live"])
        .await
        .tenant;
    let scope = DataScope::Org(org.id);
    let stored = added(&acme, "login.acme.example", 0);
    store
        .custom_domains
        .put_custom_domain(&scope, &stored, None)
        .await
        .unwrap();
    delete_tenant(&store, &f, &acme).await;
    assert_eq!(
        store
            .custom_domains
            .custom_domain(&scope, acme.id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .custom_domains
            .due_custom_domains(at(60), 10)
            .await
            .unwrap(),
        vec![]
    );
    assert_eq!(
        store
            .custom_domains
            .put_custom_domain(&scope, &stored, None)
            .await,
        Err(StoreError::Stale),
        "a tombstone takes no domain"
    );
    store
        .custom_domains
        .put_custom_domain(&scope, &added(&globex, "login.acme.example", 1), None)
        .await
        .expect("its name is free again");
}

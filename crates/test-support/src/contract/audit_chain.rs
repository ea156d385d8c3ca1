//! `AuditLog`'s hash chain and filters: every store links each org's records
//! exactly as `domain::audit::chain` defines (so a store computing the links
//! in another language cannot drift from the Rust definition unnoticed), and
//! lists them narrowed by tenant, action, actor and time.

use chrono::Duration;
use domain::audit::chain::verify;
use domain::ports::DataScope;
use domain::{
    AuditAction, AuditDetails, AuditFilter, AuditLink, AuditRecord, ChainHead, Change, Namespace,
    Org, OrgId,
};

use super::{ALL, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, name, operator, reason, renamed};

/// The org's whole chain, read `page` links at a time, as verification reads it.
async fn chain(store: &StorePorts, scope: &DataScope, org: OrgId, page: usize) -> Vec<AuditLink> {
    let mut links: Vec<AuditLink> = Vec::new();
    loop {
        let after = links.last().map_or(0, |l| l.seq);
        let next = store
            .audit
            .audit_chain(scope, org, after, page)
            .await
            .expect("reading the chain");
        let done = next.len() < page;
        links.extend(next);
        if done {
            return links;
        }
    }
}

fn head_of(links: &[AuditLink]) -> ChainHead {
    links.last().map_or(ChainHead::GENESIS, |l| ChainHead {
        seq: l.seq,
        hash: l.hash,
    })
}

async fn updated_org(store: &StorePorts, scope: &DataScope, org: &Org, audit: &AuditRecord) -> Org {
    let next = Org {
        name: name(&format!("{} +", org.name.as_str())),
        version: org.version + 1,
        ..org.clone()
    };
    store.orgs.update_org(scope, &next, audit).await.unwrap();
    next
}

pub async fn every_store_links_each_orgs_records_as_the_domain_defines_the_chain(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;

    // Org level, clear, with every value a canonical form must escape, no
    // request id, no reason, and a time with nanoseconds (stores keep
    // microseconds; the canonical form has six digits).
    let mut odd = f.org_audit(&org, AuditAction::OrgUpdated);
    odd.request_id = None;
    odd.at = at(3) + Duration::nanoseconds(123_456_789);
    odd.details = AuditDetails::Clear {
        reason: None,
        changes: vec![
            Change {
                field: "name",
                from: Some("\"quoted\" \\ back\u{1}\n\té€😀\u{7f}".into()),
                to: None,
            },
            Change {
                field: "plan",
                from: None,
                to: Some(String::new()),
            },
        ],
    };
    let org = updated_org(&store, &DataScope::Platform, &org, &odd).await;
    updated_org(
        &store,
        &DataScope::Platform,
        &other,
        &f.org_audit(&other, AuditAction::OrgUpdated),
    )
    .await;

    // Tenant level: sealed details, then clear ones, the second written in
    // the tenant's own scope.
    let ns = Namespace {
        name: name("Live"),
        version: 2,
        ..acme.namespaces[0].clone()
    };
    let mut sealed = f.namespace_audit(&ns, AuditAction::NamespaceUpdated);
    sealed.details = AuditDetails::Sealed(vec![0, 159, 146, 150, 255, 1, 2, 3]);
    store
        .namespaces
        .update_namespace(&DataScope::Platform, &ns, &sealed)
        .await
        .unwrap();
    let mut clear = f.tenant_audit(&acme.tenant, AuditAction::TenantUpdated);
    clear.details = AuditDetails::Clear {
        reason: Some(reason("a reason, \"quoted\"")),
        changes: Vec::new(),
    };
    let tenant_scope = DataScope::Tenant {
        org: org.id,
        tenant: acme.tenant.id,
    };
    store
        .tenants
        .update_tenant(&tenant_scope, &renamed(&acme.tenant, "Acme 2"), &clear)
        .await
        .unwrap();
    updated_org(
        &store,
        &DataScope::Org(org.id),
        &org,
        &f.org_audit(&org, AuditAction::OrgUpdated),
    )
    .await;

    for (o, expected) in [(&org, 6u64), (&other, 2)] {
        let written = trail(&store, o).await;
        assert_eq!(
            written.len() as u64,
            expected,
            "records of {}",
            o.key.as_str()
        );
        for page in [1, 2, ALL] {
            let links = chain(&store, &DataScope::Platform, o.id, page).await;
            let seqs: Vec<u64> = links.iter().map(|l| l.seq).collect();
            assert_eq!(
                seqs,
                (1..=expected).collect::<Vec<u64>>(),
                "each org's records are numbered 1, 2, 3… in the order written"
            );
            let ids: Vec<_> = links.iter().map(|l| l.record.id).collect();
            assert_eq!(
                ids,
                written.iter().map(|r| r.id).collect::<Vec<_>>(),
                "the chain follows the order written"
            );
            let report = verify(&links, None);
            assert!(
                report.intact,
                "the store's links are not the domain's chain: first broken seq {:?}",
                report.first_broken_seq
            );
            assert_eq!(report.checked, expected);
            assert_eq!(report.head, head_of(&links));
        }
        let links = chain(&store, &DataScope::Org(o.id), o.id, ALL).await;
        let head = store
            .audit
            .audit_head(&DataScope::Org(o.id), o.id)
            .await
            .unwrap();
        assert_eq!(head, head_of(&links), "the head is the last link");
        // The listing carries the same links.
        let listed = store
            .audit
            .audit_events(
                &DataScope::Platform,
                o.id,
                &AuditFilter::default(),
                None,
                ALL,
            )
            .await
            .unwrap();
        assert_eq!(listed, links);
    }

    let nobody = f.org("nobody");
    assert_eq!(
        store
            .audit
            .audit_head(&DataScope::Platform, nobody.id)
            .await
            .unwrap(),
        ChainHead::GENESIS
    );
    assert!(
        chain(&store, &DataScope::Platform, nobody.id, 10)
            .await
            .is_empty()
    );
}

pub async fn a_tenant_scope_reads_only_its_own_links_of_the_orgs_chain(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let bolt = seed_tenant(&store, &f, &org, "bolt", &["bolt-live"]).await;
    let scope = DataScope::Tenant {
        org: org.id,
        tenant: acme.tenant.id,
    };
    let links = chain(&store, &scope, org.id, ALL).await;
    assert_eq!(
        links.iter().map(|l| l.seq).collect::<Vec<_>>(),
        vec![2],
        "acme's provisioning only, at its place in the org's chain"
    );
    let head = store.audit.audit_head(&scope, org.id).await.unwrap();
    assert_eq!(head, head_of(&links));
    let all = chain(&store, &DataScope::Org(org.id), org.id, ALL).await;
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].record, bolt.audit);
}

pub async fn audit_events_are_filtered_by_tenant_action_actor_and_time(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let bolt = seed_tenant(&store, &f, &org, "bolt", &["bolt-live"]).await;
    let mut by_ada = f.tenant_audit(&acme.tenant, AuditAction::TenantUpdated);
    by_ada.actor = operator("ada");
    by_ada.at = at(10);
    store
        .tenants
        .update_tenant(
            &DataScope::Platform,
            &renamed(&acme.tenant, "Acme 2"),
            &by_ada,
        )
        .await
        .unwrap();
    let mut later = f.org_audit(&org, AuditAction::OrgUpdated);
    later.actor = operator("ada");
    later.at = at(20);
    updated_org(&store, &DataScope::Platform, &org, &later).await;

    let listed = |filter: AuditFilter, after: Option<&AuditRecord>| {
        let store = store.clone();
        let after = after.map(|r| r.id.as_uuid());
        async move {
            store
                .audit
                .audit_events(&DataScope::Org(org.id), org.id, &filter, after, ALL)
                .await
                .unwrap()
                .into_iter()
                .map(|l| l.record)
                .collect::<Vec<_>>()
        }
    };
    let created = trail(&store, &org).await[0].clone();
    let every = vec![
        created.clone(),
        acme.audit.clone(),
        bolt.audit.clone(),
        by_ada.clone(),
        later.clone(),
    ];
    assert_eq!(listed(AuditFilter::default(), None).await, every);
    assert_eq!(
        listed(AuditFilter::tenant(Some(acme.tenant.id)), None).await,
        vec![acme.audit.clone(), by_ada.clone()]
    );
    let action = AuditFilter {
        action: Some(AuditAction::TenantProvisioned),
        ..AuditFilter::default()
    };
    assert_eq!(
        listed(action.clone(), None).await,
        vec![acme.audit.clone(), bolt.audit.clone()]
    );
    assert_eq!(
        listed(action, Some(&acme.audit)).await,
        vec![bolt.audit.clone()],
        "resumes after a record"
    );
    let actor = AuditFilter {
        actor: Some("ada".into()),
        ..AuditFilter::default()
    };
    assert_eq!(
        listed(actor.clone(), None).await,
        vec![by_ada.clone(), later.clone()]
    );
    assert_eq!(
        listed(actor, Some(&created)).await,
        vec![by_ada.clone(), later.clone()],
        "after a record the filter does not match"
    );
    let window = AuditFilter {
        since: Some(at(10)),
        until: Some(at(20)),
        ..AuditFilter::default()
    };
    assert_eq!(
        listed(window, None).await,
        vec![by_ada.clone()],
        "since is inclusive, until exclusive"
    );
    let since = AuditFilter {
        since: Some(at(10) + Duration::microseconds(1)),
        ..AuditFilter::default()
    };
    assert_eq!(listed(since, None).await, vec![later.clone()]);
    let both = AuditFilter {
        tenant: Some(bolt.tenant.id),
        actor: Some("ada".into()),
        ..AuditFilter::default()
    };
    assert!(listed(both, None).await.is_empty());
}

pub async fn concurrent_writers_of_one_org_leave_a_gapless_chain_that_verifies(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"]).await;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(24));
    let tasks: Vec<_> = (0..24)
        .map(|n| {
            let (store, start) = (store.clone(), start.clone());
            // Org keys (org scope) and namespace keys (the tenant's scope)
            // interleaved: both kinds of writer move the one org head.
            let (key, scope) = if n % 2 == 0 {
                (
                    f.org_api_key(&org, &format!("org key {n}")),
                    DataScope::Org(org.id),
                )
            } else {
                (
                    f.namespace_api_key(&acme.namespaces[0], &format!("ns key {n}")),
                    DataScope::Tenant {
                        org: org.id,
                        tenant: acme.tenant.id,
                    },
                )
            };
            let audit = f.key_audit(&key, AuditAction::ApiKeyCreated);
            tokio::spawn(async move {
                start.wait().await;
                store.keys.create_key(&scope, &key, &audit).await
            })
        })
        .collect();
    for task in tasks {
        task.await
            .expect("the write task panicked")
            .expect("creating a key");
    }
    let links = chain(&store, &DataScope::Platform, org.id, 7).await;
    assert_eq!(
        links.iter().map(|l| l.seq).collect::<Vec<_>>(),
        (1..=26).collect::<Vec<u64>>(),
        "the org's creation, the provisioning and 24 keys, numbered without gaps"
    );
    let report = verify(&links, None);
    assert!(report.intact, "{report:?}");
    let written: Vec<_> = trail(&store, &org)
        .await
        .into_iter()
        .map(|r| r.id)
        .collect();
    let chained: Vec<_> = links.iter().map(|l| l.record.id).collect();
    assert_eq!(chained, written, "chain order is the order written");
}

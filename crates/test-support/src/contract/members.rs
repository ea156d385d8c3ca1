//! `MemberStore`: a tenant's members stored exactly, one row per user, the
//! owner counted but never a row, written by version with one audit record
//! each, within the members quota even under concurrency, and moved together
//! with the tenant's owner.

use std::collections::HashSet;

use domain::ports::{DataScope, StoreError, Unique};
use domain::{
    AuditAction, AuditDetails, AuditId, AuditRecord, Email, Member, MemberId, MemberRole, Owner,
    TargetKind, Tenant, UserId,
};

use super::{ALL, delete_tenant, seed_org, seed_tenant, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, epoch, operator};

fn member(f: &Fixtures, tenant: &Tenant, user: &str) -> Member {
    Member {
        id: MemberId::from_uuid(f.id()),
        org_id: tenant.org_id,
        tenant_id: tenant.id,
        user_id: UserId::parse(user).expect("a user id"),
        email: Email::parse(&format!("{user}@example.com")).expect("an email"),
        role: MemberRole::Member,
        invited_at: epoch(),
        joined_at: None,
        updated_at: epoch(),
        version: 1,
    }
}

fn audit(f: &Fixtures, m: &Member, action: AuditAction) -> AuditRecord {
    AuditRecord {
        id: AuditId::from_uuid(f.id()),
        at: m.updated_at,
        actor: operator("key-ops"),
        action,
        target_kind: TargetKind::Member,
        target_id: m.id.as_uuid(),
        org_id: m.org_id,
        tenant_id: Some(m.tenant_id),
        request_id: None,
        details: AuditDetails::changes_only(Vec::new()),
    }
}

async fn add(store: &StorePorts, f: &Fixtures, m: &Member, max: u64) -> Result<(), StoreError> {
    store
        .members
        .add_member(
            &DataScope::Org(m.org_id),
            m,
            max,
            &audit(f, m, AuditAction::MemberAdded),
        )
        .await
}

async fn listed(store: &StorePorts, scope: &DataScope, tenant: &Tenant) -> Vec<Member> {
    store
        .members
        .members(scope, tenant.id, None, ALL)
        .await
        .expect("listing members")
}

pub async fn members_are_stored_read_back_exactly_and_listed_in_user_id_order(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let tenant = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let zoe = member(&f, &tenant, "zoe");
    let ada = Member {
        role: MemberRole::Admin,
        joined_at: Some(at(1)),
        ..member(&f, &tenant, "ada")
    };
    // Byte order: upper case sorts before lower case, whatever the collation.
    let bob = member(&f, &tenant, "Bob");
    for m in [&zoe, &ada, &bob] {
        add(&store, &f, m, 10).await.expect("adding a member");
    }
    let scope = DataScope::Org(org.id);
    assert_eq!(
        listed(&store, &scope, &tenant).await,
        [bob.clone(), ada.clone(), zoe.clone()]
    );
    let after_bob = store
        .members
        .members(&scope, tenant.id, Some(bob.user_id.clone()), 1)
        .await
        .unwrap();
    assert_eq!(
        after_bob,
        std::slice::from_ref(&ada),
        "strictly after, at most the limit"
    );
    assert_eq!(
        store
            .members
            .get_member(&scope, tenant.id, &ada.user_id)
            .await
            .unwrap(),
        Some(ada.clone())
    );
    let actions: Vec<AuditAction> = trail(&store, &org).await.iter().map(|r| r.action).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| **a == AuditAction::MemberAdded)
            .count(),
        3
    );
}

pub async fn a_user_is_in_a_tenant_once_and_the_quota_counts_the_owner(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let tenant = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let owner = tenant
        .owner
        .clone()
        .expect("the fixture tenant has an owner");
    let first = member(&f, &tenant, "ada");
    add(&store, &f, &first, 3).await.unwrap();
    let again = member(&f, &tenant, "ada");
    assert_eq!(
        add(&store, &f, &again, 3).await,
        Err(StoreError::Taken(Unique::Member)),
        "a member twice"
    );
    let the_owner = member(&f, &tenant, owner.user_id.as_str());
    assert_eq!(
        add(&store, &f, &the_owner, 3).await,
        Err(StoreError::Taken(Unique::Member)),
        "the owner as a row"
    );
    add(&store, &f, &member(&f, &tenant, "bob"), 3)
        .await
        .unwrap();
    assert_eq!(
        add(&store, &f, &member(&f, &tenant, "cy"), 3).await,
        Err(StoreError::LimitReached { used: 3 }),
        "owner, ada and bob: three of three"
    );
    assert_eq!(listed(&store, &DataScope::Platform, &tenant).await.len(), 2);
}

pub async fn member_updates_and_removals_go_by_version_with_one_audit_record_each(
    store: StorePorts,
) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let tenant = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let ada = member(&f, &tenant, "ada");
    add(&store, &f, &ada, 10).await.unwrap();
    let scope = DataScope::Org(org.id);
    let promoted = Member {
        role: MemberRole::Admin,
        updated_at: at(2),
        version: 2,
        ..ada.clone()
    };
    let before = trail(&store, &org).await.len();
    store
        .members
        .update_member(
            &scope,
            &promoted,
            &audit(&f, &promoted, AuditAction::MemberUpdated),
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .members
            .update_member(
                &scope,
                &promoted,
                &audit(&f, &promoted, AuditAction::MemberUpdated)
            )
            .await,
        Err(StoreError::Stale),
        "a second write from the same version"
    );
    assert_eq!(
        store
            .members
            .remove_member(&scope, &ada, &audit(&f, &ada, AuditAction::MemberRemoved))
            .await,
        Err(StoreError::Stale),
        "removing a version that is no longer stored"
    );
    store
        .members
        .remove_member(
            &scope,
            &promoted,
            &audit(&f, &promoted, AuditAction::MemberRemoved),
        )
        .await
        .unwrap();
    assert_eq!(listed(&store, &scope, &tenant).await, []);
    assert_eq!(
        trail(&store, &org).await.len(),
        before + 2,
        "one record each"
    );
}

pub async fn a_transfer_moves_the_owner_and_the_rows_together_or_not_at_all(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let tenant = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let former = tenant.owner.clone().unwrap();
    let ada = member(&f, &tenant, "ada");
    add(&store, &f, &ada, 10).await.unwrap();
    let next = Tenant {
        owner: Some(Owner {
            user_id: ada.user_id.clone(),
            email: ada.email.clone(),
        }),
        updated_at: at(3),
        version: tenant.version + 1,
        ..tenant.clone()
    };
    let demoted = Member {
        role: MemberRole::Admin,
        email: former.email.clone(),
        ..member(&f, &tenant, former.user_id.as_str())
    };
    let scope = DataScope::Org(org.id);
    let record = f.tenant_audit(&next, AuditAction::TenantOwnerChanged);
    let stale = Tenant {
        version: tenant.version + 2,
        ..next.clone()
    };
    assert_eq!(
        store
            .members
            .transfer_owner(
                &scope,
                &stale,
                Some(ada.clone()),
                Some(demoted.clone()),
                10,
                &record
            )
            .await,
        Err(StoreError::Stale),
        "a tenant version that is not the next"
    );
    assert_eq!(
        listed(&store, &scope, &tenant).await,
        std::slice::from_ref(&ada),
        "nothing moved"
    );
    store
        .members
        .transfer_owner(
            &scope,
            &next,
            Some(ada.clone()),
            Some(demoted.clone()),
            10,
            &record,
        )
        .await
        .unwrap();
    let stored = store
        .tenants
        .get_tenant(&scope, &domain::TenantRef::Id(tenant.id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, next, "the owner moved");
    assert_eq!(
        listed(&store, &scope, &tenant).await,
        [demoted],
        "the rows moved"
    );
    assert_eq!(trail(&store, &org).await.last(), Some(&record));

    // A newcomer as owner is one more person: refused at the quota.
    let newcomer = Tenant {
        owner: Some(Owner {
            user_id: UserId::parse("zed").unwrap(),
            email: Email::parse("zed@example.com").unwrap(),
        }),
        version: next.version + 1,
        ..next.clone()
    };
    let ada_demoted = Member {
        role: MemberRole::Admin,
        ..member(&f, &tenant, "ada")
    };
    assert_eq!(
        store
            .members
            .transfer_owner(
                &scope,
                &newcomer,
                None,
                Some(ada_demoted),
                2,
                &f.tenant_audit(&newcomer, AuditAction::TenantOwnerChanged),
            )
            .await,
        Err(StoreError::LimitReached { used: 2 })
    );
}

pub async fn concurrent_adds_never_pass_the_members_quota(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let tenant = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let mut adds = Vec::new();
    for n in 0..20 {
        let store = store.clone();
        let m = member(&f, &tenant, &format!("user-{n:02}"));
        let record = audit(&f, &m, AuditAction::MemberAdded);
        adds.push(tokio::spawn(async move {
            store
                .members
                .add_member(&DataScope::Org(m.org_id), &m, 6, &record)
                .await
        }));
    }
    let mut added = 0;
    for add in adds {
        match add.await.expect("an add") {
            Ok(()) => added += 1,
            Err(StoreError::LimitReached { used }) => assert_eq!(used, 6),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(added, 5, "the owner and five members make six");
    assert_eq!(listed(&store, &DataScope::Platform, &tenant).await.len(), 5);
}

pub async fn another_tenants_members_are_invisible_and_untouchable(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let other_org = seed_org(&store, &f, "tigris").await;
    let acme = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    let globex = seed_tenant(&store, &f, &org, "globex", &["globex-live"])
        .await
        .tenant;
    let ada = member(&f, &acme, "ada");
    add(&store, &f, &ada, 10).await.unwrap();
    let globex_scope = DataScope::Tenant {
        org: org.id,
        tenant: globex.id,
    };
    for scope in [globex_scope, DataScope::Org(other_org.id)] {
        assert_eq!(listed(&store, &scope, &acme).await, [], "{scope:?}");
        assert_eq!(
            store
                .members
                .get_member(&scope, acme.id, &ada.user_id)
                .await
                .unwrap(),
            None
        );
        let changed = Member {
            role: MemberRole::Admin,
            version: 2,
            ..ada.clone()
        };
        assert!(
            store
                .members
                .update_member(
                    &scope,
                    &changed,
                    &audit(&f, &changed, AuditAction::MemberUpdated)
                )
                .await
                .is_err(),
            "{scope:?} updates another tenant's member"
        );
        assert!(
            store
                .members
                .remove_member(&scope, &ada, &audit(&f, &ada, AuditAction::MemberRemoved))
                .await
                .is_err()
        );
        let planted = member(&f, &acme, "mallory");
        assert!(
            store
                .members
                .add_member(
                    &scope,
                    &planted,
                    10,
                    &audit(&f, &planted, AuditAction::MemberAdded)
                )
                .await
                .is_err()
        );
    }
    let ids: HashSet<_> = listed(&store, &DataScope::Platform, &acme)
        .await
        .iter()
        .map(|m| m.user_id.clone())
        .collect();
    assert_eq!(ids, HashSet::from([ada.user_id.clone()]), "nothing changed");
}

pub async fn a_deleted_tenants_members_are_purged_with_it(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let tenant = seed_tenant(&store, &f, &org, "acme", &["acme-live"])
        .await
        .tenant;
    add(&store, &f, &member(&f, &tenant, "ada"), 10)
        .await
        .unwrap();
    delete_tenant(&store, &f, &tenant).await;
    assert_eq!(listed(&store, &DataScope::Platform, &tenant).await, []);
    assert_eq!(
        add(&store, &f, &member(&f, &tenant, "bob"), 10).await,
        Err(StoreError::Stale),
        "a tombstone takes no members"
    );
}

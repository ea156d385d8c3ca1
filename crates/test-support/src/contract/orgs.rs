//! `OrgStore`: create, get, list, update.

use domain::ports::DataScope;
use domain::ports::{StoreError, Unique};
use domain::{AuditAction, Org, OrgRef};

use super::{seed_org, trail};
use crate::StorePorts;
use crate::fixtures::{Fixtures, at, name, org_key};

pub async fn created_org_is_found_by_id_and_by_key(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;

    let by_id = store
        .orgs
        .get_org(&DataScope::Platform, &OrgRef::Id(org.id))
        .await
        .unwrap();
    let by_key = store
        .orgs
        .get_org(&DataScope::Platform, &OrgRef::Key(org.key.clone()))
        .await
        .unwrap();

    assert_eq!(by_id, Some(org.clone()), "by id");
    assert_eq!(by_key, Some(org), "by key");
}

pub async fn orgs_that_do_not_exist_are_none(store: StorePorts) {
    let f = Fixtures::new();
    seed_org(&store, &f, "signstack").await;
    let unknown = f.org("tigris");

    assert_eq!(
        store
            .orgs
            .get_org(&DataScope::Platform, &OrgRef::Id(unknown.id))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .orgs
            .get_org(&DataScope::Platform, &OrgRef::Key(unknown.key))
            .await
            .unwrap(),
        None
    );
}

pub async fn creating_an_org_with_a_used_key_is_taken_and_writes_nothing(store: StorePorts) {
    let f = Fixtures::new();
    let first = seed_org(&store, &f, "signstack").await;
    let second = Org {
        name: name("Another SignStack"),
        ..f.org("signstack")
    };

    let result = store
        .orgs
        .create_org(
            &DataScope::Platform,
            &second,
            &f.org_audit(&second, AuditAction::OrgCreated),
        )
        .await;

    assert_eq!(result, Err(StoreError::Taken(Unique::OrgKey)));
    assert_eq!(
        store
            .orgs
            .get_org(&DataScope::Platform, &OrgRef::Id(second.id))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .orgs
            .get_org(&DataScope::Platform, &OrgRef::Key(org_key("signstack")))
            .await
            .unwrap(),
        Some(first.clone()),
        "the key still names the first org"
    );
    assert_eq!(trail(&store, &second).await, vec![], "no audit record");
    assert_eq!(trail(&store, &first).await.len(), 1);
}

pub async fn orgs_are_listed_in_id_order_after_a_cursor_up_to_a_limit(store: StorePorts) {
    let f = Fixtures::new();
    // Every org is followed by an id no org has, to resume from a cursor whose
    // object is gone.
    let orgs: Vec<(Org, uuid::Uuid)> = ["a-org", "b-org", "c-org", "d-org", "e-org"]
        .into_iter()
        .map(|key| (f.org(key), f.id()))
        .collect();
    // Written out of id order: the listing orders, not the insertion.
    for i in [3, 0, 4, 1, 2] {
        let org = &orgs[i].0;
        store
            .orgs
            .create_org(
                &DataScope::Platform,
                org,
                &f.org_audit(org, AuditAction::OrgCreated),
            )
            .await
            .unwrap();
    }
    let all: Vec<Org> = orgs.iter().map(|(o, _)| o.clone()).collect();
    let gap_after_b = domain::OrgId::from_uuid(orgs[1].1);

    let cases: [(Option<domain::OrgId>, usize, &[Org]); 6] = [
        (None, 10, &all),
        (None, 2, &all[..2]),
        (Some(all[1].id), 2, &all[2..4]),
        (Some(gap_after_b), 2, &all[2..4]),
        (Some(all[3].id), 10, &all[4..]),
        (Some(all[4].id), 10, &[]),
    ];
    for (after, limit, expected) in cases {
        let got = store
            .orgs
            .list_orgs(&DataScope::Platform, after, limit)
            .await
            .unwrap();
        assert_eq!(got, expected, "after {after:?}, limit {limit}");
    }
}

pub async fn updating_an_org_from_its_current_version_replaces_it(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    let renamed = Org {
        name: name("SignStack GmbH"),
        updated_at: at(5),
        version: 2,
        ..org.clone()
    };
    let audit = f.org_audit(&renamed, AuditAction::OrgUpdated);

    store
        .orgs
        .update_org(&DataScope::Platform, &renamed, &audit)
        .await
        .unwrap();

    assert_eq!(
        store
            .orgs
            .get_org(&DataScope::Platform, &OrgRef::Id(org.id))
            .await
            .unwrap(),
        Some(renamed.clone())
    );
    assert_eq!(
        store
            .orgs
            .get_org(&DataScope::Platform, &OrgRef::Key(org.key))
            .await
            .unwrap(),
        Some(renamed)
    );
}

pub async fn updating_an_org_from_a_stale_version_is_refused_and_writes_nothing(store: StorePorts) {
    let f = Fixtures::new();
    let org = seed_org(&store, &f, "signstack").await;
    // Two writers read version 1; the first one wins.
    let winner = Org {
        name: name("Winner"),
        version: 2,
        ..org.clone()
    };
    store
        .orgs
        .update_org(
            &DataScope::Platform,
            &winner,
            &f.org_audit(&winner, AuditAction::OrgUpdated),
        )
        .await
        .unwrap();
    let trail_before = trail(&store, &org).await;

    let stale = [
        ("the loser of the race", 2),
        ("a version that skips one", 4),
        ("a version older than the stored one", 1),
    ];
    for (what, version) in stale {
        let write = Org {
            name: name("Loser"),
            version,
            ..org.clone()
        };
        let result = store
            .orgs
            .update_org(
                &DataScope::Platform,
                &write,
                &f.org_audit(&write, AuditAction::OrgUpdated),
            )
            .await;
        assert_eq!(result, Err(StoreError::Stale), "{what}");
    }
    let missing = f.org("ghost");
    let result = store
        .orgs
        .update_org(
            &DataScope::Platform,
            &Org {
                version: 2,
                ..missing.clone()
            },
            &f.org_audit(&missing, AuditAction::OrgUpdated),
        )
        .await;
    assert_eq!(result, Err(StoreError::Stale), "an org that does not exist");

    assert_eq!(
        store
            .orgs
            .get_org(&DataScope::Platform, &OrgRef::Id(org.id))
            .await
            .unwrap(),
        Some(winner)
    );
    assert_eq!(trail(&store, &org).await, trail_before, "no audit record");
    assert_eq!(trail(&store, &missing).await, vec![]);
    assert_eq!(
        store
            .orgs
            .get_org(&DataScope::Platform, &OrgRef::Id(missing.id))
            .await
            .unwrap(),
        None
    );
}

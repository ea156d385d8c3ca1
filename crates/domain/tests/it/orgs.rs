//! Orgs and the audit trail listing.

use domain::{
    AuditAction, Change, Limit, ListError, NewOrg, OrgError, OrgPatch, OrgRef, PageError,
    TenantRef, TenantStatus,
};

use crate::support::{App, admin, name, org_key};

#[tokio::test]
async fn an_org_is_created_once_per_key_and_audited() {
    let app = App::new();
    let org = app.org("signstack").await;

    assert_eq!((org.version, org.created_at), (1, app.now()));
    assert_eq!(
        app.tenancy
            .get_org(&admin(), &OrgRef::Key(org_key("signstack")))
            .await,
        Ok(org.clone())
    );
    assert_eq!(
        app.tenancy.get_org(&admin(), &OrgRef::Id(org.id)).await,
        Ok(org.clone())
    );
    let trail = app.trail(&org, None).await;
    assert_eq!(trail.len(), 1);
    assert_eq!(trail[0].action, AuditAction::OrgCreated);

    let again = app
        .tenancy
        .create_org(
            &admin(),
            NewOrg {
                key: org_key("signstack"),
                name: name("Copycat"),
            },
        )
        .await;
    assert_eq!(again, Err(OrgError::KeyTaken(org_key("signstack"))));
    assert_eq!(
        app.tenancy.get_org(&admin(), &OrgRef::Id(org.id)).await,
        Ok(org)
    );
}

#[tokio::test]
async fn renaming_an_org_is_audited_and_a_same_name_rename_is_not() {
    let app = App::new();
    let org = app.org("signstack").await;
    let rename = |to: &str| OrgPatch {
        name: Some(name(to)),
    };

    let renamed = app
        .tenancy
        .update_org(&admin(), &OrgRef::Id(org.id), rename("SignStack GmbH"))
        .await
        .unwrap();
    let again = app
        .tenancy
        .update_org(
            &admin(),
            &OrgRef::Key(org.key.clone()),
            rename("SignStack GmbH"),
        )
        .await;

    assert_eq!((renamed.id, &renamed.key), (org.id, &org.key));
    assert_eq!(renamed.version, 2);
    assert_eq!(again, Ok(renamed));
    let trail = app.trail(&org, None).await;
    assert_eq!(trail.len(), 2, "created, renamed once");
    assert_eq!(trail[1].action, AuditAction::OrgUpdated);
    assert_eq!(
        trail[1].details.changes(),
        vec![Change {
            field: "name",
            from: Some("Org signstack".into()),
            to: Some("SignStack GmbH".into()),
        }]
    );
    assert_eq!(
        app.tenancy
            .update_org(&admin(), &OrgRef::Key(org_key("nobody")), rename("X"))
            .await,
        Err(OrgError::NotFound)
    );
}

#[tokio::test]
async fn orgs_page_oldest_first() {
    let app = App::new();
    for key in ["org-c", "org-a", "org-b", "org-e", "org-d"] {
        app.org(key).await;
    }

    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .tenancy
            .list_orgs(&admin(), cursor.as_ref(), Limit::new(2).unwrap())
            .await
            .unwrap();
        assert!(page.items.len() <= 2);
        keys.extend(page.items.iter().map(|o| o.key.as_str().to_owned()));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }

    assert_eq!(keys, ["org-c", "org-a", "org-b", "org-e", "org-d"]);
}

#[tokio::test]
async fn the_audit_trail_pages_and_scopes_to_the_org_s_own_tenants() {
    let app = App::new();
    let signstack = app.org("signstack").await;
    let tigris = app.org("tigris").await;
    let acme = app
        .tenant_in(&signstack, "acme", TenantStatus::Deleted)
        .await;
    let omega = app.tenant_in(&tigris, "omega", TenantStatus::Active).await;
    let org_ref = OrgRef::Id(signstack.id);

    let mut actions = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .tenancy
            .list_audit(
                &admin(),
                &org_ref,
                Some(&TenantRef::Id(acme.id)),
                cursor.as_ref(),
                Limit::new(2).unwrap(),
            )
            .await
            .unwrap();
        actions.extend(page.items.iter().map(|r| r.action));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(
        actions,
        [
            AuditAction::TenantProvisioned,
            AuditAction::TenantDeactivated,
            AuditAction::TenantDeleted
        ],
        "a deleted tenant's trail survives"
    );
    assert_eq!(
        app.tenancy
            .list_audit(
                &admin(),
                &org_ref,
                Some(&TenantRef::Id(omega.id)),
                None,
                Limit::DEFAULT
            )
            .await,
        Err(ListError::TenantNotFound),
        "a tenant of another org"
    );
    assert_eq!(
        app.tenancy
            .list_audit(
                &admin(),
                &OrgRef::Key(org_key("nobody")),
                None,
                None,
                Limit::DEFAULT
            )
            .await,
        Err(ListError::OrgNotFound)
    );
    assert_eq!(
        app.tenancy
            .list_audit(
                &admin(),
                &org_ref,
                None,
                Some(&domain::Cursor::from_raw("bogus")),
                Limit::DEFAULT
            )
            .await,
        Err(ListError::Page(PageError::Cursor))
    );
}

//! docs/api.md §2: the lifecycle through `Tenancy::transition` and `delete_tenant`, the
//! retention period, who may restore and who may make the other moves (deletion
//! and the purge job are in `deletion.rs`).

use chrono::Duration;
use domain::{
    Actor, ApiKeyId, AuditAction, Change, Context, InvalidTransition, LifecycleAction as A,
    NamespaceId, NamespacePrincipal, OrgRef, Principal, Scopes, Settings, TargetKind, TenantError,
    TenantRef, TenantStatus as S,
};

use crate::support::{App, admin, org_caller, org_key, org_key_actor, reason};

fn audit_action(action: A) -> AuditAction {
    match action {
        A::Suspend => AuditAction::TenantSuspended,
        A::Reactivate => AuditAction::TenantReactivated,
        A::Deactivate => AuditAction::TenantDeactivated,
        A::Restore => AuditAction::TenantRestored,
        A::Delete => AuditAction::TenantDeleted,
    }
}

/// Runs `action` the way the API does: delete with its confirmation, every other
/// move through `transition`.
pub(crate) async fn act(
    app: &App,
    ctx: &Context,
    tenant: &domain::Tenant,
    action: A,
    why: &str,
) -> Result<domain::Tenant, TenantError> {
    let (org, target) = (OrgRef::Id(tenant.org_id), TenantRef::Id(tenant.id));
    match action {
        A::Delete => {
            app.tenancy
                .delete_tenant(ctx, &org, &target, tenant.key.as_str(), Some(reason(why)))
                .await
        }
        _ => {
            app.tenancy
                .transition(ctx, &org, &target, action, reason(why))
                .await
        }
    }
}

#[tokio::test]
async fn every_state_and_action_pair_moves_or_is_refused_as_the_lifecycle_table_says() {
    // Sized by `ALL`: a new state or action does not compile until it has its
    // row and column here.
    let table: [(S, [Option<S>; A::ALL.len()]); S::ALL.len()] = [
        //              suspend          reactivate       deactivate           restore          delete
        (
            S::Active,
            [Some(S::Suspended), None, Some(S::Deactivated), None, None],
        ),
        (
            S::Suspended,
            [None, Some(S::Active), Some(S::Deactivated), None, None],
        ),
        (
            S::Deactivated,
            [None, None, None, Some(S::Active), Some(S::Deleted)],
        ),
        (S::Deleted, [None, None, None, None, None]),
    ];
    let app = App::new();
    let org = app.org("signstack").await;
    // Restore is in the table, so the platform admin acts.
    let on_call = Actor::platform_admin();
    let ctx = Context::platform_admin().with_request_id("req-42");

    assert_eq!(
        table.map(|(from, _)| from),
        S::ALL,
        "one row per state, in order"
    );
    for (from, outcomes) in table {
        for (i, action) in A::ALL.into_iter().enumerate() {
            let expected = outcomes[i];
            let case = format!("{from} --{action}-->");
            let key = format!("t-{}-{}", from.as_str(), action.as_str());
            let tenant = app.tenant_in(&org, &key, from).await;
            let trail_before = app.trail(&org, Some(tenant.id)).await;
            app.clock.advance(Duration::hours(1));
            let now = app.now();

            let result = act(&app, &ctx, &tenant, action, "table").await;

            let trail = app.trail(&org, Some(tenant.id)).await;
            match expected {
                Some(to) => {
                    let moved = result.unwrap_or_else(|e| panic!("{case}: {e:?}"));
                    assert_eq!(moved.lifecycle.status, to, "{case}");
                    assert_eq!(moved.lifecycle.changed_by, on_call, "{case}: who");
                    assert_eq!(moved.lifecycle.changed_at, now, "{case}: when");
                    // A tombstone keeps no free text: the reason is only in
                    // the audit record, sealed with the key it destroyed.
                    let kept = (to != S::Deleted).then(|| reason("table"));
                    assert_eq!(moved.lifecycle.reason, kept, "{case}");
                    assert_eq!(moved.version, tenant.version + 1, "{case}: version");
                    assert_eq!(app.stored(tenant.id).await, Some(moved), "{case}: stored");
                    assert_eq!(trail.len(), trail_before.len() + 1, "{case}: one record");
                    let record = trail.last().expect("a record");
                    assert_eq!(record.action, audit_action(action), "{case}");
                    assert_eq!(record.actor, on_call, "{case}");
                    assert_eq!(record.at, now, "{case}");
                    assert_eq!(record.request_id.as_deref(), Some("req-42"), "{case}");
                    assert_eq!(record.target_kind, TargetKind::Tenant, "{case}");
                    assert_eq!(record.target_id, tenant.id.as_uuid(), "{case}");
                    let stored = app.stored_trail(&org, Some(tenant.id)).await;
                    assert!(
                        matches!(
                            stored.last().expect("a record").details,
                            domain::AuditDetails::Sealed(_)
                        ),
                        "{case}: stored in clear"
                    );
                    if to == S::Deleted {
                        // Sealed with the key the deletion destroyed.
                        assert_eq!(record.details, domain::AuditDetails::Shredded, "{case}");
                        continue;
                    }
                    assert_eq!(record.details.reason(), Some(&reason("table")), "{case}");
                    assert_eq!(
                        record.details.changes(),
                        vec![Change {
                            field: "status",
                            from: Some(from.to_string()),
                            to: Some(to.to_string()),
                        }],
                        "{case}"
                    );
                }
                None => {
                    assert_eq!(
                        result,
                        Err(TenantError::InvalidTransition(InvalidTransition {
                            from,
                            action
                        })),
                        "{case} must be refused, naming the current state"
                    );
                    assert_eq!(
                        app.stored(tenant.id).await,
                        Some(tenant),
                        "{case}: unchanged"
                    );
                    assert_eq!(trail, trail_before, "{case}: no audit record");
                }
            }
        }
    }
}

#[tokio::test]
async fn deleting_through_transition_is_refused_for_want_of_a_confirmation() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", S::Deactivated).await;
    let trail_before = app.trail(&org, None).await;

    let result = app
        .tenancy
        .transition(
            &admin(),
            &OrgRef::Id(org.id),
            &TenantRef::Id(tenant.id),
            A::Delete,
            reason("no confirm"),
        )
        .await;

    assert_eq!(result, Err(TenantError::ConfirmationMismatch));
    assert_eq!(app.stored(tenant.id).await, Some(tenant));
    assert_eq!(app.trail(&org, None).await, trail_before);
}

#[tokio::test]
async fn deactivation_starts_the_configured_retention_and_restore_clears_it() {
    let app = App::with_settings(Settings {
        retention: Duration::days(7),
        ..Settings::default()
    });
    let org = app.org("signstack").await;

    for from in [S::Active, S::Suspended] {
        let key = format!("from-{}", from.as_str());
        let tenant = app.tenant_in(&org, &key, from).await;
        app.clock.advance(Duration::minutes(90));
        let now = app.now();

        let deactivated = act(&app, &admin(), &tenant, A::Deactivate, "offboarding")
            .await
            .unwrap();
        assert_eq!(
            deactivated.lifecycle.retention_ends_at,
            Some(now + Duration::days(7)),
            "deactivated from {from}"
        );

        app.clock.advance(Duration::days(2));
        let restored = act(&app, &admin(), &deactivated, A::Restore, "came back")
            .await
            .unwrap();
        assert_eq!(restored.lifecycle.status, S::Active);
        assert_eq!(
            restored.lifecycle.retention_ends_at, None,
            "restore clears it"
        );
        assert_eq!(app.stored(tenant.id).await, Some(restored));
    }
}

#[tokio::test]
async fn the_default_retention_is_thirty_days() {
    let app = App::new();
    let org = app.org("signstack").await;
    let now = app.now();

    let tenant = app.tenant_in(&org, "acme", S::Deactivated).await;

    assert_eq!(
        tenant.lifecycle.retention_ends_at,
        Some(now + Duration::days(30))
    );
}

#[tokio::test]
async fn only_a_platform_admin_may_restore() {
    let app = App::new();
    let org = app.org("signstack").await;
    let tenant = app.tenant_in(&org, "acme", S::Deactivated).await;
    let trail_before = app.trail(&org, None).await;

    let namespace_key = Principal::Namespace(NamespacePrincipal {
        org_id: org.id,
        tenant_id: tenant.id,
        namespace_id: NamespaceId::from_uuid(uuid::Uuid::from_u128(7)),
        key_id: ApiKeyId::from_uuid(uuid::Uuid::from_u128(8)),
        scopes: Scopes::all(),
        resources: None,
        expires_at: None,
    });
    for principal in [
        org_caller(&org).principal,
        namespace_key,
        Principal::System("retention"),
    ] {
        let actor = principal.actor();
        let result = act(
            &app,
            &Context::new(principal),
            &tenant,
            A::Restore,
            "please",
        )
        .await;
        assert_eq!(
            result,
            Err(TenantError::PlatformAdminOnly("restore a tenant")),
            "{actor:?}"
        );
    }
    assert_eq!(
        app.stored(tenant.id).await,
        Some(tenant.clone()),
        "still deactivated"
    );
    assert_eq!(app.trail(&org, None).await, trail_before, "no audit record");

    let restored = act(&app, &admin(), &tenant, A::Restore, "approved").await;
    assert_eq!(restored.map(|t| t.lifecycle.status), Ok(S::Active));
}

#[tokio::test]
async fn an_org_key_may_make_every_other_move() {
    let app = App::new();
    let org = app.org("signstack").await;
    let ctx = org_caller(&org);
    let tenant = app.tenant_in(&org, "acme", S::Active).await;

    let mut current = tenant;
    for (action, to) in [
        (A::Suspend, S::Suspended),
        (A::Reactivate, S::Active),
        (A::Suspend, S::Suspended),
        (A::Deactivate, S::Deactivated),
        (A::Delete, S::Deleted),
    ] {
        current = act(&app, &ctx, &current, action, "customer asked")
            .await
            .unwrap_or_else(|e| panic!("{action}: {e:?}"));
        assert_eq!(current.lifecycle.status, to, "{action}");
        assert_eq!(current.lifecycle.changed_by, org_key_actor());
    }
}

#[tokio::test]
async fn a_tenant_is_out_of_reach_through_another_org() {
    let app = App::new();
    let signstack = app.org("signstack").await;
    let tigris = app.org("tigris").await;
    let tenant = app.tenant_in(&signstack, "acme", S::Active).await;
    let trail_before = app.trail(&signstack, None).await;

    for target in [TenantRef::Id(tenant.id), TenantRef::Key(tenant.key.clone())] {
        let result = app
            .tenancy
            .transition(
                &admin(),
                &OrgRef::Id(tigris.id),
                &target,
                A::Suspend,
                reason("x"),
            )
            .await;
        assert_eq!(result, Err(TenantError::NotFound), "{target:?}");
        assert_eq!(
            app.tenancy
                .get_tenant(&admin(), &OrgRef::Id(tigris.id), &target)
                .await,
            Err(TenantError::NotFound)
        );
    }
    let unknown_org = OrgRef::Key(org_key("nobody"));
    assert_eq!(
        app.tenancy
            .transition(
                &admin(),
                &unknown_org,
                &TenantRef::Id(tenant.id),
                A::Suspend,
                reason("x")
            )
            .await,
        Err(TenantError::OrgNotFound)
    );
    assert_eq!(app.stored(tenant.id).await, Some(tenant));
    assert_eq!(app.trail(&signstack, None).await, trail_before);
}

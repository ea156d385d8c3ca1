//! `/v1/orgs/{org}/tenants/{tenant}/members`: a tenant's people, for the
//! platform admin and the org's keys. The owner is shown beside the members
//! and moves with `PUT .../owner` (which takes a member's row with it).

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::HeaderName;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use domain::{Email, Member, MemberPatch, MemberRole, NewMember, OrgRef, TenantRef, UserId};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{
    Body, MergePatch, ORG_PARAM, QueryParams, Segments, TENANT_PARAM, TenantPath, path_parameter,
};
use crate::openapi::responses::{BadRequest, Conflict, NotFound};
use crate::page::{ListBody, PageParams, PageRequest};
use crate::problem::Problem;
use crate::tenants::OwnerBody;
use crate::validate::{Validator, present};

/// `/v1/orgs/{org}/tenants/{tenant}/members/{user}`
#[derive(Debug)]
pub(crate) struct MemberPath {
    pub org: OrgRef,
    pub tenant: TenantRef,
    pub user: UserId,
}

impl<S: Send + Sync> FromRequestParts<S> for MemberPath {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let segments = Segments::read(parts, state).await?;
        Ok(Self {
            org: segments.get("org", OrgRef::parse)?,
            tenant: segments.get("tenant", TenantRef::parse)?,
            user: segments.get("member", UserId::parse)?,
        })
    }
}

impl IntoParams for MemberPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            path_parameter("org", ORG_PARAM),
            path_parameter("tenant", TENANT_PARAM),
            {
                let mut member =
                    path_parameter("member", "The member's user id (percent-encoded).");
                member.schema = Some(crate::fields::user_id().into());
                member
            },
        ]
    }
}

/// A member's role; the owner is the tenant's `owner`, not a role here.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = MemberRole)]
pub(crate) enum RoleBody {
    Admin,
    Member,
}

impl From<RoleBody> for MemberRole {
    fn from(role: RoleBody) -> Self {
        match role {
            RoleBody::Admin => Self::Admin,
            RoleBody::Member => Self::Member,
        }
    }
}

impl From<MemberRole> for RoleBody {
    fn from(role: MemberRole) -> Self {
        match role {
            MemberRole::Admin => Self::Admin,
            MemberRole::Member => Self::Member,
        }
    }
}

/// A member of a tenant: a reference into the SaaS builder's identity system.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Member)]
pub(crate) struct MemberView {
    id: Uuid,
    #[schema(example = "user_456")]
    user_id: String,
    #[schema(example = "ada@acme.example")]
    email: String,
    role: RoleBody,
    invited_at: DateTime<Utc>,
    /// When the member joined; `null` while only invited.
    #[schema(required = true)]
    joined_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl From<Member> for MemberView {
    fn from(m: Member) -> Self {
        Self {
            id: m.id.as_uuid(),
            user_id: m.user_id.as_str().to_owned(),
            email: m.email.as_str().to_owned(),
            role: m.role.into(),
            invited_at: m.invited_at,
            joined_at: m.joined_at,
            updated_at: m.updated_at,
        }
    }
}

/// The tenant's owner and a page of its members, in user id order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = MemberList)]
pub(crate) struct MembersView {
    /// `null` when the tenant has no owner yet.
    #[schema(required = true)]
    owner: Option<OwnerBody>,
    #[serde(flatten)]
    members: ListBody<MemberView>,
}

/// A member to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "an object with userId, email and role"
)]
#[schema(as = NewMember)]
pub(crate) struct NewMemberBody {
    #[schema(schema_with = crate::fields::user_id)]
    user_id: String,
    #[schema(schema_with = crate::fields::email_address)]
    email: String,
    role: RoleBody,
    /// Whether the user has joined already (not only been invited);
    /// `false` unless given.
    joined: Option<bool>,
}

/// Changes to a member (JSON merge-patch); no field may be removed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(
    rename_all = "camelCase",
    deny_unknown_fields,
    expecting = "a JSON object"
)]
#[schema(as = MemberPatch)]
pub(crate) struct MemberPatchBody {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = RoleBody)]
    role: Option<Option<RoleBody>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::fields::email_address)]
    email: Option<Option<String>>,
    /// `true` marks the member joined now (the first time only).
    #[serde(default, deserialize_with = "present")]
    #[schema(schema_with = crate::fields::only_true)]
    joined: Option<Option<bool>>,
}

/// Lists the tenant's owner and members.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants/{tenant}/members",
    operation_id = "listMembers",
    tag = "members",
    params(TenantPath, PageParams),
    responses(
        (status = 200, description = "The owner and a page of members.", body = MembersView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    mut query: QueryParams,
) -> Result<Json<MembersView>, Problem> {
    let page = PageRequest::take(&mut query);
    query.finish()?;
    let found = state
        .tenancy
        .list_members(
            &ctx,
            &path.org,
            &path.tenant,
            page.cursor.as_ref(),
            page.limit,
        )
        .await?;
    Ok(Json(MembersView {
        owner: found.owner.as_ref().map(OwnerBody::from),
        members: ListBody::from_page(found.page, MemberView::from),
    }))
}

/// Adds a member, within the tenant's `max_members` quota (its owner counts).
#[utoipa::path(
    post,
    path = "/v1/orgs/{org}/tenants/{tenant}/members",
    operation_id = "addMember",
    tag = "members",
    params(TenantPath),
    request_body = NewMemberBody,
    responses(
        (status = 201, description = "Added.", body = MemberView,
            headers(("Location" = String, description = "The member's URL."))),
        (status = 400, response = BadRequest),
        (status = 403, description = "The members quota is exhausted (`quota_exceeded`)."),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn add(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: TenantPath,
    Body(body): Body<NewMemberBody>,
) -> Result<(StatusCode, [(HeaderName, String); 1], Json<MemberView>), Problem> {
    let mut v = Validator::body();
    let user_id = v.check("userId", UserId::parse(&body.user_id));
    let email = v.check("email", Email::parse(&body.email));
    let (Some(user_id), Some(email)) = (user_id, email) else {
        return Err(v.into_problem());
    };
    let new = NewMember {
        user_id,
        email,
        role: body.role.into(),
        joined: body.joined.unwrap_or(false),
    };
    let member = state
        .tenancy
        .add_member(&ctx, &path.org, &path.tenant, new)
        .await?;
    let location = format!(
        "/v1/orgs/{}/tenants/{}/members/{}",
        member.org_id,
        member.tenant_id,
        utf8_percent_encode(member.user_id.as_str(), NON_ALPHANUMERIC)
    );
    Ok((
        StatusCode::CREATED,
        [(LOCATION, location)],
        Json(member.into()),
    ))
}

/// Reads one member.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/tenants/{tenant}/members/{member}",
    operation_id = "getMember",
    tag = "members",
    params(MemberPath),
    responses(
        (status = 200, description = "The member.", body = MemberView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: MemberPath,
) -> Result<Json<MemberView>, Problem> {
    let member = state
        .tenancy
        .get_member(&ctx, &path.org, &path.tenant, &path.user)
        .await?;
    Ok(Json(member.into()))
}

/// Changes a member's role or email, or marks it joined.
#[utoipa::path(
    patch,
    path = "/v1/orgs/{org}/tenants/{tenant}/members/{member}",
    operation_id = "updateMember",
    tag = "members",
    params(MemberPath),
    request_body(content(
        (MemberPatchBody = "application/merge-patch+json"),
        (MemberPatchBody = "application/json"),
    )),
    responses(
        (status = 200, description = "The member after the change.", body = MemberView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: MemberPath,
    MergePatch(body): MergePatch<MemberPatchBody>,
) -> Result<Json<MemberView>, Problem> {
    let mut v = Validator::body();
    let role = v.not_null("role", body.role);
    let email = v.patch("email", body.email, Email::parse);
    let joined = v.not_null("joined", body.joined);
    if joined == Some(Some(false)) {
        v.add(
            "joined",
            "can only be set to true: a member who joined stays joined",
        );
    }
    let (Some(role), Some(email), Some(joined), true) = (role, email, joined, v.is_empty()) else {
        return Err(v.into_problem());
    };
    let patch = MemberPatch {
        role: role.map(MemberRole::from),
        email,
        joined: joined == Some(true),
    };
    let member = state
        .tenancy
        .update_member(&ctx, &path.org, &path.tenant, &path.user, patch)
        .await?;
    Ok(Json(member.into()))
}

/// Removes a member. The owner cannot be removed: move ownership first.
#[utoipa::path(
    delete,
    path = "/v1/orgs/{org}/tenants/{tenant}/members/{member}",
    operation_id = "removeMember",
    tag = "members",
    params(MemberPath),
    responses(
        (status = 204, description = "Removed."),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
    )
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: MemberPath,
) -> Result<StatusCode, Problem> {
    state
        .tenancy
        .remove_member(&ctx, &path.org, &path.tenant, &path.user)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

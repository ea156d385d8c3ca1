//! The audit chain over HTTP: `GET /v1/orgs/{org}/audit-events/verify`
//! (recomputes the org's hash chain and names the first broken `seq`),
//! `GET /v1/orgs/{org}/audit-events/checkpoint` (the chain's head signed with
//! the deployment's Ed25519 key) and `GET /v1/audit/signing-key` (its public
//! half, to check checkpoint signatures).

use axum::Json;
use axum::extract::State;
use domain::audit::chain::{format_at, hex};
use domain::{ChainHash, ChainHead, ChainReport, SignedCheckpoint};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::AppState;
use crate::auth::Caller;
use crate::extract::{OrgPath, QueryParams};
use crate::openapi::responses::{BadRequest, NotFound, Unavailable};
use crate::page::query_parameter;
use crate::problem::{Code, Problem};

/// A position in an org's chain.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuditChainHead)]
pub(crate) struct HeadView {
    /// The event's `seq`; 0 for an org without events.
    #[schema(example = 42)]
    seq: u64,
    /// Its `hash`, lowercase hex (64 zeros for an org without events).
    hash: String,
}

impl From<ChainHead> for HeadView {
    fn from(head: ChainHead) -> Self {
        Self {
            seq: head.seq,
            hash: head.hash.to_hex(),
        }
    }
}

/// What recomputing the chain found.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditChainVerification)]
pub(crate) struct VerificationView {
    /// No broken link and, when a checkpoint was given, not truncated.
    intact: bool,
    /// How many events were read.
    checked: u64,
    /// The last event read.
    head: HeadView,
    /// The first `seq` whose stored event does not hash to its link (edited,
    /// or linked to an edited one), or the first number missing (removed).
    #[schema(required = true)]
    first_broken_seq: Option<u64>,
    /// With `seq` and `hash` of a checkpoint: the chain ends before that
    /// `seq`, or holds another hash there (events were removed or rewritten).
    /// `false` without them.
    truncated: bool,
}

impl From<ChainReport> for VerificationView {
    fn from(r: ChainReport) -> Self {
        Self {
            intact: r.intact,
            checked: r.checked,
            head: r.head.into(),
            first_broken_seq: r.first_broken_seq,
            truncated: r.truncated,
        }
    }
}

/// Documents the verification's query string.
#[derive(Debug)]
pub(crate) enum VerifyParams {}

impl utoipa::IntoParams for VerifyParams {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            query_parameter(
                "seq",
                "The `seq` of a checkpoint kept earlier (with `hash`): the chain must still \
                 reach it with that hash.",
            ),
            query_parameter("hash", "The `hash` of that checkpoint (64 hex digits)."),
        ]
    }
}

/// Recomputes the org's hash chain from its first event and compares every
/// stored link; names the first broken `seq`. With a kept checkpoint's `seq`
/// and `hash`, also tells whether the chain was cut short since.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/audit-events/verify",
    operation_id = "verifyAuditChain",
    tag = "audit",
    params(OrgPath, VerifyParams),
    responses(
        (status = 200, description = "The verification's result.", body = VerificationView),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
    )
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    mut query: QueryParams,
) -> Result<Json<VerificationView>, Problem> {
    let seq = query.parse("seq", |raw| {
        raw.parse::<u64>().map_err(|_| "must be a whole number")
    });
    let hash = query.parse("hash", |raw| {
        ChainHash::parse_hex(raw).ok_or("must be 64 hex digits")
    });
    let checkpoint = match (seq, hash) {
        (Some(seq), Some(hash)) => Some(ChainHead { seq, hash }),
        (None, None) => None,
        (Some(_), None) => {
            query.add_error("hash", "is required with seq");
            None
        }
        (None, Some(_)) => {
            query.add_error("seq", "is required with hash");
            None
        }
    };
    query.finish()?;
    let report = state
        .tenancy
        .verify_audit_chain(&ctx, &path.org, checkpoint)
        .await?;
    Ok(Json(report.into()))
}

/// The org's chain head, signed.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditCheckpoint)]
pub(crate) struct CheckpointView {
    org_id: uuid::Uuid,
    /// The head's `seq` (0: no event yet).
    #[schema(example = 42)]
    seq: u64,
    /// The head's `hash`, lowercase hex.
    hash: String,
    /// When it was signed: RFC 3339 UTC with six fractional digits, exactly
    /// as signed.
    #[schema(example = "2026-01-01T00:00:00.000000Z")]
    at: String,
    /// The signing key (`GET /v1/audit/signing-key`).
    key_id: String,
    /// Ed25519 signature, lowercase hex, over the RFC 8785 (canonical JSON)
    /// text of `{"at","hash","keyId","orgId","seq"}` with these values.
    signature: String,
}

impl From<SignedCheckpoint> for CheckpointView {
    fn from(c: SignedCheckpoint) -> Self {
        Self {
            org_id: c.org_id.as_uuid(),
            seq: c.head.seq,
            hash: c.head.hash.to_hex(),
            at: format_at(c.at),
            key_id: c.key_id,
            signature: hex(&c.signature),
        }
    }
}

/// Signs the org's current chain head with the deployment key. Keep it: a
/// later `verify?seq=&hash=` with its values detects events removed from the
/// end of the chain, which the chain alone cannot.
#[utoipa::path(
    get,
    path = "/v1/orgs/{org}/audit-events/checkpoint",
    operation_id = "getAuditCheckpoint",
    tag = "audit",
    params(OrgPath),
    responses(
        (status = 200, description = "The signed head.", body = CheckpointView),
        (status = 404, response = NotFound),
        (status = 503, response = Unavailable),
    )
)]
pub(crate) async fn checkpoint(
    State(state): State<AppState>,
    Caller(ctx): Caller,
    path: OrgPath,
    query: QueryParams,
) -> Result<Json<CheckpointView>, Problem> {
    query.finish()?;
    let signed = state.tenancy.audit_checkpoint(&ctx, &path.org).await?;
    Ok(Json(signed.into()))
}

/// The public key that signs audit checkpoints.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = AuditSigningKey)]
pub(crate) struct SigningKeyView {
    key_id: String,
    #[schema(example = "Ed25519")]
    algorithm: &'static str,
    /// The 32-byte Ed25519 public key, lowercase hex.
    public_key: String,
}

/// The deployment's checkpoint signing key (public half).
#[utoipa::path(
    get,
    path = "/v1/audit/signing-key",
    operation_id = "getAuditSigningKey",
    tag = "audit",
    responses(
        (status = 200, description = "The public key.", body = SigningKeyView),
        (status = 503, response = Unavailable),
    )
)]
pub(crate) async fn signing_key(
    State(state): State<AppState>,
    query: QueryParams,
) -> Result<Json<SigningKeyView>, Problem> {
    query.finish()?;
    let key = state.tenancy.checkpoint_key().ok_or_else(no_signing_key)?;
    Ok(Json(SigningKeyView {
        key_id: key.key_id,
        algorithm: "Ed25519",
        public_key: hex(&key.public_key),
    }))
}

/// The deployment has no checkpoint key.
pub(crate) fn no_signing_key() -> Problem {
    Problem::new(
        Code::SigningKeyUnavailable,
        "This deployment has no audit checkpoint signing key; an operator adds one with \
         `tenancy kms rotate` (keyring) or configures one.",
    )
}

//! Who is calling ([`authenticate`]) and whether they may call this route
//! ([`Access`], enforced by [`authorize`]).
//!
//! Authentication reads `Authorization: Bearer <token>`: the platform admin token
//! (compared in constant time) or else an API key, judged by the domain's
//! verification (the same one `POST /v1/keys/verify` answers with). The router
//! puts it in front of every non-public route as a whole, so a new route cannot
//! forget it, and hands the handler a [`Caller`]: the domain [`Context`] with the
//! request id attached.
//!
//! Authorization is declared per route, once, as an [`Access`] in the route table
//! of `routes.rs`: the same value becomes the route's guard here and its security
//! requirement in the OpenAPI document, so the two cannot disagree. The domain
//! checks again (an org key reaches only its own org, a namespace key only its own
//! namespace); this layer refuses the wrong kind of principal before any handler
//! or store is reached.

use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use domain::{Context, Principal, Scope, VerifyCode};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::client::ClientAddress;
use crate::problem::{Code, Problem};

/// The admin token, kept only as its SHA-256 digest.
///
/// Comparing digests in constant time hides both where a guess first differs and
/// how long the real token is.
#[derive(Clone)]
pub(crate) struct AdminToken(Arc<[u8; 32]>);

impl AdminToken {
    pub(crate) fn new(token: &str) -> Self {
        Self(Arc::new(Sha256::digest(token.as_bytes()).into()))
    }

    fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest.ct_eq(&self.0[..]).into()
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(<redacted>)")
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// The platform admin token only.
    Platform,
    /// The admin token or an org key (the domain keeps org keys in their org).
    Org,
    /// A namespace key holding this scope.
    Namespace(Scope),
}

impl Access {
    /// Whether `principal` may call a route with this access; the refusal if not.
    pub(crate) fn admit(self, principal: &Principal) -> Result<(), Problem> {
        match (self, principal) {
            (Self::Platform, Principal::PlatformAdmin)
            | (Self::Org, Principal::PlatformAdmin | Principal::Org { .. }) => Ok(()),
            (Self::Namespace(scope), Principal::Namespace(key)) => {
                if key.has(scope) {
                    Ok(())
                } else {
                    Err(Problem::missing_scope(scope))
                }
            }
            (Self::Platform, _) => Err(Problem::forbidden(
                "Only the platform admin token may call this endpoint.",
            )),
            (Self::Org, _) => Err(Problem::forbidden(
                "Org endpoints need an org key or the admin token; namespace keys use \
                 /v1/tenant and /v1/namespace.",
            )),
            (Self::Namespace(_), _) => Err(Problem::forbidden(
                "This endpoint needs a namespace key: the key decides the tenant and the \
                 namespace. The admin token and org keys reach them under /v1/orgs.",
            )),
        }
    }
}

/// The authenticated caller of a route.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub Context);

/// Middleware: refuses the request unless its bearer token is the admin token or
/// a valid API key; otherwise records the caller for the guard and the handler.
pub(crate) async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, Problem> {
    let client = ClientAddress::of(&state, request.extensions(), request.headers());
    let principal = identify(&state, request.headers(), client).await?;
    let mut context = Context::new(principal);
    if let Some(id) = crate::request_id::of(request.headers()) {
        context = context.with_request_id(id);
    }
    request.extensions_mut().insert(Caller(context));
    Ok(next.run(request).await)
}

/// Middleware (one per route, inside [`authenticate`]): refuses callers the
/// route's [`Access`] does not admit.
pub(crate) async fn authorize(access: Access, request: Request, next: Next) -> Response {
    let admitted = match request.extensions().get::<Caller>() {
        Some(Caller(ctx)) => access.admit(&ctx.principal),
        None => Err(no_caller()),
    };
    match admitted {
        Ok(()) => next.run(request).await,
        Err(problem) => problem.into_response(),
    }
}

/// The principal behind the request's bearer token.
async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    ClientAddress(client): ClientAddress,
) -> Result<Principal, Problem> {
    let token = bearer_token(headers)?;
    // The token is tried as an API key first: that is most requests, and it
    // costs one SHA-256 (a token not shaped like a key is refused before any
    // hashing). Only a token that is no known key is compared with the admin
    // token, which hashes it too; checking the admin token first would hash
    // every API key twice.
    let verification = state.tenancy.verify(token, client).await?;
    match (verification.code, verification.lookup) {
        (VerifyCode::Valid, Some(lookup)) => Ok(lookup.principal()),
        // An empty configured token would let an empty bearer in; `bearer_token`
        // refuses empty tokens, so an empty configuration locks the admin out.
        (code @ (VerifyCode::Malformed | VerifyCode::NotFound), _) => {
            if state.admin.matches(token) {
                Ok(Principal::PlatformAdmin)
            } else {
                Err(refusal(code))
            }
        }
        (code, _) => Err(refusal(code)),
    }
}

/// The problem for a key that did not verify. None of them quotes the token.
fn refusal(code: VerifyCode) -> Problem {
    match code {
        VerifyCode::Malformed => Problem::unauthorized(
            "malformed",
            "The bearer token is neither the admin token nor a well-formed API key.",
        ),
        VerifyCode::NotFound => {
            Problem::unauthorized("not_found", "No API key matches the bearer token.")
        }
        VerifyCode::Revoked => Problem::unauthorized("revoked", "The API key has been revoked."),
        VerifyCode::Expired => Problem::unauthorized("expired", "The API key has expired."),
        VerifyCode::TenantSuspended => Problem::new(
            Code::TenantSuspended,
            "The key's tenant is suspended; its keys work again once it is reactivated.",
        ),
        VerifyCode::TenantDeactivated => Problem::new(
            Code::TenantDeactivated,
            "The key's tenant is deactivated; its keys are revoked for good.",
        ),
        VerifyCode::IpNotAllowed => Problem::new(
            Code::IpNotAllowed,
            "The key's tenant accepts its keys only from the networks in its ipAllowlist \
             security setting, and this request comes from outside them.",
        ),
        VerifyCode::RateLimited => Problem::new(
            Code::RateLimited,
            "This key has made too many requests; retry after `Retry-After` seconds.",
        ),
        // `Valid` without a key to stand for cannot happen; refuse rather than
        // act for nobody.
        VerifyCode::Valid => {
            tracing::error!("verification said valid without a key");
            Problem::internal()
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(headers: &HeaderMap) -> Result<&str, Problem> {
    let header = headers.get(AUTHORIZATION).ok_or_else(|| {
        Problem::unauthorized(
            "missing",
            "This endpoint needs an `Authorization: Bearer <token>` header.",
        )
    })?;
    let malformed = || {
        Problem::unauthorized(
            "malformed",
            "The Authorization header must read `Bearer <token>`.",
        )
    };
    let value = header.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    let token = token.trim_start_matches(' ');
    // RFC 9110: the scheme is case-insensitive.
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(malformed());
    }
    Ok(token)
}

fn no_caller() -> Problem {
    // Only if a route that needs a caller sits outside the authenticated group:
    // refuse rather than act for nobody.
    tracing::error!("a guarded route runs without authentication");
    Problem::unauthorized("missing", "This endpoint needs a bearer token.")
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(no_caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use domain::{ApiKeyId, NamespaceId, NamespacePrincipal, OrgId, Scopes, TenantId};
    use uuid::Uuid;

    #[test]
    fn tokens_match_only_themselves() {
        let token = AdminToken::new("s3cret-token");
        assert!(token.matches("s3cret-token"));
        assert!(!token.matches("s3cret-toke"));
        assert!(!token.matches("s3cret-token "));
        assert!(!token.matches(""));
        assert_eq!(format!("{token:?}"), "AdminToken(<redacted>)");
    }

    #[test]
    fn only_bearer_headers_with_one_token_are_read() {
        let read = |v: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_static(v));
            bearer_token(&headers).ok().map(str::to_owned)
        };
        assert_eq!(read("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(read("bearer abc").as_deref(), Some("abc"));
        assert_eq!(read("Basic abc"), None);
        assert_eq!(read("Bearer"), None);
        assert_eq!(read("Bearer "), None);
        assert_eq!(read("Bearer a b"), None);
        assert!(bearer_token(&HeaderMap::new()).is_err());
    }

    fn namespace_key(scopes: &[Scope]) -> Principal {
        let id = Uuid::nil();
        Principal::Namespace(NamespacePrincipal {
            org_id: OrgId::from_uuid(id),
            tenant_id: TenantId::from_uuid(id),
            namespace_id: NamespaceId::from_uuid(id),
            key_id: ApiKeyId::from_uuid(id),
            scopes: scopes.iter().copied().collect::<Scopes>(),
            resources: None,
            expires_at: None,
        })
    }

    /// Every (access, principal kind) pair, with the code of its refusal.
    #[test]
    fn each_access_admits_exactly_its_principals() {
        let admin = Principal::PlatformAdmin;
        let org = Principal::Org {
            org_id: OrgId::from_uuid(Uuid::nil()),
            key_id: ApiKeyId::from_uuid(Uuid::nil()),
            expires_at: None,
        };
        let reader = namespace_key(&[Scope::KeysRead]);
        let system = Principal::System("retention");
        let keys_read = Access::Namespace(Scope::KeysRead);
        let keys_write = Access::Namespace(Scope::KeysWrite);
        let cases = [
            (Access::Platform, &admin, None),
            (Access::Platform, &org, Some(Code::Forbidden)),
            (Access::Platform, &reader, Some(Code::Forbidden)),
            (Access::Platform, &system, Some(Code::Forbidden)),
            (Access::Org, &admin, None),
            (Access::Org, &org, None),
            (Access::Org, &reader, Some(Code::Forbidden)),
            (Access::Org, &system, Some(Code::Forbidden)),
            (keys_read, &admin, Some(Code::Forbidden)),
            (keys_read, &org, Some(Code::Forbidden)),
            (keys_read, &reader, None),
            (keys_read, &system, Some(Code::Forbidden)),
            (keys_write, &reader, Some(Code::MissingScope)),
        ];
        for (access, principal, refused) in cases {
            let outcome = access.admit(principal).err().map(|p| p.code());
            assert_eq!(outcome, refused, "{access:?} for {principal:?}");
        }
    }

    #[test]
    fn every_refused_verification_has_its_own_problem() {
        let mut seen = std::collections::HashSet::new();
        for code in VerifyCode::ALL {
            if code == VerifyCode::Valid {
                continue;
            }
            let problem = refusal(code);
            let shown = format!("{problem:?}");
            assert!(seen.insert(shown), "{code:?} shares its problem");
        }
    }
}

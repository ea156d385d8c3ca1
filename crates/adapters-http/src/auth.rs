//! Authentication of the platform admin: `Authorization: Bearer <admin token>`.
//!
//! [`require_admin`] guards every admin route (the router applies it to the admin
//! group as a whole, so a new route cannot forget it) and hands the handler a
//! [`Caller`]: the domain [`Context`] with the request id attached.

use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use domain::Context;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::problem::Problem;

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

/// The authenticated caller of an admin route.
#[derive(Debug, Clone)]
pub(crate) struct Caller(pub Context);

/// Middleware: refuses the request with `401 unauthorized` unless it carries the
/// admin token; otherwise records the caller for the handler.
pub(crate) async fn require_admin(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, Problem> {
    let token = bearer_token(request.headers().get(AUTHORIZATION))?;
    // An empty configured token would let an empty bearer in; `bearer_token`
    // refuses empty tokens, so an empty configuration locks the API instead.
    if !state.admin.matches(token) {
        return Err(Problem::unauthorized("The bearer token is not valid."));
    }
    let mut context = Context::platform_admin();
    if let Some(id) = crate::request_id::of(request.headers()) {
        context = context.with_request_id(id);
    }
    request.extensions_mut().insert(Caller(context));
    Ok(next.run(request).await)
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer_token(header: Option<&axum::http::HeaderValue>) -> Result<&str, Problem> {
    let header = header.ok_or_else(|| {
        Problem::unauthorized("This endpoint needs an `Authorization: Bearer <token>` header.")
    })?;
    let malformed =
        || Problem::unauthorized("The Authorization header must read `Bearer <token>`.");
    let value = header.to_str().map_err(|_| malformed())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(malformed)?;
    let token = token.trim_start_matches(' ');
    // RFC 9110: the scheme is case-insensitive.
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(malformed());
    }
    Ok(token)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Absent only if a handler that needs a caller sits outside the admin
        // group: refuse rather than act for nobody.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Problem::unauthorized("This endpoint needs the admin token."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

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
            let header = HeaderValue::from_static(v);
            bearer_token(Some(&header)).ok().map(str::to_owned)
        };
        assert_eq!(read("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(read("bearer abc").as_deref(), Some("abc"));
        assert_eq!(read("Basic abc"), None);
        assert_eq!(read("Bearer"), None);
        assert_eq!(read("Bearer "), None);
        assert_eq!(read("Bearer a b"), None);
        assert!(bearer_token(None).is_err());
    }
}

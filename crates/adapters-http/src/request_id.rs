//! Request ids: every request gets one, the response echoes it (`x-request-id`),
//! problems quote it and the domain's audit records keep it.
//!
//! A caller's own id is kept when it is short and printable, so ids can follow a
//! request across services; anything else is replaced by a fresh one (tower-http's
//! `SetRequestIdLayer` mints it), so logs and audit never hold arbitrary bytes.

use axum::extract::Request;
use axum::http::HeaderName;
use axum::middleware::Next;
use axum::response::Response;

/// The header that carries the id both ways.
pub(crate) const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest caller-supplied id we keep.
const MAX_LEN: usize = 128;

/// Whether a caller-supplied id may be kept: 1–128 visible ASCII characters.
pub(crate) fn is_acceptable(id: &[u8]) -> bool {
    (1..=MAX_LEN).contains(&id.len()) && id.iter().all(|b| b.is_ascii_graphic())
}

/// Drops an unacceptable incoming id (or several), so a fresh one is minted next.
pub(crate) async fn drop_unacceptable(mut request: Request, next: Next) -> Response {
    let headers = request.headers_mut();
    let mut values = headers.get_all(&HEADER).iter();
    let keep = match (values.next(), values.next()) {
        (Some(one), None) => is_acceptable(one.as_bytes()),
        (None, _) => true,
        // Two ids for one request: neither can be trusted to be the one.
        (Some(_), Some(_)) => false,
    };
    if !keep {
        headers.remove(&HEADER);
    }
    next.run(request).await
}

/// The id of the request, once `SetRequestIdLayer` has run.
pub(crate) fn of(headers: &axum::http::HeaderMap) -> Option<String> {
    headers
        .get(&HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_visible_ascii_ids_are_kept() {
        assert!(is_acceptable(b"req-123_ABC:/=+"));
        assert!(is_acceptable("x".repeat(128).as_bytes()));
        assert!(!is_acceptable("x".repeat(129).as_bytes()));
        assert!(!is_acceptable(b""));
        assert!(!is_acceptable(b"has space"));
        assert!(!is_acceptable("caf\u{e9}".as_bytes()));
        assert!(!is_acceptable(b"tab\there"));
    }
}

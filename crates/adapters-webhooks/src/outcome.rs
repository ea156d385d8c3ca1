//! What came of one webhook request, and how an answer or an error becomes
//! that: the `Retry-After` header, the answer's excerpt, the kind of failure.

use std::error::Error as StdError;
use std::time::{Duration, UNIX_EPOCH};

use reqwest::Response;
use reqwest::header::{DATE, HeaderMap, RETRY_AFTER};

use crate::guard::{Refusal, ResolveError};

/// How much of an answer's body is kept, in bytes.
pub const EXCERPT_LIMIT: usize = 1024;

/// What came of sending one webhook request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver answered with this status (any status, redirects
    /// included: none is followed).
    Answered {
        status: u16,
        /// The delay its `Retry-After` header asks for, in seconds or as an
        /// HTTP date; `None` when it is absent or unreadable.
        retry_after: Option<Duration>,
        /// The first [`EXCERPT_LIMIT`] bytes of its body, as lossy UTF-8.
        excerpt: String,
        /// From the start of the send until the answer's status and headers.
        latency: Duration,
    },
    /// No answer came.
    Failed {
        reason: FailureKind,
        latency: Duration,
    },
    /// The SSRF guard refused the URL or an address it resolved to; nothing
    /// was sent.
    Refused(Refusal),
}

/// Why no answer came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The whole exchange did not finish within the sender's timeout.
    Timeout,
    /// The name did not resolve.
    Dns,
    /// No connection could be opened (refused, unreachable, reset).
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The connection broke or the answer was not HTTP.
    Protocol,
    /// The request could not be formed: no signing secret, or a message id
    /// that is not a header value. Sending it again will not help.
    Request,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Dns => "dns",
            Self::Connect => "connect",
            Self::Tls => "tls",
            Self::Protocol => "protocol",
            Self::Request => "request",
        }
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of an answer: its status, `Retry-After`, and up to
/// [`EXCERPT_LIMIT`] bytes of its body, read chunk by chunk so a large body is
/// never held whole. A body that breaks off leaves what was read.
pub(crate) async fn answered(mut response: Response, latency: Duration, sent_at: i64) -> Outcome {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers(), sent_at);
    let mut excerpt = Vec::with_capacity(EXCERPT_LIMIT);
    while excerpt.len() < EXCERPT_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = EXCERPT_LIMIT - excerpt.len();
                excerpt.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Ok(None) | Err(_) => break,
        }
    }
    Outcome::Answered {
        status,
        retry_after,
        excerpt: String::from_utf8_lossy(&excerpt).into_owned(),
        latency,
    }
}

/// `Retry-After` as a delay: delay-seconds as they are; an HTTP date less the
/// answer's own `Date` (so the two clocks need not agree), or less the time the
/// message was sent (`sent_at`, unix seconds) when there is no `Date`. A date
/// already past is no delay.
pub(crate) fn retry_after(headers: &HeaderMap, sent_at: i64) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let now = headers
        .get(DATE)
        .and_then(|date| date.to_str().ok())
        .and_then(|date| httpdate::parse_http_date(date).ok())
        .unwrap_or_else(|| UNIX_EPOCH + Duration::from_secs(sent_at.max(0).unsigned_abs()));
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The outcome of a request that got no answer.
pub(crate) fn failed(error: &reqwest::Error, latency: Duration) -> Outcome {
    let mut reason = if error.is_timeout() {
        FailureKind::Timeout
    } else if error.is_builder() {
        FailureKind::Request
    } else if error.is_connect() {
        FailureKind::Connect
    } else {
        FailureKind::Protocol
    };
    let mut source: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(resolve) = current.downcast_ref::<ResolveError>() {
            match resolve {
                ResolveError::Refused(refusal) => return Outcome::Refused(refusal.clone()),
                ResolveError::Unresolved(_) => reason = FailureKind::Dns,
            }
        }
        if is_tls(current) && reason != FailureKind::Timeout {
            reason = FailureKind::Tls;
        }
        source = current.source();
    }
    Outcome::Failed { reason, latency }
}

/// rustls reports through `std::io::Error`s (one inside another, as the
/// connector wraps the TLS stream's), whose `source` skips the error they
/// wrap, so each is opened directly.
fn is_tls(error: &(dyn StdError + 'static)) -> bool {
    let mut current = error;
    loop {
        if current.is::<rustls::Error>() {
            return true;
        }
        match current
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => current = inner,
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("a header value"));
        }
        map
    }

    /// Sun, 06 Nov 1994 08:49:37 GMT, the example date of RFC 9110.
    const EXAMPLE: i64 = 784_111_777;

    #[test]
    fn retry_after_in_seconds_is_taken_as_it_is() {
        let map = headers(&[("retry-after", "120")]);
        assert_eq!(retry_after(&map, EXAMPLE), Some(Duration::from_secs(120)));
        let map = headers(&[("retry-after", "0")]);
        assert_eq!(retry_after(&map, EXAMPLE), Some(Duration::ZERO));
    }

    #[test]
    fn retry_after_as_a_date_counts_from_the_answers_own_date() {
        let map = headers(&[
            ("retry-after", "Sun, 06 Nov 1994 08:51:37 GMT"),
            ("date", "Sun, 06 Nov 1994 08:50:37 GMT"),
        ]);
        assert_eq!(retry_after(&map, 0), Some(Duration::from_secs(60)));
    }

    #[test]
    fn retry_after_as_a_date_without_a_date_header_counts_from_the_send() {
        let map = headers(&[("retry-after", "Sun, 06 Nov 1994 08:51:37 GMT")]);
        assert_eq!(retry_after(&map, EXAMPLE), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(&map, EXAMPLE + 600), Some(Duration::ZERO));
    }

    #[test]
    fn unreadable_retry_after_is_none() {
        for value in ["soon", "-5", "1.5", "", "99999999999999999999999"] {
            let map = headers(&[("retry-after", value)]);
            assert_eq!(retry_after(&map, EXAMPLE), None, "{value:?}");
        }
        assert_eq!(retry_after(&HeaderMap::new(), EXAMPLE), None);
    }
}

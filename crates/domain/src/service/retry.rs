//! The read–decide–write loop of optimistic concurrency, written once.
//!
//! A use case reads what it decides on, decides, and writes with the version it
//! read; the store refuses the write with `Stale` when another writer came
//! first. The use case then reads again and decides on what is true now, a
//! bounded number of times.

use crate::ports::StoreError;

/// How often a write that lost an optimistic-concurrency race is retried on a
/// fresh read before giving up.
const MAX_WRITE_ATTEMPTS: usize = 8;

/// What one attempt of a read–decide–write came to.
pub(super) enum Step<T> {
    /// Decided (and written, if there was anything to write): the result.
    Done(T),
    /// The write lost a race: read again and decide on what is true now.
    Retry,
}

/// Runs `attempt` until it is done or fails, at most [`MAX_WRITE_ATTEMPTS`]
/// times; when every attempt lost its race, fails with `exhausted()`.
///
/// `attempt` is a closure returning a future (`|| async move { .. }`), not an
/// async closure: the futures of async closures do not yet prove `Send` to
/// the compiler, and the HTTP adapter needs every use case's future `Send`.
pub(super) async fn retry_on_stale<T, E, F>(
    exhausted: impl FnOnce() -> E,
    mut attempt: impl FnMut() -> F,
) -> Result<T, E>
where
    F: Future<Output = Result<Step<T>, E>>,
{
    for _ in 0..MAX_WRITE_ATTEMPTS {
        if let Step::Done(value) = attempt().await? {
            return Ok(value);
        }
    }
    Err(exhausted())
}

/// A write's outcome as a [`Step`]: done with `value` when it was written,
/// `Retry` when it was stale; every other store error is the caller's.
pub(super) fn written<T>(result: Result<(), StoreError>, value: T) -> Result<Step<T>, StoreError> {
    match result {
        Ok(()) => Ok(Step::Done(value)),
        Err(StoreError::Stale) => Ok(Step::Retry),
        Err(e) => Err(e),
    }
}

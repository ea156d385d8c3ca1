//! Collecting field errors, so one response names every invalid field at once.
//!
//! Request bodies and query strings arrive as raw strings; handlers parse each
//! into the domain's validated types through a [`Validator`], which keeps going
//! after the first failure and ends as one `400` problem listing them all.

use std::fmt;

use serde::Deserialize;

use crate::problem::{Code, FieldError, Problem};

/// Field errors gathered so far, and the problem code they will become.
#[derive(Debug)]
pub(crate) struct Validator {
    code: Code,
    errors: Vec<FieldError>,
}

impl Validator {
    /// For request bodies: ends as `validation_failed`.
    pub(crate) fn body() -> Self {
        Self {
            code: Code::ValidationFailed,
            errors: Vec::new(),
        }
    }

    /// For query strings: ends as `invalid_query`.
    pub(crate) fn query() -> Self {
        Self {
            code: Code::InvalidQuery,
            errors: Vec::new(),
        }
    }

    /// The value, or `None` with the error recorded against `field`. Domain
    /// validation errors are written for callers, so their text is the message.
    pub(crate) fn check<T, E: fmt::Display>(
        &mut self,
        field: impl fmt::Display,
        result: Result<T, E>,
    ) -> Option<T> {
        result.map_err(|e| self.add(field, e.to_string())).ok()
    }

    /// Records an error against `field`.
    pub(crate) fn add(&mut self, field: impl fmt::Display, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    /// A merge-patch member that may be changed but not removed: absent is
    /// `Some(None)` (leave as is), `null` is an error, a value is parsed.
    pub(crate) fn patch<T, E: fmt::Display>(
        &mut self,
        field: &str,
        member: Option<Option<String>>,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        match member {
            None => Some(None),
            Some(None) => {
                self.add(field, "cannot be removed (null); leave it out to keep it");
                None
            }
            Some(Some(raw)) => self.check(field, parse(&raw)).map(Some),
        }
    }

    /// The problem listing every error. Call it when a value came back `None`.
    pub(crate) fn into_problem(self) -> Problem {
        if self.errors.is_empty() {
            // A caller asked for a problem without recording why: that is our bug.
            tracing::error!("validation failed without a recorded field error");
            return Problem::internal();
        }
        Problem::fields(self.code, self.errors)
    }

    /// `Ok` when nothing was recorded.
    pub(crate) fn finish(self) -> Result<(), Problem> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.into_problem())
        }
    }
}

/// Serde helper for merge-patch members: tells an explicit `null` (`Some(None)`)
/// from an absent member (`None`, via `#[serde(default)]`).
pub(crate) fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_kept_in_order() {
        let mut v = Validator::body();
        assert_eq!(v.check("a", Ok::<_, String>(1)), Some(1));
        assert_eq!(v.check("b", Err::<i32, _>("is bad")), None);
        v.add("c", "is worse");
        let Err(problem) = v.finish() else {
            panic!("two errors were recorded")
        };
        assert_eq!(problem.code(), Code::ValidationFailed);
    }

    #[test]
    fn nothing_recorded_is_ok() {
        assert!(Validator::query().finish().is_ok());
    }
}

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
    /// Whether no error was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

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
        match self.not_null(field, member)? {
            None => Some(None),
            Some(raw) => self.check(field, parse(&raw)).map(Some),
        }
    }

    /// A merge-patch member that may be left out (`Some(None)`) but not
    /// removed: `null` is recorded as this field's error (`None`).
    pub(crate) fn not_null<T>(
        &mut self,
        field: &str,
        member: Option<Option<T>>,
    ) -> Option<Option<T>> {
        match member {
            None => Some(None),
            Some(None) => {
                self.add(field, "cannot be removed (null); leave it out to keep it");
                None
            }
            Some(Some(value)) => Some(Some(value)),
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

/// Refuses query parameters or path segments, given as `(name, value)`,
/// whose name or value holds a control character (line breaks and tabs aside,
/// see [`domain::is_refused_in_text`]): one `400` problem of `code` naming each.
/// The edge check for raw text that may never become a domain value on its
/// way to SQL, where a NUL is a server error rather than a caller's one.
pub(crate) fn refuse_control_characters<'a>(
    code: Code,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), Problem> {
    let mut errors = Validator {
        code,
        errors: Vec::new(),
    };
    for (name, value) in pairs {
        if name
            .chars()
            .chain(value.chars())
            .any(domain::is_refused_in_text)
        {
            // The name may be the offending part: show it escaped.
            errors.add(name.escape_debug(), CONTROL_MESSAGE);
        }
    }
    errors.finish()
}

const CONTROL_MESSAGE: &str = "must not contain control characters";

/// Refuses a JSON body with a string (or member name) holding an escaped
/// control character (`\u0000`, `\b`, ...; raw ones are a JSON syntax error
/// already), line breaks and tabs aside: `400 validation_failed` naming the
/// field, as in `namespaces[1].name`. The scan only looks at escapes, which
/// occur inside strings only, so it costs one pass over the bytes; the field
/// is looked for only when one is found.
pub(crate) fn refuse_escaped_control_characters(bytes: &[u8]) -> Result<(), Problem> {
    if !has_escaped_control(bytes) {
        return Ok(());
    }
    let field = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|value| field_with_control(&value, String::new()))
        .unwrap_or_else(|| "body".to_owned());
    let mut errors = Validator::body();
    errors.add(field, CONTROL_MESSAGE);
    errors.finish()
}

fn has_escaped_control(bytes: &[u8]) -> bool {
    let mut at = 0;
    while let Some(offset) = bytes[at..].iter().position(|&b| b == b'\\') {
        let escape = at + offset;
        match bytes.get(escape + 1) {
            Some(b'b' | b'f') => return true,
            Some(b'u') => {
                let code = bytes
                    .get(escape + 2..escape + 6)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .and_then(char::from_u32);
                if code.is_some_and(domain::is_refused_in_text) {
                    return true;
                }
                at = escape + 2;
            }
            // `\\` among them: the escaped backslash is skipped with it.
            Some(_) => at = escape + 2,
            None => return false,
        }
    }
    false
}

/// The path of the first string or member name holding a refused character.
fn field_with_control(value: &serde_json::Value, path: String) -> Option<String> {
    let refused = |text: &str| text.chars().any(domain::is_refused_in_text);
    match value {
        serde_json::Value::String(text) => refused(text).then_some(path),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| field_with_control(item, format!("{path}[{i}]"))),
        serde_json::Value::Object(members) => members.iter().find_map(|(name, item)| {
            let inner = if path.is_empty() {
                name.escape_debug().to_string()
            } else {
                format!("{path}.{}", name.escape_debug())
            };
            if refused(name) {
                return Some(inner);
            }
            field_with_control(item, inner)
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_control_characters_in_json_are_found_and_named() {
        for (body, field) in [
            (r#"{"name": "Ac\u0000me"}"#, "name"),
            (r#"{"metadata": {"tier": "go\u001bld"}}"#, "metadata.tier"),
            (
                r#"{"namespaces": [{"key": "a"}, {"key": "b\bc"}]}"#,
                "namespaces[1].key",
            ),
            (r#"{"a\u0001": 1}"#, "a\\u{1}"),
        ] {
            let problem = refuse_escaped_control_characters(body.as_bytes()).unwrap_err();
            assert_eq!(problem.code(), Code::ValidationFailed);
            let text = format!("{problem:?}");
            assert!(
                text.contains(&format!("field: {field:?}")),
                "{body}: {text}"
            );
        }
        for fine in [
            r#"{"text": "two\nlines\tand \\u0000 quoted", "n": 1}"#,
            r#"{"key": "tny\u005flive"}"#,
            "{}",
        ] {
            assert!(
                refuse_escaped_control_characters(fine.as_bytes()).is_ok(),
                "{fine}"
            );
        }
    }

    #[test]
    fn control_characters_in_parameters_are_refused_naming_them() {
        assert!(refuse_control_characters(Code::InvalidQuery, [("q", "a\nb")]).is_ok());
        let problem =
            refuse_control_characters(Code::InvalidQuery, [("q", "ok"), ("cursor", "a\u{0}")])
                .unwrap_err();
        assert_eq!(problem.code(), Code::InvalidQuery);
        assert!(format!("{problem:?}").contains("\"cursor\""));
    }

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

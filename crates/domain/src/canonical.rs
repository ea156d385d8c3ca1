//! Canonical JSON: the one text of a JSON value that documents are stored and
//! digested as, and that an idempotent request's body is fingerprinted by. Two
//! spellings of the same JSON (key order, whitespace, escapes) have one
//! canonical text, so they are one document and one request.
//!
//! The form is compact JSON with every object's keys sorted by their UTF-8
//! bytes, strings escaped as `serde_json` escapes them and numbers written as
//! `serde_json` writes them. That is the text the HTTP adapter stored before
//! this rule moved here, so stored documents' digests and stored idempotent
//! fingerprints keep matching.
//!
//! It agrees byte for byte with RFC 8785 (JCS) for every object key and
//! string, and for every integer JavaScript holds exactly (|n| ≤ 2^53). It
//! differs from JCS in exactly these cases, which is why it is not JCS:
//! - numbers with a fraction or an exponent: `1.0` stays `1.0` and `1e3`
//!   becomes `1000.0` (JCS: `1`, `1000`), `-0` becomes `-0.0` (JCS: `0`);
//!   large and small ones agree (`1e21` is `1e+21`, `1e-7` is `1e-7` in both);
//! - integers beyond 2^53 are kept exactly (JCS rounds them to a double);
//! - object keys holding characters above U+FFFF sort by UTF-8 bytes (JCS sorts
//!   by UTF-16 code units, which puts them before U+E000..U+FFFF).
//!
//! Switching to JCS would change the digest of every stored document with such
//! a number, so re-sending such a version would turn from a replay into a
//! conflict.

use serde_json::Value;

use crate::values::InvalidValue;

/// The canonical text of `value` (see the module docs for the form).
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(64);
    write_value(&mut out, value);
    // Only valid UTF-8 was written: `serde_json`'s output and ASCII punctuation.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Parses `text` as JSON and returns its canonical text; refuses text that is
/// not JSON.
pub fn canonicalize(text: &[u8]) -> Result<String, InvalidValue> {
    let value: Value =
        serde_json::from_slice(text).map_err(|_| InvalidValue::new("must be a JSON value"))?;
    Ok(canonical_json(&value))
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // Writing a number or a string into a `Vec` cannot fail.
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // Sorted here rather than trusting the map's order: a crate in the
            // build turning on `serde_json/preserve_order` must not change the
            // canonical form.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, key);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// A string, escaped exactly as `serde_json` escapes it.
fn write_string(out: &mut Vec<u8>, s: &str) {
    // Writing a string into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(text: &str) -> String {
        canonicalize(text.as_bytes()).unwrap()
    }

    #[test]
    fn object_keys_are_sorted_at_every_depth() {
        assert_eq!(
            canon(r#"{"b":[1,{"z":1,"y":2}],"a":"x","B":0}"#),
            r#"{"B":0,"a":"x","b":[1,{"y":2,"z":1}]}"#
        );
    }

    #[test]
    fn whitespace_is_removed() {
        assert_eq!(
            canon(" {\n\t\"a\" : [ 1 , 2 ] ,\r\n \"b\" : { } } "),
            r#"{"a":[1,2],"b":{}}"#
        );
    }

    #[test]
    fn unicode_escapes_become_characters_and_controls_stay_escaped() {
        assert_eq!(canon(r#""\u00e9\u20ac\ud83d\ude00""#), "\"é€😀\"");
        assert_eq!(canon(r#""\/""#), r#""/""#);
        assert_eq!(
            canon(r#""\u0001\b\f\n\r\t\"\\\u007f""#),
            "\"\\u0001\\b\\f\\n\\r\\t\\\"\\\\\u{7f}\""
        );
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        for (raw, canonical) in [
            ("0", "0"),
            ("-0", "-0.0"),
            ("42", "42"),
            ("-7", "-7"),
            ("18446744073709551615", "18446744073709551615"),
            ("1.5", "1.5"),
            ("1.0", "1.0"),
            ("1e3", "1000.0"),
            ("1E+2", "100.0"),
            ("1e21", "1e+21"),
            ("1e-7", "1e-7"),
            ("0.1", "0.1"),
        ] {
            assert_eq!(canon(raw), canonical, "{raw}");
        }
    }

    #[test]
    fn keys_sort_by_utf8_bytes() {
        // U+1F600 sorts after U+FFFD by UTF-8 bytes (JCS would put it first).
        assert_eq!(
            canon("{\"\u{1F600}\":1,\"\u{FFFD}\":2,\"a\":3}"),
            "{\"a\":3,\"\u{FFFD}\":2,\"\u{1F600}\":1}"
        );
    }

    #[test]
    fn the_canonical_text_is_its_own_canonical_text() {
        let once = canon(r#"{ "n": [1.25, -3, true, null], "s": "\u00e9" }"#);
        assert_eq!(canon(&once), once);
    }

    #[test]
    fn text_that_is_not_json_is_refused() {
        for bad in ["", "{", "{'a':1}", "[1,]", "nul"] {
            assert!(canonicalize(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}

//! Properties of the validated values, over generated input.

use std::collections::BTreeMap;

use domain::slug::{MAX_KEY_LEN, MIN_KEY_LEN, RESERVED_TENANT_KEYS};
use domain::{Metadata, NamespaceKey, TenantKey, TenantRef};
use proptest::prelude::*;
use regex::Regex;

/// docs/api.md §1, verbatim.
const KEY_PATTERN: &str = "^[a-z0-9]([a-z0-9-]*[a-z0-9])?$";

fn spec_says_valid(raw: &str) -> bool {
    let pattern = Regex::new(KEY_PATTERN).expect("the documented pattern compiles");
    let len = raw.chars().count();
    pattern.is_match(raw) && (MIN_KEY_LEN..=MAX_KEY_LEN).contains(&len)
}

/// Strings near the key alphabet, including its edges and a few characters
/// outside it, at lengths around the limits.
fn key_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{0,70}",
        "[a-z0-9][a-z0-9-]{0,64}[a-z0-9]",
        "[a-zA-Z0-9_. é-]{0,10}",
        any::<String>(),
        proptest::sample::select(RESERVED_TENANT_KEYS).prop_map(str::to_owned),
    ]
}

/// Keys docs/api.md §1 allows and `TenantKey::parse` accepts.
fn valid_tenant_key() -> impl Strategy<Value = TenantKey> {
    "[a-z0-9]([a-z0-9-]{1,61}[a-z0-9])?"
        .prop_filter_map("reserved or too short", |raw| TenantKey::parse(&raw).ok())
}

fn metadata_map(max: usize) -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map("[a-z]{1,2}", ".{0,120}", 0..max)
}

fn patch() -> impl Strategy<Value = BTreeMap<String, Option<String>>> {
    proptest::collection::btree_map(
        prop_oneof!["[a-z]{1,2}", "[a-zA-Z0-9._:-]{60,70}", ".{1,5}"],
        proptest::option::of(".{0,300}"),
        0..80,
    )
}

fn within_limits(m: &Metadata) -> bool {
    let bytes: usize = m.iter().map(|(k, v)| k.len() + v.len()).sum();
    m.len() <= Metadata::MAX_KEYS && bytes <= Metadata::MAX_BYTES
}

proptest! {
    // No regression files in the work tree: the generators reach the shapes
    // that matter (limits, edges, reserved names, UUID-like keys) on their own.
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_accepted_tenant_key_matches_the_spec_pattern_and_is_not_reserved(raw in key_like()) {
        if let Ok(key) = TenantKey::parse(&raw) {
            prop_assert_eq!(key.as_str(), raw.as_str());
            prop_assert!(spec_says_valid(&raw), "{:?} was accepted", raw);
            prop_assert!(!RESERVED_TENANT_KEYS.contains(&raw.as_str()));
        }
    }

    #[test]
    fn every_key_the_spec_allows_is_accepted_unless_reserved(raw in key_like()) {
        if spec_says_valid(&raw) && !RESERVED_TENANT_KEYS.contains(&raw.as_str()) {
            prop_assert!(TenantKey::parse(&raw).is_ok(), "{:?} was refused", raw);
            prop_assert!(NamespaceKey::parse(&raw).is_ok());
        }
        if !spec_says_valid(&raw) {
            prop_assert!(NamespaceKey::parse(&raw).is_err(), "{:?} was accepted", raw);
        }
    }

    #[test]
    fn the_default_namespace_key_is_always_a_valid_namespace_key(key in valid_tenant_key()) {
        let ns = key.default_namespace_key();
        prop_assert!(NamespaceKey::parse(ns.as_str()).is_ok(), "{} -> {}", key, ns);
        prop_assert!(ns.as_str().ends_with("-live"));
        let stem = ns.as_str().trim_end_matches("-live");
        prop_assert!(key.as_str().starts_with(stem), "{} -> {}", key, ns);
    }

    #[test]
    fn merging_never_yields_metadata_over_the_limits(base in metadata_map(80), patch in patch()) {
        // Bases over the limits are refused up front.
        let Ok(base) = Metadata::new(base) else { return Ok(()); };
        prop_assert!(within_limits(&base));
        match base.merge(&patch) {
            Ok(merged) => {
                prop_assert!(within_limits(&merged));
                for (k, v) in &patch {
                    prop_assert_eq!(merged.get(k), v.as_deref(), "key {:?}", k);
                }
            }
            Err(_) => {
                // Only a result over a limit (or a bad key) may be refused.
                let mut next: BTreeMap<String, String> =
                    base.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();
                for (k, v) in &patch {
                    match v {
                        Some(v) => next.insert(k.clone(), v.clone()),
                        None => next.remove(k),
                    };
                }
                prop_assert!(Metadata::new(next).is_err());
            }
        }
    }

    /// The API's `{tenant}` path segment takes an id or a key (docs/api.md §6), so a
    /// key the domain accepts must still name that key when it comes back in a
    /// path. Hex strings of UUID shape are valid keys.
    #[test]
    fn a_valid_key_reads_back_as_that_key_in_a_path(raw in prop_oneof![
        "[0-9a-f]{32}",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[a-z0-9][a-z0-9-]{1,40}[a-z0-9]",
    ]) {
        if let Ok(key) = TenantKey::parse(&raw) {
            prop_assert_eq!(TenantRef::parse(&raw), Ok(TenantRef::Key(key)));
        }
    }
}

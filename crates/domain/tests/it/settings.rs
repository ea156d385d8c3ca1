//! The settings groups of SPEC §5 as a caller of the domain sees them: every
//! field refuses its bad values by name, merge-patch semantics (RFC 7396), the
//! changed-field list, effective branding, the IP allowlist, and documents
//! that read back as they were written.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use domain::settings::{
    AuthMethod, BrandingSettings, Currency, DateFormat, GeneralSettings, SecuritySettings,
    SettingsError, SettingsGroup, TimeZone, effective_branding,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// A document of `G` with every field set.
fn full<G: SettingsGroup>(document: Value) -> G {
    let group = G::from_json(&document).expect("a valid document");
    assert_eq!(
        group.to_json().as_object().map(Map::len),
        Some(G::field_names().len()),
        "every field is set"
    );
    assert_ne!(group, G::default().clone());
    group
}

fn general() -> GeneralSettings {
    full(json!({
        "name": "Acme", "defaultLanguage": "en-US", "timezone": "Europe/Berlin",
        "dateFormat": "YYYY-MM-DD", "currency": "EUR",
    }))
}

fn branding() -> BrandingSettings {
    full(json!({
        "companyName": "Acme Corp", "senderName": "Acme", "senderEmail": "no-reply@acme.io",
        "contactEmail": "help@acme.io", "logoUrl": "https://acme.io/logo.png",
        "faviconUrl": "https://acme.io/favicon.ico", "primaryColor": "#112233",
        "accentColor": "#AABBCC", "backgroundColor": "#FFFFFF",
    }))
}

fn security() -> SecuritySettings {
    full(json!({
        "requireMfa": true, "allowedAuthMethods": ["password", "sso"],
        "ipAllowlist": ["203.0.113.0/24"], "sessionTimeoutMinutes": 60,
    }))
}

/// Patches each `(field, bad value)` into `start`, alone and next to a valid
/// change of another field, and checks that the patch is refused naming that
/// field, and that `start` is what it was. Also checks that the table names
/// every field of the group.
fn each_bad_value_is_refused<G: SettingsGroup>(start: &G, cases: &[(&str, Value)]) {
    let before = start.to_json();
    for (field, bad) in cases {
        let alone = start.patched(&json!({ *field: bad }));
        match alone {
            Err(SettingsError::Invalid {
                field: named,
                reason,
            }) => {
                assert_eq!(named, *field, "{bad}");
                assert!(!reason.to_string().is_empty());
            }
            other => panic!("{} {field}: {bad} gave {other:?}", G::NAME),
        }
        // Another field's valid removal in the same patch is not applied
        // either: a patch is all or nothing.
        let other = G::field_names().into_iter().find(|f| f != field).unwrap();
        let mixed = start.patched(&json!({ *field: bad, other: null }));
        assert!(
            matches!(mixed, Err(SettingsError::Invalid { field: named, .. }) if named == *field),
            "{} {field}: {bad} next to {other}",
            G::NAME
        );
        assert_eq!(start.to_json(), before, "nothing changes on error");
    }
    let named: BTreeSet<&str> = cases.iter().map(|(f, _)| *f).collect();
    let fields: BTreeSet<&str> = G::field_names().into_iter().collect();
    assert_eq!(named, fields, "{}: every field has bad values", G::NAME);
}

#[test]
fn every_general_field_refuses_its_bad_values_by_name() {
    each_bad_value_is_refused(
        &general(),
        &[
            ("name", json!("")),
            ("name", json!("   ")),
            ("name", json!("a".repeat(201))),
            ("name", json!("Ac\u{0}me")),
            ("name", json!(5)),
            ("defaultLanguage", json!("en_US")),
            ("defaultLanguage", json!("english-?")),
            ("defaultLanguage", json!("")),
            ("defaultLanguage", json!(["en"])),
            ("timezone", json!("Mars/Olympus_Mons")),
            ("timezone", json!("europe/berlin")),
            ("timezone", json!("+02:00")),
            ("dateFormat", json!("YYYY/MM/DD")),
            ("dateFormat", json!("dd.mm.yyyy")),
            ("currency", json!("eur")),
            ("currency", json!("EURO")),
            ("currency", json!("HRK")),
            ("currency", json!(978)),
        ],
    );
}

#[test]
fn every_branding_field_refuses_its_bad_values_by_name() {
    each_bad_value_is_refused(
        &branding(),
        &[
            ("companyName", json!("")),
            ("companyName", json!({ "en": "Acme" })),
            ("senderName", json!("x".repeat(201))),
            ("senderEmail", json!("no-reply")),
            ("senderEmail", json!("no reply@acme.io")),
            ("contactEmail", json!("help@acme")),
            ("contactEmail", json!(true)),
            ("logoUrl", json!("http://acme.io/logo.png")),
            ("logoUrl", json!("https://user:pass@acme.io/logo.png")),
            ("logoUrl", json!("/logo.png")),
            (
                "logoUrl",
                json!(format!("https://acme.io/{}", "a".repeat(2048))),
            ),
            ("faviconUrl", json!("ftp://acme.io/favicon.ico")),
            ("faviconUrl", json!("https://")),
            ("primaryColor", json!("red")),
            ("primaryColor", json!("#12345")),
            ("accentColor", json!("#GGGGGG")),
            ("backgroundColor", json!("FFFFFF")),
            ("backgroundColor", json!("#FFFFFFFF")),
        ],
    );
}

#[test]
fn every_security_field_refuses_its_bad_values_by_name() {
    let too_many: Vec<String> = (0..101).map(|i| format!("10.0.{i}.0/24")).collect();
    each_bad_value_is_refused(
        &security(),
        &[
            ("requireMfa", json!("yes")),
            ("requireMfa", json!(1)),
            ("allowedAuthMethods", json!([])),
            ("allowedAuthMethods", json!(["password", "otp"])),
            ("allowedAuthMethods", json!("password")),
            ("allowedAuthMethods", json!([1])),
            ("allowedAuthMethods", json!(vec!["sso"; 5])),
            ("ipAllowlist", json!(["10.0.0.0/33"])),
            ("ipAllowlist", json!(["example.com"])),
            ("ipAllowlist", json!("10.0.0.0/8")),
            ("ipAllowlist", json!(too_many)),
            ("sessionTimeoutMinutes", json!(4)),
            ("sessionTimeoutMinutes", json!(43_201)),
            ("sessionTimeoutMinutes", json!(30.5)),
            ("sessionTimeoutMinutes", json!("30")),
            ("sessionTimeoutMinutes", json!(-30)),
        ],
    );
}

#[test]
fn a_refusal_says_what_is_wrong_and_what_is_expected() {
    let refused = security()
        .patched(&json!({ "ipAllowlist": ["203.0.113.0/24", "10.0.0.0/33"] }))
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "ipAllowlist item at index 1 must have a prefix length from 0 to 32 after the '/' (got \"33\")"
    );
    let refused = branding()
        .patched(&json!({ "primaryColor": "red" }))
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "primaryColor must be a color written #RRGGBB in hexadecimal, such as #1A2B3C"
    );
}

#[test]
fn null_removes_a_field_and_an_absent_one_is_left_as_it_was() {
    let start = branding();
    let patched = start
        .patched(&json!({ "logoUrl": null, "accentColor": "#000000" }))
        .unwrap();
    let mut expected = start.to_json();
    let fields = expected.as_object_mut().unwrap();
    fields.remove("logoUrl");
    fields.insert("accentColor".into(), json!("#000000"));
    assert_eq!(patched.document.to_json(), expected);
    assert_eq!(patched.document.logo_url, None);
    assert_eq!(patched.document.favicon_url, start.favicon_url);

    let emptied = general()
        .patched(&json!({
            "name": null, "defaultLanguage": null, "timezone": null,
            "dateFormat": null, "currency": null,
        }))
        .unwrap();
    assert_eq!(emptied.document, GeneralSettings::default());
    assert_eq!(emptied.document.to_json(), json!({}));
}

#[test]
fn an_unknown_field_or_a_patch_that_is_no_object_is_refused() {
    for unknown in [
        json!({ "primaryColour": "#000000" }),
        json!({ "PrimaryColor": "#000000" }),
        json!({ "primary_color": "#000000" }),
        json!({ "logoUrl": "not a url", "fontFamily": "Inter" }),
    ] {
        assert!(
            matches!(
                branding().patched(&unknown),
                Err(SettingsError::UnknownField {
                    group: "branding",
                    ..
                })
            ),
            "{unknown}"
        );
    }
    // The name of another group's field is unknown here too.
    assert!(matches!(
        general().patched(&json!({ "requireMfa": true })),
        Err(SettingsError::UnknownField { field, .. }) if field == "requireMfa"
    ));
    for not_an_object in [json!(null), json!([]), json!("name"), json!(1)] {
        assert_eq!(
            security().patched(&not_an_object),
            Err(SettingsError::NotAnObject { group: "security" })
        );
        assert!(SecuritySettings::from_json(&not_an_object).is_err());
    }
}

#[test]
fn the_changed_list_names_only_fields_whose_value_changed_in_the_groups_order() {
    let start = branding();
    let patched = start
        .patched(&json!({
            "backgroundColor": "#000000",  // changed
            "primaryColor": "#112233",     // the same value
            "accentColor": "#AABBCC",      // the same value
            "companyName": null,           // removed
            "senderName": "  Acme  ",      // the same name once trimmed
        }))
        .unwrap();
    assert_eq!(patched.changed, ["companyName", "backgroundColor"]);
    let same_in_lower_case = start.patched(&json!({ "accentColor": "#aabbcc" })).unwrap();
    assert!(same_in_lower_case.changed.is_empty());
    let nothing = start.patched(&json!({})).unwrap();
    assert!(nothing.changed.is_empty());
    assert_eq!(nothing.document, start);
    // Removing a field that is not set changes nothing.
    let unset = BrandingSettings::default()
        .patched(&json!({ "logoUrl": null }))
        .unwrap();
    assert!(unset.changed.is_empty());

    let security = security()
        .patched(&json!({ "allowedAuthMethods": ["sso", "password", "sso"], "requireMfa": false }))
        .unwrap();
    assert_eq!(
        security.changed,
        ["requireMfa"],
        "a set in another order is the same set"
    );
}

#[test]
fn effective_branding_takes_each_field_from_the_nearest_level_that_sets_it() {
    let org = BrandingSettings::from_json(&json!({
        "companyName": "SignStack", "senderEmail": "no-reply@signstack.io",
        "primaryColor": "#000000", "backgroundColor": "#FFFFFF",
    }))
    .unwrap();
    let tenant = BrandingSettings::from_json(&json!({
        "companyName": "Acme Corp", "primaryColor": "#112233",
    }))
    .unwrap();
    let legal = BrandingSettings::from_json(&json!({
        "senderName": "Acme Legal", "primaryColor": "#AA0000",
    }))
    .unwrap();
    let sales = BrandingSettings::from_json(&json!({ "companyName": "Acme Sales" })).unwrap();

    assert_eq!(
        effective_branding(&org, &tenant, None).to_json(),
        json!({
            "companyName": "Acme Corp", "senderEmail": "no-reply@signstack.io",
            "primaryColor": "#112233", "backgroundColor": "#FFFFFF",
        })
    );
    let seen_by_legal = effective_branding(&org, &tenant, Some(&legal));
    let seen_by_sales = effective_branding(&org, &tenant, Some(&sales));
    assert_eq!(
        seen_by_legal.to_json(),
        json!({
            "companyName": "Acme Corp", "senderName": "Acme Legal",
            "senderEmail": "no-reply@signstack.io", "primaryColor": "#AA0000",
            "backgroundColor": "#FFFFFF",
        })
    );
    assert_eq!(
        seen_by_sales.to_json(),
        json!({
            "companyName": "Acme Sales", "senderEmail": "no-reply@signstack.io",
            "primaryColor": "#112233", "backgroundColor": "#FFFFFF",
        })
    );
    // Removing the namespace's override falls back to the tenant's value.
    let legal = legal
        .patched(&json!({ "primaryColor": null }))
        .unwrap()
        .document;
    assert_eq!(
        effective_branding(&org, &tenant, Some(&legal))
            .primary_color
            .unwrap()
            .as_str(),
        "#112233"
    );
    // An empty override is the tenant's branding; nothing set anywhere is nothing.
    assert_eq!(
        effective_branding(&org, &tenant, Some(&BrandingSettings::default())),
        effective_branding(&org, &tenant, None)
    );
    let none = BrandingSettings::default();
    assert_eq!(effective_branding(&none, &none, Some(&none)), none);
}

#[test]
fn the_ip_allowlist_admits_only_its_networks_in_v4_and_v6() {
    let ip = |raw: &str| raw.parse::<IpAddr>().unwrap();
    let unset = SecuritySettings::default();
    let empty = SecuritySettings::from_json(&json!({ "ipAllowlist": [] })).unwrap();
    for anyone in ["198.51.100.1", "2001:db8::1"] {
        assert!(unset.allows_ip(ip(anyone)), "no list allows {anyone}");
        assert!(empty.allows_ip(ip(anyone)), "an empty list allows {anyone}");
    }
    let listed = SecuritySettings::from_json(&json!({
        "ipAllowlist": ["203.0.113.0/24", "198.51.100.7", "2001:db8:aa::/48"],
    }))
    .unwrap();
    for inside in [
        "203.0.113.0",
        "203.0.113.255",
        "198.51.100.7",
        "::ffff:203.0.113.40",
        "2001:db8:aa::1",
        "2001:db8:aa:ffff:ffff:ffff:ffff:ffff",
    ] {
        assert!(listed.allows_ip(ip(inside)), "{inside}");
    }
    for outside in [
        "203.0.114.0",
        "198.51.100.8",
        "10.0.0.1",
        "2001:db8:ab::1",
        "::1",
        "::ffff:10.0.0.1",
    ] {
        assert!(!listed.allows_ip(ip(outside)), "{outside}");
    }
    // Removing the list opens it again.
    let removed = listed
        .patched(&json!({ "ipAllowlist": null }))
        .unwrap()
        .document;
    assert!(removed.allows_ip(ip("10.0.0.1")));
}

#[test]
fn a_repeated_network_or_method_is_kept_once() {
    let security = SecuritySettings::from_json(&json!({
        "ipAllowlist": ["10.0.0.0/8", "2001:DB8::/32", "10.0.0.0/8", "2001:db8::/32"],
        "allowedAuthMethods": ["passkey", "magic_link", "passkey"],
    }))
    .unwrap();
    assert_eq!(
        security.to_json(),
        json!({
            "ipAllowlist": ["10.0.0.0/8", "2001:db8::/32"],
            "allowedAuthMethods": ["passkey", "magic_link"],
        })
    );
    let methods = security.allowed_auth_methods.unwrap();
    assert!(methods.contains(AuthMethod::MagicLink) && !methods.contains(AuthMethod::Sso));
}

// Generated documents: every field absent or holding a valid value, written
// in the many spellings callers use (any case, bare addresses, repeats).

fn field<S: Strategy<Value = Value> + 'static>(value: S) -> BoxedStrategy<Option<Value>> {
    proptest::option::of(value).boxed()
}

fn text(pattern: &'static str) -> BoxedStrategy<Value> {
    pattern.prop_map(Value::from).boxed()
}

fn one_of(values: Vec<&'static str>) -> BoxedStrategy<Value> {
    proptest::sample::select(values)
        .prop_map(Value::from)
        .boxed()
}

fn object(fields: Vec<(&'static str, Option<Value>)>) -> Value {
    Value::Object(
        fields
            .into_iter()
            .filter_map(|(name, value)| Some((name.to_owned(), value?)))
            .collect(),
    )
}

fn cidr() -> impl Strategy<Value = String> {
    prop_oneof![
        (any::<u32>(), 0u32..=32).prop_map(|(bits, prefix)| {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            format!("{}/{prefix}", Ipv4Addr::from(bits & mask))
        }),
        (any::<u128>(), 0u32..=128).prop_map(|(bits, prefix)| {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            format!("{}/{prefix}", Ipv6Addr::from(bits & mask)).to_uppercase()
        }),
        any::<Ipv4Addr>().prop_map(|a| a.to_string()),
    ]
}

fn general_document() -> impl Strategy<Value = Value> {
    (
        field(text("[A-Za-z0-9][A-Za-z0-9 &.'-]{0,40}")),
        field(text(
            "[a-zA-Z]{2,3}(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|[0-9]{3}))?",
        )),
        field(one_of(TimeZone::names().collect())),
        field(one_of(DateFormat::ALL.iter().map(|f| f.as_str()).collect())),
        field(one_of(Currency::codes().to_vec())),
    )
        .prop_map(|(name, language, timezone, date_format, currency)| {
            object(vec![
                ("name", name),
                ("defaultLanguage", language),
                ("timezone", timezone),
                ("dateFormat", date_format),
                ("currency", currency),
            ])
        })
}

fn branding_document() -> impl Strategy<Value = Value> {
    let name = || field(text("[A-Za-z0-9][A-Za-z0-9 &.'-]{0,40}"));
    let email = || field(text("[a-z0-9._+-]{1,20}@[a-z0-9-]{1,12}\\.[a-z]{2,6}"));
    let url = || {
        field(text(
            "https://[a-zA-Z0-9]{1,12}\\.[a-z]{2,6}(/[a-zA-Z0-9._~-]{0,20}){0,3}",
        ))
    };
    let color = || field(text("#[0-9a-fA-F]{6}"));
    (
        (name(), name(), email(), email()),
        (url(), url(), color(), color(), color()),
    )
        .prop_map(
            |((company, sender, sender_email, contact), (logo, favicon, p, a, b))| {
                object(vec![
                    ("companyName", company),
                    ("senderName", sender),
                    ("senderEmail", sender_email),
                    ("contactEmail", contact),
                    ("logoUrl", logo),
                    ("faviconUrl", favicon),
                    ("primaryColor", p),
                    ("accentColor", a),
                    ("backgroundColor", b),
                ])
            },
        )
}

fn security_document() -> impl Strategy<Value = Value> {
    let methods: Vec<&'static str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
    (
        field(any::<bool>().prop_map(Value::from)),
        field(
            proptest::collection::vec(proptest::sample::select(methods), 1..=4)
                .prop_map(Value::from),
        ),
        field(proptest::collection::vec(cidr(), 0..12).prop_map(Value::from)),
        field((5u64..=43_200).prop_map(Value::from)),
    )
        .prop_map(|(mfa, methods, allowlist, timeout)| {
            object(vec![
                ("requireMfa", mfa),
                ("allowedAuthMethods", methods),
                ("ipAllowlist", allowlist),
                ("sessionTimeoutMinutes", timeout),
            ])
        })
}

/// A valid document reads as a group whose JSON reads back as the same group,
/// field for field, and keeps every field the document set.
fn reads_back<G: SettingsGroup>(document: &Value) -> Result<(), TestCaseError> {
    let group = G::from_json(document).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let written = group.to_json();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    prop_assert_eq!(keys(&written), keys(document));
    let read = G::from_json(&written).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(read.to_json(), written);
    prop_assert_eq!(read, group);
    Ok(())
}

/// Patching `a` with `b`'s whole document gives `b`'s value for each field `b`
/// sets and `a`'s for the others; `changed` is exactly the fields that differ.
fn patches_field_by_field<G: SettingsGroup>(a: &Value, b: &Value) -> Result<(), TestCaseError> {
    let a_group = G::from_json(a).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let b_group = G::from_json(b).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let (a_json, b_json) = (a_group.to_json(), b_group.to_json());
    let patched = a_group
        .patched(&b_json)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let result = patched.document.to_json();
    let mut changed = Vec::new();
    for name in G::field_names() {
        let expected = b_json.get(name).or(a_json.get(name));
        prop_assert_eq!(result.get(name), expected, "{}", name);
        if b_json.get(name).is_some() && b_json.get(name) != a_json.get(name) {
            changed.push(name);
        }
    }
    prop_assert_eq!(patched.changed, changed);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn general_documents_read_back_as_written(doc in general_document()) {
        reads_back::<GeneralSettings>(&doc)?;
    }

    #[test]
    fn branding_documents_read_back_as_written(doc in branding_document()) {
        reads_back::<BrandingSettings>(&doc)?;
    }

    #[test]
    fn security_documents_read_back_as_written(doc in security_document()) {
        reads_back::<SecuritySettings>(&doc)?;
    }

    #[test]
    fn a_patch_sets_exactly_its_fields_and_reports_the_ones_that_differ(
        (a, b) in (branding_document(), branding_document()),
        (c, d) in (security_document(), security_document()),
    ) {
        patches_field_by_field::<BrandingSettings>(&a, &b)?;
        patches_field_by_field::<SecuritySettings>(&c, &d)?;
    }
}

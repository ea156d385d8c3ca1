//! Each value's `PATTERN` (what the OpenAPI document shows as the field's
//! `pattern`, so that API fuzzers generate and judge values by it) states
//! exactly the rule its parser applies: every string the pattern matches
//! parses, and every string it does not is refused. Checked on strings
//! generated from the pattern, on arbitrary strings, and on strings built
//! from the characters the rules care about.

use domain::settings::{Cidr, HexColor, HttpsUrl, LanguageTag};
use domain::{Email, Name, RegionCode, UserId};
use proptest::prelude::*;
use regex::Regex;

/// The pattern as a regex of the whole string.
fn compiled(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the pattern compiles")
}

/// Strings the pattern matches. proptest's generator takes no anchors, and
/// every pattern here is anchored at both ends.
fn generated(pattern: &str) -> impl Strategy<Value = String> {
    let inner = pattern
        .strip_prefix('^')
        .and_then(|p| p.strip_suffix('$'))
        .expect("an anchored pattern");
    proptest::string::string_regex(inner).expect("a pattern proptest can generate from")
}

/// Strings from the characters that matter to these rules: ASCII, the
/// whitespace and control characters at the edges of the classes, and a few
/// others.
fn tricky() -> impl Strategy<Value = String> {
    let chars = prop::sample::select(vec![
        'a',
        'Z',
        '0',
        '9',
        '.',
        '@',
        '-',
        '_',
        '/',
        ':',
        '#',
        '%',
        '?',
        '[',
        ']',
        ' ',
        '\t',
        '\n',
        '\r',
        '\u{b}',
        '\u{c}',
        '\u{0}',
        '\u{1f}',
        '\u{7f}',
        '\u{85}',
        '\u{9f}',
        '\u{a0}',
        '\u{1680}',
        '\u{2000}',
        '\u{200a}',
        '\u{200b}',
        '\u{2028}',
        '\u{202f}',
        '\u{3000}',
        'é',
        'ß',
        '中',
        '\u{1f600}',
        'f',
        'F',
        'x',
    ]);
    prop::collection::vec(chars, 0..80).prop_map(|v| v.into_iter().collect())
}

/// `$pattern` and `$max` characters at most (the API's `maxLength`) state
/// the rule of `$parse`.
macro_rules! same_rule {
    ($name:ident, $pattern:expr, $max:expr, $parse:expr, $examples:expr) => {
        mod $name {
            use super::*;

            static PATTERN: std::sync::LazyLock<Regex> =
                std::sync::LazyLock::new(|| compiled($pattern));

            fn agree(s: &str) -> Result<(), TestCaseError> {
                let matched = PATTERN.is_match(s) && s.chars().count() <= $max;
                let parsed = ($parse)(s);
                prop_assert_eq!(matched, parsed, "pattern and parser disagree on {:?}", s);
                Ok(())
            }

            #[test]
            fn examples_agree() {
                for example in $examples {
                    agree(example).unwrap();
                }
            }

            proptest! {
                #![proptest_config(ProptestConfig::with_cases(200))]

                #[test]
                fn generated_from_the_pattern_parses(
                    s in generated($pattern).prop_filter("too long", |s| s.chars().count() <= $max)
                ) {
                    prop_assert!(($parse)(&s), "{:?} matches the pattern but is refused", s);
                }

                #[test]
                fn arbitrary_strings_agree(s in any::<String>()) {
                    agree(&s)?;
                }

                #[test]
                fn tricky_strings_agree(s in tricky()) {
                    agree(&s)?;
                }
            }
        }
    };
}

same_rule!(
    names,
    Name::PATTERN,
    usize::MAX,
    |s: &str| Name::parse(s).is_ok(),
    [
        "Acme",
        " Acme ",
        "\tAcme\n",
        "Ac me",
        "Ac\tme",
        "",
        " ",
        "\u{a0}x\u{a0}",
        "\u{85}x"
    ]
);
same_rule!(
    emails,
    Email::PATTERN,
    Email::MAX_LEN,
    |s: &str| Email::parse(s).is_ok(),
    [
        "a@b.c",
        "a@b",
        "a@.b.c",
        "a@b..c",
        "a@b.c.",
        "@b.c",
        "a b@c.d",
        "é@ß.中",
        "a@b@c.d"
    ]
);
same_rule!(
    user_ids,
    UserId::PATTERN,
    usize::MAX,
    |s: &str| UserId::parse(s).is_ok(),
    ["user_42", "", " ", "a\nb", "中"]
);
same_rule!(
    colors,
    HexColor::PATTERN,
    usize::MAX,
    |s: &str| HexColor::parse(s).is_ok(),
    [
        "#1A2B3C", "#1a2b3c", "#1A2B3", "1A2B3C", "#1A2B3CD", "#GGGGGG"
    ]
);
same_rule!(
    languages,
    LanguageTag::PATTERN,
    LanguageTag::MAX_LEN,
    |s: &str| LanguageTag::parse(s).is_ok(),
    [
        "en",
        "en-US",
        "zh-Hant-TW",
        "es-419",
        "EN-us",
        "e",
        "english",
        "en-",
        "en-Latn-US-x"
    ]
);
same_rule!(
    urls,
    HttpsUrl::PATTERN,
    HttpsUrl::MAX_LEN,
    |s: &str| HttpsUrl::parse(s).is_ok(),
    [
        "https://acme.example/logo.png",
        "https://Acme.Example:8443/a/b?c=d#e",
        "https://localhost",
        "http://acme.example",
        "HTTPS://acme.example",
        "https://a@acme.example",
        "https://1.2.3.4",
        "https://acme.example:0",
        "https://acme.example:65536",
        "https://xn--a.example",
        "https://a..example",
        "https://acme.example/%zz",
        "https://acme.example/a b",
    ]
);
same_rule!(
    networks,
    &Cidr::pattern(),
    usize::MAX,
    |s: &str| Cidr::parse(s).is_ok(),
    [
        "203.0.113.0/24",
        "203.0.113.7/24",
        "203.0.113.7",
        "2001:db8::/32",
        "2001:DB8::1",
        "::",
        "::ffff:1.2.3.4",
        "1:2:3:4:5:6:1.2.3.4",
        "1::2:1.2.3.4",
        "01.2.3.4",
        "1.2.3.4/33",
        "1.2.3.4/08",
        "::/129",
        "1:2:3:4:5:6:7:8:9",
        "12345::",
        "fe80::1%eth0",
    ]
);
same_rule!(
    regions,
    RegionCode::PATTERN,
    usize::MAX,
    |s: &str| RegionCode::parse(s).is_ok(),
    [
        "eu-west",
        "e",
        "eu",
        "-eu",
        "eu-",
        "EU",
        "a".repeat(33).as_str(),
        "a".repeat(32).as_str()
    ]
);

//! The validated values of the `general` and `branding` settings: language,
//! time zone, currency, date format, color and https URL (SPEC §5). Each
//! parses from the text a caller sends, refuses anything else with a message
//! that says what is wrong and what is expected, and keeps one canonical
//! spelling, so a value read back from storage equals the one written.

use std::fmt;

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::patch::{SettingValue, string};
use crate::values::InvalidValue;

/// A BCP 47 language tag (RFC 5646) of the shape products use for a default
/// language: a language (2 or 3 letters), then optionally a script (4
/// letters) and a region (2 letters or 3 digits): `en`, `en-US`,
/// `zh-Hant-TW`, `es-419`. Kept in the RFC's canonical case: language
/// lowercase, script title case, region uppercase. The shape is checked, not
/// the registry: which languages a product offers is the product's concern.
/// Extended language, variant, extension and private-use subtags are not
/// taken: a default language names no dialect of a dialect.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// Longest tag accepted, in bytes: RFC 5646 §4.4.1 asks for at least 35;
    /// this leaves room for extensions (`-u-ca-...`) and bounds the work.
    pub const MAX_LEN: usize = 64;

    /// The shape [`LanguageTag::parse`] takes, as the API documents it.
    pub const PATTERN: &'static str =
        "^[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?$";

    /// Reads a tag in any case and keeps it in canonical case.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        static SHAPE: LazyLock<Regex> = LazyLock::new(|| compiled(LanguageTag::PATTERN));
        if raw.len() > Self::MAX_LEN || !SHAPE.is_match(raw) {
            return Err(Self::expected());
        }
        let tag = language_tags::LanguageTag::parse(raw).map_err(|_| Self::expected())?;
        Ok(Self(tag.into_string()))
    }

    fn expected() -> InvalidValue {
        InvalidValue::new(
            "must be a language tag: a language, then optionally a script and a region, \
             such as en, en-US, zh-Hant-TW or es-419",
        )
    }

    /// The tag in canonical case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A time zone of the IANA tz database by its exact name (`Europe/Berlin`,
/// `America/Argentina/Buenos_Aires`, `UTC`); the database's backward-compatible
/// links (`US/Eastern`) count too. Names are case-sensitive, as in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// The version of the tz database names are checked against (such as `2025b`),
    /// which moves with the `chrono-tz` release in the lockfile.
    pub const DATABASE_VERSION: &'static str = chrono_tz::IANA_TZDB_VERSION;

    /// Reads a zone by its exact name.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        raw.parse::<chrono_tz::Tz>().map(Self).map_err(|_| {
            InvalidValue::new(
                "must be an IANA time zone name such as Europe/Berlin or UTC (names are case-sensitive)",
            )
        })
    }

    /// Every name [`TimeZone::parse`] accepts, for documentation and tests.
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    }

    /// The zone itself, to turn instants into local times (dates in emails).
    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    /// The zone's name in the tz database.
    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }
}

/// An active ISO 4217 alphabetic currency code, upper case (`EUR`, `USD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency(&'static str);

/// ISO 4217 List One (current currency and funds codes) as published by its
/// maintenance agency, SIX, with the amendments through 2025: `XCG` replaced
/// `ANG` (2025), `ZWG` replaced `ZWL` (2024), `SLE` replaced `SLL`, `XAD` was
/// added (2025); `CUC` and `HRK` (euro, 2023) are withdrawn, and so is `BGN`
/// (Bulgaria adopted the euro on 2026-01-01). Left out on purpose: `XTS` (codes
/// reserved for testing) and `XXX` (no currency), which name no currency a
/// tenant could use. Sorted, so lookups are a binary search.
const CURRENCIES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BHD",
    "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DJF",
    "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP",
    "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR",
    "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT",
    "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP",
    "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
    "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB",
    "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN",
    "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH",
    "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAD",
    "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF",
    "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
];

impl Currency {
    /// Reads a code; a known code in lower case is refused with its upper-case
    /// spelling in the message.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        if let Ok(at) = CURRENCIES.binary_search(&raw) {
            return Ok(Self(CURRENCIES[at]));
        }
        let upper = raw.to_ascii_uppercase();
        if CURRENCIES.binary_search(&upper.as_str()).is_ok() {
            return Err(InvalidValue::new(format!("must be upper case: {upper}")));
        }
        Err(InvalidValue::new(
            "must be an active ISO 4217 currency code in upper case, such as EUR or USD",
        ))
    }

    /// Every code [`Currency::parse`] accepts, sorted.
    pub fn codes() -> &'static [&'static str] {
        CURRENCIES
    }

    /// The three-letter code.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// How dates are written to the tenant's users: one of a fixed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateFormat {
    /// `YYYY-MM-DD` (ISO 8601): 2026-12-07.
    YearMonthDay,
    /// `DD/MM/YYYY`: 07/12/2026.
    DayMonthYearSlashed,
    /// `MM/DD/YYYY`: 12/07/2026.
    MonthDayYearSlashed,
    /// `DD.MM.YYYY`: 07.12.2026.
    DayMonthYearDotted,
    /// `D MMM YYYY`: 7 Dec 2026.
    DayMonthNameYear,
}

impl DateFormat {
    /// Every format, in the order the API lists them.
    pub const ALL: [Self; 5] = [
        Self::YearMonthDay,
        Self::DayMonthYearSlashed,
        Self::MonthDayYearSlashed,
        Self::DayMonthYearDotted,
        Self::DayMonthNameYear,
    ];

    /// Reads a format from its pattern (`DD.MM.YYYY`), exactly.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        Self::ALL
            .into_iter()
            .find(|format| format.as_str() == raw)
            .ok_or_else(|| {
                InvalidValue::new(
                    "must be one of YYYY-MM-DD, DD/MM/YYYY, MM/DD/YYYY, DD.MM.YYYY, D MMM YYYY",
                )
            })
    }

    /// The format's pattern in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::YearMonthDay => "YYYY-MM-DD",
            Self::DayMonthYearSlashed => "DD/MM/YYYY",
            Self::MonthDayYearSlashed => "MM/DD/YYYY",
            Self::DayMonthYearDotted => "DD.MM.YYYY",
            Self::DayMonthNameYear => "D MMM YYYY",
        }
    }

    /// The `chrono` format string that writes a date this way (English month
    /// abbreviations for `D MMM YYYY`).
    pub fn chrono_pattern(self) -> &'static str {
        match self {
            Self::YearMonthDay => "%Y-%m-%d",
            Self::DayMonthYearSlashed => "%d/%m/%Y",
            Self::MonthDayYearSlashed => "%m/%d/%Y",
            Self::DayMonthYearDotted => "%d.%m.%Y",
            Self::DayMonthNameYear => "%-d %b %Y",
        }
    }
}

/// A pattern of this module's, compiled: a bad one is a bug, caught by the
/// first test that reads a value of its type.
pub(crate) fn compiled(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the settings patterns compile")
}

/// A color written `#RRGGBB`, exactly seven characters; either case comes in,
/// upper case is kept (`#1a2b3c` is stored as `#1A2B3C`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HexColor(String);

impl HexColor {
    /// [`HexColor::parse`]'s rule, as the API documents it.
    pub const PATTERN: &'static str = "^#[0-9A-Fa-f]{6}$";
}

impl HexColor {
    /// Reads `#RRGGBB` in either case.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw.strip_prefix('#') {
            Some(hex) if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Ok(Self(raw.to_ascii_uppercase()))
            }
            _ => Err(InvalidValue::new(
                "must be a color written #RRGGBB in hexadecimal, such as #1A2B3C",
            )),
        }
    }

    /// The color as `#RRGGBB`, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An absolute `https` URL, at most [`HttpsUrl::MAX_LEN`] bytes as sent, for logos and
/// favicons that browsers load, of the plain ASCII shape [`HttpsUrl::PATTERN`]
/// states: `https://`, a host name (dot-separated labels of letters, digits
/// and inner hyphens, the last starting with a letter: no IP address, no
/// `xn--` label), an optional port (1 to 65535), then an optional path, query
/// and fragment of URL characters and `%XX` escapes. No user information
/// (`name:password@`). Kept as sent. Tenancy never fetches it, so any host
/// goes: there is no request to forge.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpsUrl(String);

impl HttpsUrl {
    /// Longest URL accepted, in bytes, as sent and as kept.
    pub const MAX_LEN: usize = 2048;

    /// The shape [`HttpsUrl::parse`] takes, as the API documents it.
    pub const PATTERN: &'static str = concat!(
        "^https://(?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\\.)*[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*",
        "(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
        "(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*)?",
        "(?:\\?(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?",
        "(?:#(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?$",
    );

    /// Reads an absolute https URL and keeps its standard serialization.
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        static SHAPE: LazyLock<Regex> = LazyLock::new(|| compiled(HttpsUrl::PATTERN));
        if raw.len() > Self::MAX_LEN {
            return Err(Self::too_long());
        }
        // The URL parser would quietly drop tabs and line breaks and trim
        // spaces; a value that needs that is a mistake worth reporting.
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(InvalidValue::new(
                "must not contain spaces or control characters (percent-encode them)",
            ));
        }
        let url = url::Url::parse(raw).map_err(|_| {
            InvalidValue::new("must be an absolute https URL such as https://example.com/logo.png")
        })?;
        if url.scheme() != "https" {
            return Err(InvalidValue::new(format!(
                "must be an https URL (got {}:)",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InvalidValue::new(
                "must not carry a user name or password before the host",
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(InvalidValue::new("must name a host"));
        }
        if !SHAPE.is_match(raw) {
            return Err(InvalidValue::new(
                "must be https:// and a host name (letters, digits, hyphens; no IP address), \
                 an optional port, then a path, query and fragment of URL characters and \
                 %XX escapes",
            ));
        }
        // Kept as sent: its shape is the pattern's, which the URL standard
        // reads as it is (a serialization would add a `/` or percent-encode a
        // `'`, and no longer hold the pattern or the limit).
        Ok(Self(raw.to_owned()))
    }

    fn too_long() -> InvalidValue {
        InvalidValue::new(format!("must be at most {} bytes long", Self::MAX_LEN))
    }

    /// The URL as kept.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! text_value {
    ($($ty:ty),* $(,)?) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl SettingValue for $ty {
            fn from_json(value: &Value) -> Result<Self, InvalidValue> {
                Self::parse(string(value)?)
            }

            fn to_json(&self) -> Value {
                Value::from(self.as_str())
            }
        }
    )*};
}

text_value!(
    LanguageTag,
    TimeZone,
    Currency,
    DateFormat,
    HexColor,
    HttpsUrl
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags_are_kept_in_canonical_case() {
        for (raw, kept) in [
            ("en", "en"),
            ("EN-us", "en-US"),
            ("zh-hant-tw", "zh-Hant-TW"),
            ("es-419", "es-419"),
            ("sr-latn-rs", "sr-Latn-RS"),
            ("yue-HK", "yue-HK"),
        ] {
            assert_eq!(LanguageTag::parse(raw).unwrap().as_str(), kept, "{raw}");
        }
        for bad in [
            "",
            "e",
            "englishes",
            "e1-US",
            "en-US-US",
            "en_US",
            "en-",
            "-en",
            "en--US",
            "en-US-x",
            "fr-é",
            // Well-formed, but not the shape of a default language.
            "de-CH-1996",
            "i-klingon",
            "x-private",
            "zh-yue-HK",
            " en",
            &format!("en-{}", ["abcdefgh"; 7].join("-")),
        ] {
            assert!(LanguageTag::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn time_zones_are_the_databases_names_exactly() {
        for name in ["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires"] {
            assert_eq!(TimeZone::parse(name).unwrap().as_str(), name);
        }
        for bad in ["europe/berlin", "Europe/Springfield", "", "CEST", "+01:00"] {
            assert!(TimeZone::parse(bad).is_err(), "{bad:?}");
        }
        assert!(TimeZone::names().all(|name| TimeZone::parse(name).is_ok()));
        assert_eq!(TimeZone::DATABASE_VERSION.len(), 5);
    }

    #[test]
    fn currencies_are_active_upper_case_codes() {
        assert!(
            CURRENCIES.windows(2).all(|w| w[0] < w[1]),
            "the table is sorted"
        );
        assert!(
            CURRENCIES
                .iter()
                .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        );
        assert_eq!(Currency::parse("EUR").unwrap().as_str(), "EUR");
        assert_eq!(Currency::parse("XCG").unwrap().as_str(), "XCG");
        let lower = Currency::parse("eur").unwrap_err().to_string();
        assert!(lower.contains("upper case: EUR"), "{lower}");
        for bad in ["", "EU", "EURO", "HRK", "ANG", "XXX", "XTS", "ABC", "€"] {
            assert!(Currency::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn date_formats_are_the_fixed_set() {
        for format in DateFormat::ALL {
            assert_eq!(DateFormat::parse(format.as_str()), Ok(format));
        }
        for bad in ["yyyy-mm-dd", "YYYY/MM/DD", "", "D MMM YYYY "] {
            assert!(DateFormat::parse(bad).is_err(), "{bad:?}");
        }
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
        let written: Vec<String> = DateFormat::ALL
            .iter()
            .map(|f| date.format(f.chrono_pattern()).to_string())
            .collect();
        assert_eq!(
            written,
            [
                "2026-12-07",
                "07/12/2026",
                "12/07/2026",
                "07.12.2026",
                "7 Dec 2026"
            ]
        );
    }

    #[test]
    fn colors_are_six_hex_digits_kept_upper_case() {
        assert_eq!(HexColor::parse("#1a2B3c").unwrap().as_str(), "#1A2B3C");
        for bad in [
            "1A2B3C", "#1A2B3", "#1A2B3C4", "#GGGGGG", "#1A2B3C ", "#fff", "",
        ] {
            assert!(HexColor::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls_are_absolute_https_with_a_host_and_no_user() {
        for kept in [
            "https://CDN.Example.com/logo.png?v=2",
            "https://example.com",
        ] {
            assert_eq!(HttpsUrl::parse(kept).unwrap().as_str(), kept);
        }
        let long = format!("https://example.com/{}", "a".repeat(2048));
        for bad in [
            "http://example.com/logo.png",
            "ftp://example.com/logo.png",
            "//example.com/logo.png",
            "/logo.png",
            "https://user:pw@example.com/logo.png",
            "https://user@example.com/logo.png",
            "https://",
            "https://exa mple.com/",
            "https://example.com/\tlogo.png",
            "data:image/png;base64,AAAA",
            long.as_str(),
        ] {
            assert!(HttpsUrl::parse(bad).is_err(), "{bad:?}");
        }
        // Characters the URL standard would percent-encode are not taken.
        let braces = format!("https://example.com/{}", "{".repeat(20));
        assert!(HttpsUrl::parse(&braces).is_err());
    }

    /// Text near each type's alphabet and any text at all: whatever a type
    /// accepts, its kept spelling parses back to the same value (what a
    /// store relies on), and nothing panics.
    fn near(pattern: &'static str) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        prop_oneof![pattern, any::<String>()]
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 256,
            failure_persistence: None,
            ..proptest::test_runner::Config::default()
        })]

        #[test]
        fn whatever_parses_parses_back_to_itself(
            tag in near("[a-zA-Z]{1,9}(-[a-zA-Z0-9]{1,9}){0,4}"),
            color in near("#?[0-9a-fA-FgG]{5,7}"),
            url in near("(https?|ftp)://([a-z]{1,5}@)?[a-zA-Z0-9.{}%-]{0,12}(/[a-zA-Z0-9 ./?#%{}-]{0,20})?"),
        ) {
            if let Ok(parsed) = LanguageTag::parse(&tag) {
                proptest::prop_assert_eq!(LanguageTag::parse(parsed.as_str()), Ok(parsed));
            }
            if let Ok(parsed) = HexColor::parse(&color) {
                proptest::prop_assert_eq!(HexColor::parse(parsed.as_str()), Ok(parsed));
            }
            if let Ok(parsed) = HttpsUrl::parse(&url) {
                proptest::prop_assert_eq!(HttpsUrl::parse(parsed.as_str()), Ok(parsed));
            }
        }
    }

    #[test]
    fn a_parsed_value_parses_back_to_itself() {
        let language = LanguageTag::parse("zh-hant-tw").unwrap();
        assert_eq!(LanguageTag::parse(language.as_str()).unwrap(), language);
        let url = HttpsUrl::parse("https://example.com/a b".replace(' ', "%20").as_str()).unwrap();
        assert_eq!(HttpsUrl::parse(url.as_str()).unwrap(), url);
        let color = HexColor::parse("#abcdef").unwrap();
        assert_eq!(HexColor::parse(&color.to_string()).unwrap(), color);
    }
}

//! Custom domains' rules (SPEC §5), with fixed times: which names, prefixes
//! and tokens are valid, and how each DNS answer moves a domain between
//! pending, verified and failed, with the exact backoff and the 7-day edge.

use chrono::{DateTime, Duration, Utc};
use domain::TenantKey;
use domain::custom_domain::{
    ChallengePrefix, CheckReason, CustomDomain, DomainName, DomainStatus, MAX_RETRY,
    VERIFICATION_WINDOW, VerificationToken, retry_delay,
};
use domain::ports::DnsFailure;

const TOKEN_BYTES: [u8; 16] = [
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
];
const TOKEN: &str = "tenancy-verify=00112233445566778899aabbccddeeff";

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 0).expect("2026-01-01")
}

fn domain() -> CustomDomain {
    CustomDomain::new(
        DomainName::parse("login.acme.example").expect("valid"),
        VerificationToken::from_bytes(&TOKEN_BYTES),
        t0(),
    )
}

fn found() -> Result<Vec<String>, DnsFailure> {
    Ok(vec!["v=spf1 -all".to_owned(), TOKEN.to_owned()])
}

fn missing() -> Result<Vec<String>, DnsFailure> {
    Ok(vec![])
}

#[test]
fn host_names_are_lower_cased_and_lose_their_trailing_dot() {
    for (raw, stored) in [
        ("example.com", "example.com"),
        ("Login.ACME.example.", "login.acme.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a1-b2.c3", "a1-b2.c3"),
        ("123.example", "123.example"),
    ] {
        let name = DomainName::parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!(name.as_str(), stored);
        assert_eq!(name.to_string(), stored);
    }
}

#[test]
fn host_names_may_be_253_characters_with_63_character_labels() {
    let label = "a".repeat(63);
    let longest = format!("{label}.{label}.{label}.{}", "b".repeat(61));
    assert_eq!(longest.len(), 253);
    assert!(DomainName::parse(&longest).is_ok());
    assert!(DomainName::parse(&format!("{longest}.")).is_ok());
    assert!(DomainName::parse(&format!("c{longest}")).is_err(), "254");
    assert!(
        DomainName::parse(&format!("{label}a.example")).is_err(),
        "64"
    );
}

#[test]
fn what_is_not_a_host_name_is_refused() {
    for raw in [
        "",
        ".",
        "localhost",
        "localhost.",
        "example..com",
        ".example.com",
        "example.com..",
        "-acme.example",
        "acme-.example",
        "ac_me.example",
        "acme .example",
        "exämple.com",
        "192.0.2.1",
        "192.0.2.1.",
        "[2001:db8::1]",
        "2001:db8::1",
        "*.example.com",
        "login.*.example",
    ] {
        assert!(DomainName::parse(raw).is_err(), "{raw:?} accepted");
    }
}

#[test]
fn the_challenge_name_is_the_prefix_before_the_domain() {
    let name = DomainName::parse("acme.example").expect("valid");
    let challenge = name
        .challenge_name(&ChallengePrefix::default())
        .expect("short enough");
    assert_eq!(challenge.as_str(), "_tenancy-challenge.acme.example");
    let custom = ChallengePrefix::parse("_Verify").expect("valid");
    assert_eq!(
        name.challenge_name(&custom).expect("short").as_str(),
        "_verify.acme.example"
    );
    assert_eq!(challenge.labels().count(), 3);
}

#[test]
fn a_challenge_name_longer_than_dns_allows_is_refused() {
    let label = "a".repeat(63);
    let name = DomainName::parse(&format!("{label}.{label}.{label}.{}", "b".repeat(50)))
        .expect("242 characters");
    assert!(name.challenge_name(&ChallengePrefix::default()).is_err());
}

#[test]
fn the_cname_target_is_the_tenant_key_under_the_base_domain() {
    let base = DomainName::parse("tenancy.example").expect("valid");
    let key = TenantKey::parse("acme").expect("valid");
    assert_eq!(
        base.subdomain(&key).expect("short").as_str(),
        "acme.tenancy.example"
    );
}

#[test]
fn challenge_prefixes_are_single_labels_that_may_hold_underscores() {
    assert_eq!(ChallengePrefix::default().as_str(), "_tenancy-challenge");
    assert_eq!(ChallengePrefix::DEFAULT, "_tenancy-challenge");
    assert!(ChallengePrefix::parse("_tenancy-challenge").is_ok());
    assert_eq!(
        ChallengePrefix::parse("_ACME_check")
            .expect("valid")
            .as_str(),
        "_acme_check"
    );
    for raw in ["", "a.b", "_a.", "-a", "a-", "a b", "é", &"a".repeat(64)] {
        assert!(ChallengePrefix::parse(raw).is_err(), "{raw:?} accepted");
    }
}

#[test]
fn a_token_is_the_prefix_and_32_lowercase_hex_digits() {
    let token = VerificationToken::from_bytes(&TOKEN_BYTES);
    assert_eq!(token.as_str(), TOKEN);
    assert_eq!(VerificationToken::parse(TOKEN), Ok(token.clone()));
    assert_eq!(token.to_string(), TOKEN);
    for raw in [
        "",
        "00112233445566778899aabbccddeeff",
        "tenancy-verify=00112233445566778899AABBCCDDEEFF",
        "tenancy-verify=00112233445566778899aabbccddeef",
        "tenancy-verify=00112233445566778899aabbccddeeff0",
        "tenancy-verify=00112233445566778899aabbccddeefg",
        "Tenancy-verify=00112233445566778899aabbccddeeff",
    ] {
        assert!(VerificationToken::parse(raw).is_err(), "{raw:?} accepted");
    }
}

#[test]
fn a_token_matches_its_own_text_only() {
    let token = VerificationToken::from_bytes(&TOKEN_BYTES);
    assert!(token.matches(TOKEN));
    assert!(token.matches(&format!(" {TOKEN}\n")));
    assert!(!token.matches(&format!("{TOKEN} extra")));
    assert!(!token.matches(&TOKEN.to_uppercase()));
    assert!(!token.matches(""));
}

#[test]
fn statuses_and_reasons_have_stable_names() {
    let statuses: Vec<&str> = DomainStatus::ALL.iter().map(DomainStatus::as_str).collect();
    assert_eq!(statuses, ["pending", "verified", "failed"]);
    for status in DomainStatus::ALL {
        assert_eq!(DomainStatus::parse(status.as_str()), Ok(status));
        assert_eq!(status.to_string(), status.as_str());
    }
    let reasons: Vec<&str> = CheckReason::ALL.iter().map(CheckReason::as_str).collect();
    assert_eq!(
        reasons,
        [
            "no_record",
            "wrong_value",
            "nxdomain",
            "servfail",
            "timeout"
        ]
    );
    for reason in CheckReason::ALL {
        assert_eq!(CheckReason::parse(reason.as_str()), Ok(reason));
        assert_eq!(reason.to_string(), reason.as_str());
    }
    assert!(DomainStatus::parse("Pending").is_err());
    assert!(CheckReason::parse("NXDOMAIN").is_err());
}

#[test]
fn a_new_domain_is_pending_and_due_at_once() {
    let new = domain();
    assert_eq!(new.status, DomainStatus::Pending);
    assert_eq!(new.started_at, t0());
    assert_eq!(new.next_check_at, Some(t0()));
    assert_eq!(new.checks, 0);
    assert_eq!(new.deadline(), t0() + Duration::days(7));
    assert!(new.is_due(t0()));
    assert!(!new.is_due(t0() - Duration::seconds(1)));
}

#[test]
fn the_token_among_the_records_verifies_the_domain() {
    let now = t0() + Duration::minutes(3);
    let (verified, changed) = domain().after_check(&found(), now);
    assert_eq!(changed, Some(DomainStatus::Verified));
    assert_eq!(verified.status, DomainStatus::Verified);
    assert_eq!(verified.verified_at, Some(now));
    assert_eq!(verified.last_checked_at, Some(now));
    assert_eq!(verified.last_reason, None);
    assert_eq!(verified.next_check_at, None);
    assert_eq!(verified.checks, 1);
    assert!(!verified.is_due(now + Duration::days(30)));
}

#[test]
fn each_miss_keeps_the_domain_pending_with_its_reason() {
    let cases = [
        (Ok(vec![]), CheckReason::NoRecord),
        (
            Ok(vec!["tenancy-verify=0".to_owned()]),
            CheckReason::WrongValue,
        ),
        (Err(DnsFailure::NxDomain), CheckReason::NxDomain),
        (Err(DnsFailure::ServFail), CheckReason::ServFail),
        (Err(DnsFailure::Timeout), CheckReason::Timeout),
    ];
    for (answer, reason) in cases {
        let (after, changed) = domain().after_check(&answer, t0());
        assert_eq!(changed, None, "{reason}");
        assert_eq!(after.status, DomainStatus::Pending);
        assert_eq!(after.last_reason, Some(reason));
        assert_eq!(after.last_checked_at, Some(t0()));
        assert_eq!(after.next_check_at, Some(t0() + Duration::minutes(1)));
        assert_eq!(after.verified_at, None);
    }
}

#[test]
fn the_backoff_doubles_from_one_minute_up_to_an_hour() {
    let minutes: Vec<i64> = (0..10).map(|n| retry_delay(n).num_minutes()).collect();
    assert_eq!(minutes, [0, 1, 2, 4, 8, 16, 32, 60, 60, 60]);
    assert_eq!(retry_delay(u32::MAX), MAX_RETRY);

    // The same sequence, as the background job sees it checking when due.
    let mut pending = domain();
    let mut gaps = Vec::new();
    for _ in 0..9 {
        let now = pending.next_check_at.expect("pending");
        pending = pending.after_check(&missing(), now).0;
        gaps.push((pending.next_check_at.expect("pending") - now).num_minutes());
    }
    assert_eq!(gaps, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    assert_eq!(pending.checks, 9);
}

#[test]
fn a_miss_just_before_seven_days_keeps_it_pending_until_the_deadline() {
    let before = t0() + VERIFICATION_WINDOW - Duration::seconds(1);
    let (after, changed) = domain().after_check(&missing(), before);
    assert_eq!(changed, None);
    assert_eq!(after.status, DomainStatus::Pending);
    // The backoff would say a minute later; the deadline comes first.
    assert_eq!(after.next_check_at, Some(t0() + VERIFICATION_WINDOW));
}

#[test]
fn a_miss_at_seven_days_fails_the_domain() {
    let deadline = t0() + Duration::days(7);
    let (failed, changed) = domain().after_check(&Err(DnsFailure::NxDomain), deadline);
    assert_eq!(changed, Some(DomainStatus::Failed));
    assert_eq!(failed.status, DomainStatus::Failed);
    assert_eq!(failed.last_reason, Some(CheckReason::NxDomain));
    assert_eq!(failed.next_check_at, None);
    assert!(!failed.is_due(deadline + Duration::days(1)));
}

#[test]
fn the_token_found_at_seven_days_still_verifies() {
    let (verified, changed) = domain().after_check(&found(), t0() + Duration::days(7));
    assert_eq!(changed, Some(DomainStatus::Verified));
    assert_eq!(verified.status, DomainStatus::Verified);
}

#[test]
fn checked_when_due_a_domain_never_verified_fails_exactly_at_seven_days() {
    let mut pending = domain();
    let mut changes = Vec::new();
    while let Some(now) = pending.next_check_at {
        let (after, changed) = pending.after_check(&missing(), now);
        changes.extend(changed);
        pending = after;
    }
    assert_eq!(changes, [DomainStatus::Failed]);
    assert_eq!(pending.last_checked_at, Some(t0() + VERIFICATION_WINDOW));
    // 1 + 6 doubling checks in the first 63 minutes, then hourly up to the
    // last full hour before the deadline, then the deadline itself.
    assert_eq!(pending.checks, 7 + 166 + 1);
}

#[test]
fn a_verified_domain_stays_verified_when_its_record_is_gone() {
    let (verified, _) = domain().after_check(&found(), t0());
    let later = t0() + Duration::days(9);
    let (after, changed) = verified.after_check(&Err(DnsFailure::NxDomain), later);
    assert_eq!(changed, None);
    assert_eq!(after.status, DomainStatus::Verified);
    assert_eq!(after.verified_at, Some(t0()));
    assert_eq!(after.last_checked_at, Some(later));
    assert_eq!(after.last_reason, Some(CheckReason::NxDomain));
    assert_eq!(after.next_check_at, None);
}

#[test]
fn a_failed_domain_waits_for_re_verification() {
    let (failed, _) = domain().after_check(&missing(), t0() + Duration::days(8));
    assert_eq!(failed.status, DomainStatus::Failed);
    let (after, changed) = failed.after_check(&found(), t0() + Duration::days(9));
    assert_eq!(changed, None);
    assert_eq!(after.status, DomainStatus::Failed);
}

#[test]
fn re_verification_restarts_the_window_and_the_backoff() {
    let (failed, _) = domain().after_check(&missing(), t0() + Duration::days(8));
    let now = t0() + Duration::days(10);
    let restarted = failed.restarted(now);
    assert_eq!(restarted.status, DomainStatus::Pending);
    assert_eq!(restarted.token, failed.token);
    assert_eq!(restarted.started_at, now);
    assert_eq!(restarted.deadline(), now + Duration::days(7));
    assert_eq!(restarted.next_check_at, Some(now));
    assert_eq!(restarted.checks, 0);
    assert_eq!(restarted.last_reason, None);

    let (after, changed) = restarted.after_check(&missing(), now);
    assert_eq!(changed, None);
    assert_eq!(after.next_check_at, Some(now + Duration::minutes(1)));
    let (verified, changed) = after.after_check(&found(), now + Duration::minutes(1));
    assert_eq!(changed, Some(DomainStatus::Verified));
    assert_eq!(verified.verified_at, Some(now + Duration::minutes(1)));
}

#[test]
fn a_host_names_a_tenant_by_its_subdomain_under_the_base_domain_only() {
    let base = DomainName::parse("tenancy.example").unwrap();
    for host in [
        "acme.tenancy.example",
        "ACME.Tenancy.Example",
        "acme.tenancy.example:8443",
        "acme.tenancy.example.",
    ] {
        assert_eq!(
            base.tenant_key_of_host(host).map(|k| k.to_string()),
            Some("acme".to_owned()),
            "{host}"
        );
    }
    for host in [
        "tenancy.example",
        "deep.acme.tenancy.example",
        "acme.other.example",
        "acmetenancy.example",
        "www.tenancy.example",
        "127.0.0.1:8080",
        "",
    ] {
        assert_eq!(base.tenant_key_of_host(host), None, "{host}");
    }
}

//! The chain's definition, pinned by exact texts and hashes, and verification.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::*;
use crate::audit::{Actor, ActorKind, AuditAction, Change, TargetKind};
use crate::ids::{AuditId, OrgId, TenantId};
use crate::values::Reason;

fn at(micros: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_micros(micros).expect("a time")
}

fn clear_record() -> AuditRecord {
    AuditRecord {
        id: AuditId::from_uuid(Uuid::from_u128(0x0A)),
        // Nanoseconds beyond the sixth digit are cut, as PostgreSQL stores them.
        at: at(1_800_000_000_123_456) + chrono::Duration::nanoseconds(789),
        actor: Actor {
            kind: ActorKind::OrgKey,
            id: "key-1".into(),
        },
        action: AuditAction::TenantUpdated,
        target_kind: TargetKind::Tenant,
        target_id: Uuid::from_u128(0x0B),
        org_id: OrgId::from_uuid(Uuid::from_u128(0x01)),
        tenant_id: None,
        request_id: None,
        details: AuditDetails::Clear {
            reason: Some(Reason::parse("said \"bye\"\tthen é").expect("a reason")),
            changes: vec![
                Change {
                    field: "name",
                    from: Some("A\u{1}\\".into()),
                    to: None,
                },
                Change {
                    field: "plan",
                    from: None,
                    to: Some("pro".into()),
                },
            ],
        },
    }
}

fn sealed_record() -> AuditRecord {
    AuditRecord {
        id: AuditId::from_uuid(Uuid::from_u128(0x0C)),
        at: at(1_800_000_001_000_000),
        actor: Actor::platform_admin(),
        action: AuditAction::TenantSuspended,
        target_kind: TargetKind::Tenant,
        target_id: Uuid::from_u128(0x0D),
        org_id: OrgId::from_uuid(Uuid::from_u128(0x01)),
        tenant_id: Some(TenantId::from_uuid(Uuid::from_u128(0x0D))),
        request_id: Some("req-9".into()),
        details: AuditDetails::Sealed(vec![0x00, 0xAB, 0xFF]),
    }
}

#[test]
fn the_canonical_event_is_the_exact_rfc_8785_text() {
    let clear = String::from_utf8(canonical_event(&clear_record(), 1).unwrap()).unwrap();
    assert_eq!(
        clear,
        concat!(
            r#"{"action":"tenant.updated","actor":{"id":"key-1","kind":"org_key"},"#,
            r#""at":"2027-01-15T08:00:00.123456Z","#,
            r#""details":{"changes":[{"field":"name","from":"A\u0001\\","to":null},"#,
            r#"{"field":"plan","from":null,"to":"pro"}],"reason":"said \"bye\"\tthen é"},"#,
            r#""id":"00000000-0000-0000-0000-00000000000a","#,
            r#""orgId":"00000000-0000-0000-0000-000000000001","requestId":null,"seq":1,"#,
            r#""target":{"id":"00000000-0000-0000-0000-00000000000b","type":"tenant"},"#,
            r#""tenantId":null}"#
        )
    );
    let sealed = String::from_utf8(canonical_event(&sealed_record(), 42).unwrap()).unwrap();
    assert_eq!(
        sealed,
        concat!(
            r#"{"action":"tenant.suspended","actor":{"id":"admin","kind":"platform_admin"},"#,
            r#""at":"2027-01-15T08:00:01.000000Z","details":{"sealed":"00abff"},"#,
            r#""id":"00000000-0000-0000-0000-00000000000c","#,
            r#""orgId":"00000000-0000-0000-0000-000000000001","requestId":"req-9","seq":42,"#,
            r#""target":{"id":"00000000-0000-0000-0000-00000000000d","type":"tenant"},"#,
            r#""tenantId":"00000000-0000-0000-0000-00000000000d"}"#
        )
    );
    let shredded = AuditRecord {
        details: AuditDetails::Shredded,
        ..sealed_record()
    };
    assert_eq!(canonical_event(&shredded, 1), None);
}

#[test]
fn links_hash_the_previous_hash_then_the_canonical_event() {
    // Computed independently: sha256(bytes(32 zeros) + canonical text), then
    // sha256(that + the second text) (Python's hashlib).
    let first = ChainHead::GENESIS.next(&clear_record()).unwrap();
    assert_eq!(first.seq, 1);
    assert_eq!(first.hash.to_hex(), FIRST_HASH);
    let second = first.next(&sealed_record()).unwrap();
    assert_eq!(second.seq, 2);
    assert_eq!(second.hash.to_hex(), SECOND_HASH);
}

const FIRST_HASH: &str = "197dd257587da51326646a715f96b461437abfd0eb9ebe99f06b132a2bbe47bc";
const SECOND_HASH: &str = "013607b8f48d9df3fb867346d7204c232301610d3ccc5e0d342499bd48c9b219";

fn chain(records: &[AuditRecord]) -> Vec<AuditLink> {
    let mut head = ChainHead::GENESIS;
    records
        .iter()
        .map(|record| {
            head = head.next(record).unwrap();
            AuditLink {
                seq: head.seq,
                hash: head.hash,
                record: record.clone(),
            }
        })
        .collect()
}

fn five() -> Vec<AuditLink> {
    let records: Vec<AuditRecord> = (0..5u128)
        .map(|n| AuditRecord {
            id: AuditId::from_uuid(Uuid::from_u128(0x100 + n)),
            ..if n % 2 == 0 {
                clear_record()
            } else {
                sealed_record()
            }
        })
        .collect();
    chain(&records)
}

#[test]
fn an_untouched_chain_verifies_and_reports_its_head() {
    let links = five();
    let report = verify(&links, None);
    assert_eq!(
        report,
        ChainReport {
            intact: true,
            checked: 5,
            head: ChainHead {
                seq: 5,
                hash: links[4].hash
            },
            first_broken_seq: None,
            truncated: false,
        }
    );
    let empty = verify(&[], None);
    assert!(empty.intact);
    assert_eq!(empty.head, ChainHead::GENESIS);
    assert_eq!(empty.checked, 0);
}

#[test]
fn any_edit_of_a_record_names_its_seq() {
    let edits: Vec<fn(&mut AuditRecord)> = vec![
        |r| r.at += chrono::Duration::microseconds(1),
        |r| r.actor.id.push('x'),
        |r| r.action = AuditAction::TenantDeleted,
        |r| r.target_id = Uuid::from_u128(99),
        |r| r.request_id = Some("other".into()),
        |r| r.tenant_id = Some(TenantId::from_uuid(Uuid::from_u128(5))),
        |r| match &mut r.details {
            AuditDetails::Sealed(bytes) => bytes[0] ^= 1,
            AuditDetails::Clear { changes, .. } => changes[0].to = Some("y".into()),
            AuditDetails::Shredded => unreachable!(),
        },
    ];
    for (n, edit) in edits.into_iter().enumerate() {
        for seq in 1..=5u64 {
            let mut links = five();
            edit(&mut links[usize::try_from(seq).unwrap() - 1].record);
            let report = verify(&links, None);
            assert_eq!(report.first_broken_seq, Some(seq), "edit {n} at {seq}");
            assert!(!report.intact);
            assert_eq!(report.checked, 5, "the rest is still read");
        }
    }
    // A stored hash rewritten is caught too, at its seq.
    let mut links = five();
    links[2].hash = ChainHash::from_bytes([7; 32]);
    assert_eq!(verify(&links, None).first_broken_seq, Some(3));
}

#[test]
fn a_removed_or_reordered_record_names_the_first_seq_missing() {
    let mut links = five();
    links.remove(1);
    assert_eq!(verify(&links, None).first_broken_seq, Some(2));
    let mut links = five();
    links.swap(2, 3);
    assert_eq!(verify(&links, None).first_broken_seq, Some(3));
}

#[test]
fn a_truncated_tail_is_caught_only_against_a_checkpoint() {
    let links = five();
    let checkpoint = ChainHead {
        seq: 4,
        hash: links[3].hash,
    };
    let cut = &links[..3];
    assert!(verify(cut, None).intact, "a shorter chain is a valid chain");
    let report = verify(cut, Some(checkpoint));
    assert!(report.truncated);
    assert!(!report.intact);
    assert_eq!(report.first_broken_seq, None);

    // Later appends keep an old checkpoint valid.
    let report = verify(&links, Some(checkpoint));
    assert!(report.intact && !report.truncated);
    // A checkpoint whose hash is not the chain's at its seq: a rewritten
    // chain (or a forged checkpoint).
    let other = ChainHead {
        seq: 4,
        hash: links[2].hash,
    };
    assert!(verify(&links, Some(other)).truncated);
    assert!(verify(&links, Some(ChainHead::GENESIS)).intact);
    let bad_genesis = ChainHead {
        seq: 0,
        hash: links[0].hash,
    };
    assert!(verify(&links, Some(bad_genesis)).truncated);
}

#[test]
fn hashes_read_back_from_hex_only() {
    let hash = five()[0].hash;
    assert_eq!(ChainHash::parse_hex(&hash.to_hex()), Some(hash));
    assert_eq!(
        ChainHash::parse_hex(&hash.to_hex().to_uppercase()),
        Some(hash)
    );
    for bad in ["", "00", &"g".repeat(64), &"0".repeat(63), &"0".repeat(65)] {
        assert_eq!(ChainHash::parse_hex(bad), None, "{bad}");
    }
    assert_eq!(ChainHash::parse_hex(&"+0".repeat(32)), None);
}

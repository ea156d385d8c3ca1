//! Sealing, opening and the byte form of audit details.

use super::*;

/// Counting "randomness": distinct nonces and keys, reproducible.
struct Counter(Mutex<u8>);

impl SecretSource for Counter {
    fn fill(&self, buf: &mut [u8]) {
        let mut n = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for b in buf {
            *n = n.wrapping_add(1);
            *b = *n;
        }
    }
}

fn record(tenant: Option<u128>) -> AuditRecord {
    AuditRecord {
        id: AuditId::from_uuid(Uuid::from_u128(7)),
        at: DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("a time"),
        actor: Actor::platform_admin(),
        action: AuditAction::TenantUpdated,
        target_kind: TargetKind::Tenant,
        target_id: Uuid::from_u128(2),
        org_id: OrgId::from_uuid(Uuid::from_u128(1)),
        tenant_id: tenant.map(|t| TenantId::from_uuid(Uuid::from_u128(t))),
        request_id: Some("req-1".into()),
        details: AuditDetails::Clear {
            reason: Some(Reason::parse("Ada Lovelace asked to leave").expect("a reason")),
            changes: vec![
                Change {
                    field: "name",
                    from: Some("Acme of Ada".into()),
                    to: Some("Acme".into()),
                },
                Change {
                    field: "owner",
                    from: None,
                    to: Some(String::new()),
                },
            ],
        },
    }
}

#[test]
fn details_survive_their_byte_form_exactly_and_refuse_anything_else() {
    let AuditDetails::Clear { reason, changes } = record(Some(3)).details else {
        panic!("clear details");
    };
    let bytes = encode_details(reason.as_ref(), &changes);
    assert_eq!(
        decode_details(&bytes),
        Some(AuditDetails::Clear {
            reason: reason.clone(),
            changes: changes.clone()
        })
    );
    let empty = encode_details(None, &[]);
    assert_eq!(
        decode_details(&empty),
        Some(AuditDetails::changes_only(Vec::new()))
    );
    for cut in 0..bytes.len() {
        assert_eq!(decode_details(&bytes[..cut]), None, "cut {cut}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(decode_details(&longer), None);
    let mut other = bytes;
    other[0] = 2;
    assert_eq!(decode_details(&other), None);
}

#[test]
fn a_tenant_records_details_are_sealed_and_open_with_its_key_only() {
    let nonces = Counter(Mutex::new(0));
    let key = DataKey::generate(&nonces);
    let other_key = DataKey::generate(&nonces);
    let clear = record(Some(3));
    let mut sealed = clear.clone();
    sealed.seal(&key, &nonces);
    let AuditDetails::Sealed(bytes) = &sealed.details else {
        panic!("not sealed: {:?}", sealed.details);
    };
    let text = String::from_utf8_lossy(bytes);
    for personal in ["Ada", "Acme", "owner"] {
        assert!(!text.contains(personal), "{personal} in the sealed bytes");
    }
    assert_eq!(
        AuditRecord {
            details: clear.details.clone(),
            ..sealed.clone()
        },
        clear,
        "sealing changed more than the details"
    );
    // Sealing twice changes nothing.
    let mut twice = sealed.clone();
    twice.seal(&key, &nonces);
    assert_eq!(twice, sealed);

    let mut opened = sealed.clone();
    opened.open(Some(&key)).expect("opens with its key");
    assert_eq!(opened, clear);

    let mut wrong = sealed.clone();
    assert_eq!(
        wrong.open(Some(&other_key)),
        Err(UndecryptableDetails(clear.id))
    );
    // Moved onto another record, or another tenant's: refused.
    for mut moved in [
        AuditRecord {
            id: AuditId::from_uuid(Uuid::from_u128(8)),
            ..sealed.clone()
        },
        AuditRecord {
            tenant_id: Some(TenantId::from_uuid(Uuid::from_u128(4))),
            ..sealed.clone()
        },
    ] {
        assert!(moved.open(Some(&key)).is_err());
    }

    let mut shredded = sealed;
    shredded.open(None).expect("no key is no error");
    assert_eq!(shredded.details, AuditDetails::Shredded);
    assert_eq!(shredded.details.reason(), None);
    assert!(shredded.details.changes().is_empty());
}

#[test]
fn org_level_records_stay_clear() {
    let nonces = Counter(Mutex::new(0));
    let key = DataKey::generate(&nonces);
    let clear = record(None);
    let mut kept = clear.clone();
    kept.seal(&key, &nonces);
    assert_eq!(kept, clear);
    kept.open(None).expect("nothing to open");
    assert_eq!(kept, clear);
}

//! `ManualClock` and `SequentialIds`.

use std::sync::Arc;

use adapters_memory::{ManualClock, SequentialIds};
use chrono::{Duration, TimeZone, Utc};
use domain::ports::{Clock, IdGenerator};
use test_support::contract::ids;

#[test]
fn manual_clock_stands_still_until_moved() {
    let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().unwrap();
    let clock = ManualClock::default();
    assert_eq!(clock.now(), start, "starts at 2026-01-01");
    assert_eq!(clock.now(), start, "reading does not move it");

    clock.advance(Duration::days(30));
    assert_eq!(clock.now(), start + Duration::days(30));

    let later = Utc.with_ymd_and_hms(2027, 6, 1, 12, 0, 0).single().unwrap();
    clock.set(later);
    assert_eq!(clock.now(), later);
    assert_eq!(ManualClock::at(later).now(), later);
}

#[test]
fn sequential_ids_grow_with_every_call() {
    ids::ids_grow_with_every_call(&SequentialIds::default());
}

#[test]
fn sequential_ids_minted_concurrently_are_distinct() {
    ids::ids_minted_concurrently_are_distinct(Arc::new(SequentialIds::default()));
}

#[test]
fn sequential_ids_are_shaped_as_uuid_v7() {
    let ids = SequentialIds::default();
    for _ in 0..3 {
        let id = ids.new_id();
        assert_eq!(id.get_version_num(), 7, "{id}");
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122, "{id}");
    }
}

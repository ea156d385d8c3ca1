//! `IdGenerator`: the one MUST every generator keeps, checked on any of them.

use std::collections::BTreeSet;
use std::sync::Arc;

use domain::ports::IdGenerator;

/// Each id is greater than every id minted before it, on one thread.
pub fn ids_grow_with_every_call(ids: &dyn IdGenerator) {
    let minted: Vec<_> = (0..1000).map(|_| ids.new_id()).collect();
    for pair in minted.windows(2) {
        assert!(pair[0] < pair[1], "{} then {}", pair[0], pair[1]);
    }
}

/// Threads minting at once never get the same id.
pub fn ids_minted_concurrently_are_distinct(ids: Arc<dyn IdGenerator>) {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let ids = ids.clone();
            std::thread::spawn(move || (0..500).map(|_| ids.new_id()).collect::<Vec<_>>())
        })
        .collect();
    let mut seen = BTreeSet::new();
    for thread in threads {
        for id in thread.join().expect("minting thread") {
            assert!(seen.insert(id), "{id} was minted twice");
        }
    }
    assert_eq!(seen.len(), 2000);
}

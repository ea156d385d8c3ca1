//! The in-memory adapter's tests: the storage contract every adapter passes,
//! and the deterministic clock and ids it offers to tests and embedders.

mod clock;

mod contract {
    use std::sync::Arc;

    use adapters_memory::MemoryStore;
    use test_support::StorePorts;

    test_support::store_contract!(|| async { StorePorts::all(Arc::new(MemoryStore::new())) });
}

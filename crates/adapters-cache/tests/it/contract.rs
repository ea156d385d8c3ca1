//! The storage contract, unchanged, with the tenant and key ports behind the
//! cache: a decorator must not change what any port promises.

use std::sync::Arc;

use adapters_cache::{CacheLimits, CachedStore};
use adapters_memory::MemoryStore;
use test_support::StorePorts;

/// `tenants` and `keys` through a cache over a fresh memory store; the other
/// ports straight to that store.
fn cached_ports() -> StorePorts {
    let inner = Arc::new(MemoryStore::new());
    let cached = Arc::new(CachedStore::new(
        inner.clone(),
        CacheLimits::default(),
        Arc::new(adapters_memory::ManualClock::default()),
    ));
    StorePorts {
        tenants: cached.clone(),
        keys: cached.clone(),
        // As the server wires it: a security write must reach the cache.
        settings: cached,
        ..StorePorts::all(inner)
    }
}

test_support::store_contract!(|| async { cached_ports() });

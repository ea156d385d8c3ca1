//! The verification cache's tests: the whole storage contract through the
//! cache, then what only a cache does (serving, invalidating, racing, bounds,
//! expiry) and the batched last-used writer.

mod contract;
mod support;
mod usage;
mod verify_cache;

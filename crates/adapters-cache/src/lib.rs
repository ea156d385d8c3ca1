//! Keeping the verification hot path off the store.
//!
//! [`CachedStore`] decorates the tenant and API key stores: it answers
//! `find_key` from a bounded in-process cache (quick_cache) and invalidates entries
//! synchronously inside every write that could change a verdict (revocation,
//! rotation, any tenant update such as suspension or deactivation, a change of
//! a tenant's IP allowlist), so the very
//! next verification after such a write sees it. Other instances learn of
//! changes through [`CachedStore::invalidate_tenant`] / [`CachedStore::invalidate_key`]
//! / [`CachedStore::clear`] (wired to a notification channel by the Postgres
//! adapter); a time-to-live is the backstop.
//!
//! [`UsageBatcher`] takes `last_used_at` writes off the hot path: it remembers the
//! latest use of each key and flushes them to the store in one batch per interval.

mod usage;
mod verify_cache;

pub use usage::UsageBatcher;
pub use verify_cache::{CacheLimits, CachedStore};

//! The library (docs/api.md §4): `/v1/orgs/{org}/library/listings` (publish, grant,
//! read) and, for namespace keys, `/v1/namespace/resources`,
//! `/v1/namespace/library` (try, customize, upgrade) and `/v1/namespace/installs`.
//!
//! Content is any JSON value up to 1 MiB. It is stored as its canonical text
//! (object keys sorted, no insignificant whitespace), so two spellings of the
//! same document are the same version, and answered back exactly as stored.
//!
//! - `paths`: the path extractors and their OpenAPI parameters;
//! - `bodies`: request bodies and their validation into domain values;
//! - `views`: response bodies;
//! - `org`: the publisher's handlers (listings, versions, grants);
//! - `namespace`: a namespace's handlers (resources, granted listings, installs).

mod bodies;
mod namespace;
mod org;
mod paths;
mod views;

// The route table names handlers as `library::publish`; the glob also brings
// utoipa's generated `__path_*` structs that `routes!` needs next to each.
pub(crate) use namespace::*;
pub(crate) use org::*;
pub(crate) use views::{InstallView, ProvenanceView, raw_json};

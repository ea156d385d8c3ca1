//! The one place where driver errors become the ports' [`StoreError`].
//!
//! What crosses: which unique key was taken, that the object changed or went
//! away meanwhile, or an opaque `Unavailable` whose text names the kind of
//! failure, the SQLSTATE and the constraint, never SQL and never a value (a
//! server message may quote a value, so none is passed on).

use domain::ports::{StoreError, Unique};
use sqlx::error::{DatabaseError, ErrorKind};

/// The unique constraints that stand for a domain key, by name (the names are
/// spelled out in `migrations/`).
const UNIQUE_KEYS: &[(&str, Unique)] = &[
    ("orgs_key_unique", Unique::OrgKey),
    ("tenants_key_unique", Unique::TenantKey),
    ("namespaces_tenant_id_key_unique", Unique::NamespaceKey),
    ("library_listings_org_id_key_unique", Unique::ListingKey),
    ("resources_version_unique", Unique::Version),
    ("resources_latest", Unique::Version),
    ("library_listing_versions_pkey", Unique::Version),
    ("library_installs_listing_unique", Unique::Install),
    ("library_installs_listing_key_unique", Unique::Install),
    ("tenant_members_pkey", Unique::Member),
    ("custom_domains_domain_unique", Unique::Domain),
];

/// SQLSTATEs that mean "someone else changed this meanwhile": a serialization
/// failure, a deadlock, a lock not obtained in time.
const CONFLICTS: &[&str] = &["40001", "40P01", "55P03"];

/// Translates any sqlx error.
pub fn translate(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::Database(db) => translate_database(db.as_ref()),
        sqlx::Error::PoolTimedOut => {
            StoreError::Unavailable("no database connection became free in time".into())
        }
        sqlx::Error::PoolClosed => StoreError::Unavailable("the database pool is closed".into()),
        sqlx::Error::Io(e) => {
            StoreError::Unavailable(format!("database connection failed: {}", e.kind()))
        }
        sqlx::Error::Tls(_) => StoreError::Unavailable("database TLS failed".into()),
        sqlx::Error::Protocol(_) => StoreError::Unavailable("database protocol error".into()),
        sqlx::Error::RowNotFound => {
            StoreError::Unavailable("a statement returned no row where one was due".into())
        }
        sqlx::Error::ColumnDecode { index, .. } => {
            StoreError::Unavailable(format!("could not decode stored column {index}"))
        }
        sqlx::Error::ColumnNotFound(column) => {
            StoreError::Unavailable(format!("stored column {column} is missing"))
        }
        sqlx::Error::Decode(_) => StoreError::Unavailable("could not decode a stored value".into()),
        other => StoreError::Unavailable(format!("database error ({})", kind_of(&other))),
    }
}

/// As [`translate`], for a statement that writes rows: a row refused by a
/// row-level security policy's `WITH CHECK` (SQLSTATE 42501, "new row violates
/// row-level security policy") would lie outside the call's data scope, which
/// the ports call `OutOfScope`. Other permission errors stay `Unavailable`.
pub(crate) fn translate_write(error: sqlx::Error) -> StoreError {
    let refused_by_policy = match &error {
        sqlx::Error::Database(db) => {
            db.code().as_deref() == Some("42501") && db.message().contains("row-level security")
        }
        _ => false,
    };
    if refused_by_policy {
        StoreError::OutOfScope
    } else {
        translate(error)
    }
}

/// The text of [`translate`]'s result without the variant's prefix, for
/// setup errors that are not a store call's.
pub(crate) fn describe(error: sqlx::Error) -> String {
    match translate(error) {
        StoreError::Unavailable(message) => message,
        other => other.to_string(),
    }
}

fn translate_database(db: &dyn DatabaseError) -> StoreError {
    let code = db.code().unwrap_or_default();
    let constraint = db.constraint();
    match db.kind() {
        ErrorKind::UniqueViolation => {
            let taken = UNIQUE_KEYS
                .iter()
                .find(|(name, _)| Some(*name) == constraint)
                .map(|(_, unique)| *unique);
            match taken {
                Some(unique) => StoreError::Taken(unique),
                None => StoreError::Unavailable(format!(
                    "unique violation on {}",
                    constraint.unwrap_or("an unnamed constraint")
                )),
            }
        }
        // A row that refers to one no longer there (a namespace of a tenant
        // gone, a key of a namespace purged): the parent changed meanwhile.
        ErrorKind::ForeignKeyViolation => StoreError::Stale,
        _ if CONFLICTS.contains(&code.as_ref()) => StoreError::Stale,
        _ => {
            let what = match code.as_ref() {
                "42501" => "permission or row-level security refused the statement",
                "57014" => "the statement was cancelled (statement timeout)",
                "23514" => "a check constraint refused the row",
                "23502" => "a required column was null",
                "3D000" => "the database does not exist",
                c if c.starts_with("28") => "the server refused the credentials",
                c if c.starts_with("08") || c.starts_with("57P") => {
                    "the connection failed or was lost"
                }
                _ => "database error",
            };
            match constraint {
                Some(name) => StoreError::Unavailable(format!("{what} (SQLSTATE {code}, {name})")),
                None => StoreError::Unavailable(format!("{what} (SQLSTATE {code})")),
            }
        }
    }
}

/// A name for the errors without a variant of their own; their `Display` may
/// carry details that do not belong in a store error.
fn kind_of(error: &sqlx::Error) -> &'static str {
    match error {
        sqlx::Error::Configuration(_) => "configuration",
        sqlx::Error::TypeNotFound { .. } => "type not found",
        sqlx::Error::WorkerCrashed => "worker crashed",
        sqlx::Error::Migrate(_) => "migration",
        _ => "other",
    }
}

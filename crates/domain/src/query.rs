//! The tenant inventory query (docs/api.md §6 `GET /v1/tenants`), with its matching and
//! ordering rules written once here: the in-memory store applies them directly and
//! SQL stores translate them.

use std::cmp::Ordering;

use uuid::Uuid;

use crate::ids::OrgId;
use crate::lifecycle::TenantStatus;
use crate::page::{Cursor, Limit, PageError, Position, compare_key};
use crate::region::RegionCode;
use crate::tenant::Tenant;
use crate::values::{InvalidValue, Plan, check_text};

/// How the inventory is ordered. Every order ends on the id, so it is total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum TenantSort {
    /// Oldest first (ids are time-ordered). The default.
    #[default]
    CreatedAsc,
    CreatedDesc,
    /// By name (byte order), then id.
    NameAsc,
    NameDesc,
}

impl TenantSort {
    pub const ALL: [Self; 4] = [
        Self::CreatedAsc,
        Self::CreatedDesc,
        Self::NameAsc,
        Self::NameDesc,
    ];

    /// The API spelling: `createdAt`, `-createdAt`, `name`, `-name`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAsc => "createdAt",
            Self::CreatedDesc => "-createdAt",
            Self::NameAsc => "name",
            Self::NameDesc => "-name",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn is_descending(self) -> bool {
        matches!(self, Self::CreatedDesc | Self::NameDesc)
    }

    pub fn by_name(self) -> bool {
        matches!(self, Self::NameAsc | Self::NameDesc)
    }

    /// Orders two tenants as a listing in this order shows them.
    pub fn compare(self, a: &Tenant, b: &Tenant) -> Ordering {
        let ascending = if self.by_name() {
            a.name.as_str().cmp(b.name.as_str()).then(a.id.cmp(&b.id))
        } else {
            a.id.cmp(&b.id)
        };
        if self.is_descending() {
            ascending.reverse()
        } else {
            ascending
        }
    }

    pub(crate) fn position_of(self, tenant: &Tenant) -> Position {
        Position {
            order: self.as_str().to_owned(),
            id: tenant.id.as_uuid(),
            text: self.by_name().then(|| tenant.name.as_str().to_owned()),
        }
    }
}

/// Filters of the inventory; all present ones must match. The inventory
/// refuses a filter that fails [`TenantFilter::check`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantFilter {
    /// Only tenants of this org (set by the org-scoped listing).
    pub org: Option<OrgId>,
    /// Search: an id matches exactly; otherwise a case-insensitive substring of
    /// the name or the key.
    pub text: Option<String>,
    /// Unset: every status but `deleted` (tombstones show only when asked for).
    pub status: Option<TenantStatus>,
    pub region: Option<RegionCode>,
    pub plan: Option<Plan>,
    /// `metadata.K=V` pairs; each must be present with that exact value.
    pub metadata: Vec<(String, String)>,
}

/// A filter the inventory refuses before any store sees it, with the query
/// parameter it names (`q`, `metadata.<key>`) and a message for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {message}")]
pub struct InvalidFilter {
    pub field: String,
    pub message: String,
}

impl TenantFilter {
    /// The shortest search term, in characters. A shorter one has no trigram
    /// to look up, so a store would have to read every tenant to answer it.
    pub const MIN_SEARCH_CHARS: usize = 3;
    /// The longest search term, in characters: as long as the longest name
    /// ([`crate::values::Name::MAX_LEN`]); a longer term matches nothing.
    pub const MAX_SEARCH_CHARS: usize = crate::values::Name::MAX_LEN;
    /// The longest metadata value a filter may name, in bytes: the longest
    /// value the stores index for filtering. A longer one could only be
    /// answered by reading every tenant.
    pub const MAX_METADATA_VALUE_BYTES: usize = 512;
    /// The most metadata pairs one filter may name: as many as a tenant may
    /// hold ([`Metadata::MAX_KEYS`](crate::values::Metadata::MAX_KEYS)).
    pub const MAX_METADATA_PAIRS: usize = crate::values::Metadata::MAX_KEYS;

    /// Refuses what would make a store read every tenant, or more than a
    /// tenant can hold: a search term under [`Self::MIN_SEARCH_CHARS`] or over
    /// [`Self::MAX_SEARCH_CHARS`] characters, a metadata value over
    /// [`Self::MAX_METADATA_VALUE_BYTES`] bytes, more than
    /// [`Self::MAX_METADATA_PAIRS`] metadata pairs, a control character in any
    /// text. Every error found.
    pub fn check(&self) -> Result<(), Vec<InvalidFilter>> {
        let mut errors = Vec::new();
        if let Some(q) = &self.text {
            let chars = q.chars().count();
            if !(Self::MIN_SEARCH_CHARS..=Self::MAX_SEARCH_CHARS).contains(&chars) {
                errors.push(InvalidFilter {
                    field: "q".to_owned(),
                    message: format!(
                        "must be {} to {} characters (got {chars}); a shorter search cannot \
                         use the search index",
                        Self::MIN_SEARCH_CHARS,
                        Self::MAX_SEARCH_CHARS
                    ),
                });
            }
        }
        if self.metadata.len() > Self::MAX_METADATA_PAIRS {
            errors.push(InvalidFilter {
                field: "metadata.".to_owned(),
                message: format!(
                    "may be given at most {} times (got {})",
                    Self::MAX_METADATA_PAIRS,
                    self.metadata.len()
                ),
            });
        }
        for (key, value) in &self.metadata {
            if value.len() > Self::MAX_METADATA_VALUE_BYTES {
                errors.push(InvalidFilter {
                    field: format!("metadata.{key}"),
                    message: format!(
                        "must be at most {} bytes (got {})",
                        Self::MAX_METADATA_VALUE_BYTES,
                        value.len()
                    ),
                });
            }
        }
        if let Some((field, error)) = self.control_character() {
            errors.push(InvalidFilter {
                field,
                message: error.to_string(),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    pub fn matches(&self, t: &Tenant) -> bool {
        let status_ok = match self.status {
            Some(s) => t.lifecycle.status == s,
            None => t.lifecycle.status != TenantStatus::Deleted,
        };
        status_ok
            && self.org.is_none_or(|org| t.org_id == org)
            && self.region.as_ref().is_none_or(|r| &t.region == r)
            && self.plan.as_ref().is_none_or(|p| &t.plan == p)
            && self
                .metadata
                .iter()
                .all(|(k, v)| t.metadata.get(k) == Some(v.as_str()))
            && self.text.as_deref().is_none_or(|q| text_matches(q, t))
    }
}

impl TenantFilter {
    /// The first text of the filter that holds a control character, named as
    /// its query parameter (`q`, `metadata.K`): such text can match no tenant,
    /// and PostgreSQL cannot even compare a NUL. Part of [`Self::check`].
    pub(crate) fn control_character(&self) -> Option<(String, InvalidValue)> {
        let search = self.text.iter().map(|q| ("q".to_owned(), q.as_str()));
        let metadata = self.metadata.iter().flat_map(|(k, v)| {
            let field = format!("metadata.{k}");
            [(field.clone(), k.as_str()), (field, v.as_str())]
        });
        search
            .chain(metadata)
            .find_map(|(field, text)| check_text(text).err().map(|e| (field, e)))
    }
}

fn text_matches(q: &str, t: &Tenant) -> bool {
    if let Ok(id) = Uuid::try_parse(q) {
        return t.id.as_uuid() == id;
    }
    let q = q.to_lowercase();
    t.name.as_str().to_lowercase().contains(&q) || t.key.as_str().contains(&q)
}

/// One page request of the inventory, with its cursor decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantQuery {
    pub filter: TenantFilter,
    pub sort: TenantSort,
    /// The last item of the previous page.
    pub after: Option<Position>,
    pub limit: Limit,
}

impl TenantQuery {
    /// Checks that `cursor` was issued for `sort`.
    pub fn new(
        filter: TenantFilter,
        sort: TenantSort,
        cursor: Option<&Cursor>,
        limit: Limit,
    ) -> Result<Self, PageError> {
        let after = cursor.map(|c| c.decode(sort.as_str())).transpose()?;
        Ok(Self {
            filter,
            sort,
            after,
            limit,
        })
    }

    /// How many rows a store should fetch: one more than the page, to learn
    /// whether another page follows.
    pub fn fetch_limit(&self) -> usize {
        self.limit.get() + 1
    }

    /// Whether `t` belongs on this page or a later one: it matches the filter and
    /// sorts strictly after the cursor.
    pub fn matches(&self, t: &Tenant) -> bool {
        self.filter.matches(t) && self.after.as_ref().is_none_or(|p| self.is_after(t, p))
    }

    fn is_after(&self, t: &Tenant, p: &Position) -> bool {
        let text = self.sort.by_name().then(|| t.name.as_str());
        let ord = compare_key(text, t.id.as_uuid(), p);
        if self.sort.is_descending() {
            ord == Ordering::Less
        } else {
            ord == Ordering::Greater
        }
    }
}

//! Keyset pagination: opaque cursors, limits and pages.
//!
//! A cursor names the last item of a page by its sort key and id, so a page that
//! follows it neither skips nor repeats items while others are inserted: ids are
//! UUIDv7 and grow with time, so new items land after every existing cursor.

use std::cmp::Ordering;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// How many items a page holds: 1–200, 50 unless asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u16);

impl Limit {
    pub const MAX: u16 = 200;
    pub const DEFAULT: Self = Self(50);

    pub fn new(n: u64) -> Result<Self, PageError> {
        match u16::try_from(n) {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(PageError::Limit),
        }
    }

    pub fn get(self) -> usize {
        usize::from(self.0)
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A bad `limit` or `cursor` parameter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    #[error("limit must be between 1 and {}", Limit::MAX)]
    Limit,
    #[error("cursor is not one this API issued, or belongs to another sort order")]
    Cursor,
}

/// An opaque position in a listing, as handed to API callers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a caller-supplied string; it is checked when decoded.
    pub fn from_raw(raw: impl Into<String>) -> Self {
        Self(raw.into())
    }

    pub(crate) fn encode(position: &Position) -> Self {
        let text = format!(
            "v1|{}|{}|{}",
            position.order,
            position.id,
            position.text.as_deref().unwrap_or("")
        );
        Self(URL_SAFE_NO_PAD.encode(text))
    }

    /// Decodes a cursor issued for `order`.
    pub fn decode(&self, order: &str) -> Result<Position, PageError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(&self.0)
            .map_err(|_| PageError::Cursor)?;
        let text = String::from_utf8(bytes).map_err(|_| PageError::Cursor)?;
        let mut parts = text.splitn(4, '|');
        let (Some("v1"), Some(o), Some(id), Some(rest)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(PageError::Cursor);
        };
        if o != order {
            return Err(PageError::Cursor);
        }
        let id = Uuid::try_parse(id).map_err(|_| PageError::Cursor)?;
        // Sort keys hold no control characters, so no cursor this API issued
        // does; the text reaches SQL, where a NUL would be a server error.
        if rest.chars().any(char::is_control) {
            return Err(PageError::Cursor);
        }
        Ok(Position {
            order: o.to_owned(),
            id,
            text: (!rest.is_empty()).then(|| rest.to_owned()),
        })
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A decoded cursor: the sort order it belongs to, the last id, and for orders on
/// a text column the last item's value of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub order: String,
    pub id: Uuid,
    pub text: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more items follow.
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` fetched items: the extra one only
    /// says that another page exists.
    pub(crate) fn from_fetched(
        mut items: Vec<T>,
        limit: Limit,
        position_of: impl Fn(&T) -> Position,
    ) -> Self {
        let more = items.len() > limit.get();
        items.truncate(limit.get());
        let next_cursor = more
            .then(|| items.last().map(|last| Cursor::encode(&position_of(last))))
            .flatten();
        Self { items, next_cursor }
    }
}

/// The order of listings sorted by id: oldest first, as ids are UUIDv7.
const ORDER_BY_ID: &str = "id";

/// Where an item of a listing sorted by id stands.
pub(crate) fn id_position(id: Uuid) -> Position {
    Position {
        order: ORDER_BY_ID.to_owned(),
        id,
        text: None,
    }
}

/// The steps of every keyset listing: decodes `cursor` into the bound a store
/// takes (`decode`), fetches one item more than the page after it (`fetch`,
/// given the bound and how many to fetch; it checks access and finishes the
/// items too, so a bad cursor is refused before anything is read), and builds
/// the page. `fetch` is a closure returning a future rather than an async
/// closure, whose futures do not yet prove `Send` to the compiler.
pub(crate) async fn fetch_page<A, T, E: From<PageError>, F>(
    cursor: Option<&Cursor>,
    limit: Limit,
    decode: impl FnOnce(&Cursor) -> Result<A, PageError>,
    fetch: impl FnOnce(Option<A>, usize) -> F,
    position_of: impl Fn(&T) -> Position,
) -> Result<Page<T>, E>
where
    F: Future<Output = Result<Vec<T>, E>>,
{
    let after = cursor.map(decode).transpose()?;
    let items = fetch(after, limit.get() + 1).await?;
    Ok(Page::from_fetched(items, limit, position_of))
}

/// [`fetch_page`] for a listing sorted by id (`id_of` each item).
pub(crate) async fn fetch_page_by_id<T, E: From<PageError>, F>(
    cursor: Option<&Cursor>,
    limit: Limit,
    fetch: impl FnOnce(Option<Uuid>, usize) -> F,
    id_of: impl Fn(&T) -> Uuid,
) -> Result<Page<T>, E>
where
    F: Future<Output = Result<Vec<T>, E>>,
{
    let decode = |c: &Cursor| c.decode(ORDER_BY_ID).map(|p| p.id);
    fetch_page(cursor, limit, decode, fetch, |item| {
        id_position(id_of(item))
    })
    .await
}

/// [`fetch_page`] for a listing sorted by a text key (then id) under the order
/// name `order`: a cursor's text is read back with `parse` (`None`: not a
/// cursor this API issued), and `key_of` says each item's text and id.
pub(crate) async fn fetch_page_by_text<A, T, E: From<PageError>, F>(
    order: &str,
    cursor: Option<&Cursor>,
    limit: Limit,
    parse: impl FnOnce(&str) -> Option<A>,
    fetch: impl FnOnce(Option<A>, usize) -> F,
    key_of: impl Fn(&T) -> (&str, Uuid),
) -> Result<Page<T>, E>
where
    F: Future<Output = Result<Vec<T>, E>>,
{
    let decode = |c: &Cursor| {
        let text = c.decode(order)?.text.ok_or(PageError::Cursor)?;
        parse(&text).ok_or(PageError::Cursor)
    };
    let position_of = |item: &T| {
        let (text, id) = key_of(item);
        Position {
            order: order.to_owned(),
            id,
            text: Some(text.to_owned()),
        }
    };
    fetch_page(cursor, limit, decode, fetch, position_of).await
}

/// Compares a `(text, id)` sort key with a cursor position, for keyset filters
/// written in Rust (the in-memory store); SQL adapters use row comparisons.
pub(crate) fn compare_key(text: Option<&str>, id: Uuid, position: &Position) -> Ordering {
    text.cmp(&position.text.as_deref())
        .then(id.cmp(&position.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_other_orders() {
        let p = Position {
            order: "name".into(),
            id: Uuid::from_u128(7),
            text: Some("Acme | Co".into()),
        };
        let c = Cursor::encode(&p);
        assert_eq!(c.decode("name"), Ok(p));
        assert_eq!(c.decode("-name"), Err(PageError::Cursor));
        assert_eq!(
            Cursor::from_raw("garbage!").decode("name"),
            Err(PageError::Cursor)
        );
    }

    #[test]
    fn a_cursor_with_a_control_character_in_its_text_is_refused() {
        let forged =
            Cursor(URL_SAFE_NO_PAD.encode(format!("v1|name|{}|ac\u{0}me", Uuid::from_u128(7))));
        assert_eq!(forged.decode("name"), Err(PageError::Cursor));
    }

    #[test]
    fn limits_are_bounded() {
        assert!(Limit::new(0).is_err());
        assert!(Limit::new(201).is_err());
        assert_eq!(Limit::new(200).unwrap().get(), 200);
    }
}

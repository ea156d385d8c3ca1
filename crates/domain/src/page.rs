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

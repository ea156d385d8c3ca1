//! How a settings group is read, written and merge-patched, field by field.
//!
//! Each group lists its fields once, in [`Fields::visit`]: a camelCase name and
//! the slot that holds the field's value. Everything else (the JSON document,
//! the merge-patch, the names of the fields a patch changed) is written once
//! here, as a [`FieldVisitor`] walking that list, so a field cannot be known to
//! the patch and forgotten by the document or the other way round.
//!
//! The module is private: the traits are public only so that the public
//! [`SettingsGroup`](super::SettingsGroup) may build on them, and no other crate
//! can implement them (settings groups are the domain's to define).

use std::convert::Infallible;

use serde_json::{Map, Value};

use super::SettingsError;
use crate::values::{Email, InvalidValue, Name};

/// A value one settings field holds, read from and written to JSON.
pub trait SettingValue: Clone + PartialEq {
    /// Reads the value from its JSON form, validating it.
    fn from_json(value: &Value) -> Result<Self, InvalidValue>;
    /// The value's JSON form, which [`SettingValue::from_json`] reads back as
    /// an equal value.
    fn to_json(&self) -> Value;
}

/// Something done to every field of a group, in the group's order.
pub trait FieldVisitor {
    /// What stops the walk.
    type Error;

    /// Visits the field called `name` (camelCase, as in the JSON document),
    /// whose value is `slot` (`None`: not set).
    fn field<T: SettingValue>(
        &mut self,
        name: &'static str,
        slot: &mut Option<T>,
    ) -> Result<(), Self::Error>;
}

/// The one list of a group's fields.
pub trait Fields: Clone + Default {
    /// Hands every field to `visitor`, in the group's documented order, and
    /// stops at the first error.
    fn visit<V: FieldVisitor>(&mut self, visitor: &mut V) -> Result<(), V::Error>;
}

/// The names of a group's fields, in order.
pub(super) fn names<G: Fields>() -> Vec<&'static str> {
    let mut names = Names(Vec::new());
    let Ok(()) = G::default().visit(&mut names);
    names.0
}

/// The group's JSON document: an object with one member per field that is set.
pub(super) fn document<G: Fields>(group: &G) -> Value {
    // `visit` hands out `&mut` slots; the writer only reads them, so it walks a
    // copy (settings are small and read rarely).
    let mut writer = Writer(Map::new());
    let Ok(()) = group.clone().visit(&mut writer);
    Value::Object(writer.0)
}

/// Applies a JSON merge-patch (RFC 7396) to a copy of `group`: a member set to
/// `null` removes the field, an absent member leaves it, any other value
/// replaces it once its type has validated it. Refuses a patch that is not an
/// object and a member that names no field of the group. Returns the new group
/// and the fields whose value differs from `group`'s, in the group's order.
pub(super) fn merge<G: Fields>(
    group_name: &'static str,
    group: &G,
    patch: &Value,
) -> Result<(G, Vec<&'static str>), SettingsError> {
    let Value::Object(patch) = patch else {
        return Err(SettingsError::NotAnObject { group: group_name });
    };
    let known = names::<G>();
    if let Some(unknown) = patch.keys().find(|key| !known.contains(&key.as_str())) {
        return Err(SettingsError::UnknownField {
            group: group_name,
            field: unknown.clone(),
        });
    }
    let mut next = group.clone();
    let mut merger = Merger {
        patch,
        changed: Vec::new(),
    };
    next.visit(&mut merger)?;
    Ok((next, merger.changed))
}

struct Names(Vec<&'static str>);

impl FieldVisitor for Names {
    type Error = Infallible;

    fn field<T: SettingValue>(
        &mut self,
        name: &'static str,
        _: &mut Option<T>,
    ) -> Result<(), Infallible> {
        self.0.push(name);
        Ok(())
    }
}

struct Writer(Map<String, Value>);

impl FieldVisitor for Writer {
    type Error = Infallible;

    fn field<T: SettingValue>(
        &mut self,
        name: &'static str,
        slot: &mut Option<T>,
    ) -> Result<(), Infallible> {
        if let Some(value) = slot {
            self.0.insert(name.to_owned(), value.to_json());
        }
        Ok(())
    }
}

struct Merger<'p> {
    patch: &'p Map<String, Value>,
    changed: Vec<&'static str>,
}

impl FieldVisitor for Merger<'_> {
    type Error = SettingsError;

    fn field<T: SettingValue>(
        &mut self,
        name: &'static str,
        slot: &mut Option<T>,
    ) -> Result<(), SettingsError> {
        let next = match self.patch.get(name) {
            None => return Ok(()),
            Some(Value::Null) => None,
            Some(value) => Some(
                T::from_json(value).map_err(|reason| SettingsError::Invalid {
                    field: name,
                    reason,
                })?,
            ),
        };
        if *slot != next {
            self.changed.push(name);
            *slot = next;
        }
        Ok(())
    }
}

/// The string a field's JSON value must be.
pub(super) fn string(value: &Value) -> Result<&str, InvalidValue> {
    value
        .as_str()
        .ok_or_else(|| InvalidValue::new("must be a string"))
}

/// The strings of a field whose JSON value must be an array of at most `max`
/// strings; an item that is not a string is named by its index.
pub(super) fn strings(value: &Value, max: usize) -> Result<Vec<&str>, InvalidValue> {
    let items = value
        .as_array()
        .ok_or_else(|| InvalidValue::new("must be an array of strings"))?;
    crate::values::check_list_len(items.len(), max)?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            item.as_str()
                .ok_or_else(|| InvalidValue::new(format!("item at index {i} must be a string")))
        })
        .collect()
}

impl SettingValue for Name {
    fn from_json(value: &Value) -> Result<Self, InvalidValue> {
        Name::parse(string(value)?)
    }

    fn to_json(&self) -> Value {
        Value::from(self.as_str())
    }
}

impl SettingValue for Email {
    fn from_json(value: &Value) -> Result<Self, InvalidValue> {
        Email::parse(string(value)?)
    }

    fn to_json(&self) -> Value {
        Value::from(self.as_str())
    }
}

impl SettingValue for bool {
    fn from_json(value: &Value) -> Result<Self, InvalidValue> {
        value
            .as_bool()
            .ok_or_else(|| InvalidValue::new("must be true or false"))
    }

    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}

//! Field decoders shared by the event structs, for the places where publishers are looser than
//! their schemas: integers typed only as JSON "number", and git refs with or without `refs/heads/`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Unexpected, Visitor};

/// Accepts any JSON integer that fits in `i64`, and floats with no fractional part: the Copr and
/// Koji schemas only say "number", and Python publishers are free to send `942697.0`.
pub(super) fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(IntegerVisitor)
}

/// [`integer`], where `null` or a missing field is `None` (pair with `#[serde(default)]`).
pub(super) fn optional_integer<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    Ok(Option::<LenientInteger>::deserialize(deserializer)?.map(|wrapped| wrapped.0))
}

/// `null` reads as the type's default (an empty list), like a missing field does.
pub(super) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

struct LenientInteger(i64);

impl<'de> Deserialize<'de> for LenientInteger {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        integer(deserializer).map(Self)
    }
}

pub(super) struct IntegerVisitor;

impl Visitor<'_> for IntegerVisitor {
    type Value = i64;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an integer")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::invalid_value(Unexpected::Unsigned(value), &self))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        // The upper bound is exclusive because i64::MAX rounds up to 2^63 as f64.
        let in_range = value >= i64::MIN as f64 && value < i64::MAX as f64;
        if value.fract() == 0.0 && in_range {
            Ok(value as i64)
        } else {
            Err(E::invalid_value(Unexpected::Float(value), &self))
        }
    }
}

/// Pagure sends bare branch names on src.fedoraproject.org but `refs/heads/<b>` on pagure.io.
pub(super) fn branch_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let branch = String::deserialize(deserializer)?;
    Ok(strip_refs_heads(&branch).to_owned())
}

pub(super) fn strip_refs_heads(branch: &str) -> &str {
    branch.strip_prefix("refs/heads/").unwrap_or(branch)
}

/// The first seven characters of a commit hash, for display; safe on any string.
pub(super) fn short_hash(hash: &str) -> &str {
    match hash.char_indices().nth(7) {
        Some((end, _)) => hash.get(..end).unwrap_or(hash),
        None => hash,
    }
}

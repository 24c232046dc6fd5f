//! `bus.shard = "i/N"`: which packages this instance acts on when N instances share the work.
//!
//! A package belongs to shard `fnv1a_64(name) % N`, where `fnv1a_64` is 64-bit FNV-1a over the package name's
//! UTF-8 bytes (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`). The hash is written out here, not
//! taken from a crate, because it is part of the interface: an admin's script must compute the same shard.

use super::workflow::{Checked, rejected};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// More instances than this would be a configuration mistake, not a deployment.
pub const MAX_SHARDS: u32 = 1024;

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a of `bytes`.
pub fn fnv1a_64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(FNV_PRIME)
    })
}

/// Shard `index` of `count`: this instance acts on the packages whose hash modulo `count` is `index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Default for Shard {
    /// `0/1`: one instance, every package.
    fn default() -> Self {
        Shard { index: 0, count: 1 }
    }
}

impl Shard {
    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether more than one instance shares the work.
    pub fn is_split(&self) -> bool {
        self.count > 1
    }

    /// The shard index `package` belongs to when the work is split `count` ways (`count` >= 1).
    pub fn index_of(package: &str, count: u32) -> u32 {
        let index = fnv1a_64(package.as_bytes()) % u64::from(count.max(1));
        // Below `count`, which is a u32.
        u32::try_from(index).unwrap_or(0)
    }

    /// Whether this instance acts on `package`.
    pub fn holds(&self, package: &str) -> bool {
        Self::index_of(package, self.count) == self.index
    }
}

/// Why a `bus.shard` value is not a shard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("no `/` between index and count")]
    NoSlash,
    #[error("{0:?} is not a whole number (digits only, no sign or spaces)")]
    NotANumber(String),
    #[error("the count must be at least 1")]
    NoShards,
    #[error("the count {0} is more than the {MAX_SHARDS} supported")]
    TooMany(u32),
    #[error("the index {index} must be below the count {count} (indexes start at 0)")]
    IndexOutOfRange { index: u32, count: u32 },
}

impl FromStr for Shard {
    type Err = ShardError;

    fn from_str(raw: &str) -> Result<Shard, ShardError> {
        let (index, count) = raw.split_once('/').ok_or(ShardError::NoSlash)?;
        let (index, count) = (number(index)?, number(count)?);
        if count == 0 {
            return Err(ShardError::NoShards);
        }
        if count > MAX_SHARDS {
            return Err(ShardError::TooMany(count));
        }
        if index >= count {
            return Err(ShardError::IndexOutOfRange { index, count });
        }
        Ok(Shard { index, count })
    }
}

/// Plain ASCII digits: `u32::from_str` would also take a leading `+`.
fn number(text: &str) -> Result<u32, ShardError> {
    let not_a_number = || ShardError::NotANumber(text.to_owned());
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(not_a_number());
    }
    // Digits only, so the one failure left is a value beyond u32: certainly more than MAX_SHARDS.
    text.parse().map_err(|_| ShardError::TooMany(u32::MAX))
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Written as configured, `"i/N"`, in `check-config` and the status JSON.
impl Serialize for Shard {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Shard, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// `bus.shard` from the merged configuration; unset is `0/1`.
pub(super) fn shard(value: Option<String>) -> Checked<Shard> {
    let Some(raw) = value else {
        return Ok(Shard::default());
    };
    raw.parse().map_err(|e| {
        rejected(
            "bus.shard",
            format!(
                "expected \"INDEX/COUNT\" such as \"0/2\", with 0 <= INDEX < COUNT <= {MAX_SHARDS}; \
                 got {raw:?}: {e}"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_64_matches_the_published_test_vectors() {
        // From the FNV reference test suite (Fowler, Noll, Vo: test_fnv.c, FNV-1a 64-bit).
        for (input, expected) in [
            ("", 0xcbf2_9ce4_8422_2325_u64),
            ("a", 0xaf63_dc4c_8601_ec8c),
            ("b", 0xaf63_df4c_8601_f1a5),
            ("foo", 0xdcb2_7518_fed9_d577),
            ("foobar", 0x8594_4171_f739_67e8),
        ] {
            assert_eq!(fnv1a_64(input.as_bytes()), expected, "{input:?}");
        }
    }

    #[test]
    fn good_forms_parse_and_print_back() {
        for (raw, index, count) in [
            ("0/1", 0, 1),
            ("0/2", 0, 2),
            ("1/2", 1, 2),
            ("1023/1024", 1023, 1024),
        ] {
            let shard: Shard = raw.parse().expect(raw);
            assert_eq!((shard.index(), shard.count()), (index, count), "{raw}");
            assert_eq!(shard.to_string(), raw);
        }
        assert_eq!(Shard::default().to_string(), "0/1");
        assert!(!Shard::default().is_split());
    }

    #[test]
    fn bad_forms_say_what_is_wrong() {
        for (raw, error) in [
            ("1/1", ShardError::IndexOutOfRange { index: 1, count: 1 }),
            ("2/2", ShardError::IndexOutOfRange { index: 2, count: 2 }),
            ("0/0", ShardError::NoShards),
            ("a/b", ShardError::NotANumber("a".to_owned())),
            ("1", ShardError::NoSlash),
            ("-1/2", ShardError::NotANumber("-1".to_owned())),
            (" 0/2 ", ShardError::NotANumber(" 0".to_owned())),
            ("+0/2", ShardError::NotANumber("+0".to_owned())),
            ("0/2/3", ShardError::NotANumber("2/3".to_owned())),
            ("/2", ShardError::NotANumber(String::new())),
            ("0/1025", ShardError::TooMany(1025)),
            ("0/99999999999", ShardError::TooMany(u32::MAX)),
            ("", ShardError::NoSlash),
        ] {
            assert_eq!(raw.parse::<Shard>(), Err(error), "{raw:?}");
        }
    }

    #[test]
    fn every_package_is_in_exactly_one_shard() {
        let names = [
            "python-requests",
            "kernel",
            "rust-serde",
            "packit",
            "ghc-text",
            "python3.12",
            "é",
        ];
        for count in [1, 2, 3, 7] {
            for name in names {
                let holders = (0..count)
                    .filter(|index| {
                        Shard {
                            index: *index,
                            count,
                        }
                        .holds(name)
                    })
                    .count();
                assert_eq!(holders, 1, "{name} in {count} shards");
            }
        }
        // Worked out by hand from the vector above: 0x85944171f73967e8 is even.
        assert_eq!(Shard::index_of("foobar", 2), 0);
        assert!(Shard { index: 0, count: 2 }.holds("foobar"));
        assert!(!Shard { index: 1, count: 2 }.holds("foobar"));
        assert!(Shard::default().holds("anything"));
    }

    #[test]
    fn serde_uses_the_configured_form() {
        let shard: Shard = "3/8".parse().expect("valid");
        assert_eq!(serde_json::to_value(shard).expect("json"), "3/8");
        let back: Shard = serde_json::from_value(serde_json::json!("3/8")).expect("parse");
        assert_eq!(back, shard);
        assert!(serde_json::from_value::<Shard>(serde_json::json!("8/3")).is_err());
    }
}

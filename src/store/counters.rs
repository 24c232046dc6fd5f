//! Counters (messages per topic, rejections per reason, finished Copr chroots per project and status), kept
//! as one value in the `counters` tree.
//!
//! A batch of messages touches a handful of counters; one value read and written once per batch costs one
//! tree update instead of one per counter, which matters on the consume path. The value is a sequence of
//! `(u16 name length, name, u64 count)`, big-endian, sorted by name. Stores from before the single value
//! (schema 1) kept one key per counter; [`Store::fold_legacy_counters`] moves them into it on open.

use super::{Store, StoreError, unwrap_tx};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use std::collections::BTreeMap;

/// The key of the single value.
const ALL_KEY: &[u8] = b"\0all";

type Abort = ConflictableTransactionError<StoreError>;

/// Counter name → count.
pub(super) type CounterMap = BTreeMap<String, u64>;

pub(super) fn encode(counters: &CounterMap) -> Vec<u8> {
    let mut raw = Vec::with_capacity(counters.len() * 32);
    for (name, value) in counters {
        // Names are ours (topics, reasons, Copr projects) and far below 64 KiB; a longer one is cut.
        let name = &name.as_bytes()[..name.len().min(usize::from(u16::MAX))];
        raw.extend_from_slice(&(name.len() as u16).to_be_bytes());
        raw.extend_from_slice(name);
        raw.extend_from_slice(&value.to_be_bytes());
    }
    raw
}

pub(super) fn decode(mut raw: &[u8]) -> Option<CounterMap> {
    let mut counters = CounterMap::new();
    while !raw.is_empty() {
        let (len, rest) = raw.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        let name = rest.get(..len)?;
        let (value, rest) = rest.get(len..)?.split_first_chunk::<8>()?;
        counters.insert(
            String::from_utf8_lossy(name).into_owned(),
            u64::from_be_bytes(*value),
        );
        raw = rest;
    }
    Some(counters)
}

const UNDECODABLE: &str = "the counters value does not decode";

/// Inside a transaction, where the store (and its directory) is not at hand.
fn corrupt() -> StoreError {
    StoreError::Corrupt {
        dir: Default::default(),
        what: UNDECODABLE.to_owned(),
    }
}

/// Counter updates of one transaction: the value is read on the first update and written once.
pub(super) struct CounterDeltas<'t> {
    tree: &'t TransactionalTree,
    values: Option<CounterMap>,
}

impl<'t> CounterDeltas<'t> {
    pub(super) fn new(tree: &'t TransactionalTree) -> Self {
        CounterDeltas { tree, values: None }
    }

    /// Adds `by` to counter `name`; returns its new value.
    pub(super) fn add(&mut self, name: &str, by: u64) -> Result<u64, Abort> {
        let values = match &mut self.values {
            Some(values) => values,
            None => {
                let current = match self.tree.get(ALL_KEY)? {
                    Some(raw) => decode(&raw).ok_or_else(|| Abort::Abort(corrupt()))?,
                    None => CounterMap::new(),
                };
                self.values.insert(current)
            }
        };
        // A lookup first: the name is only allocated the first time a counter is seen.
        let value = match values.get_mut(name) {
            Some(value) => value,
            None => values.entry(name.to_owned()).or_default(),
        };
        *value += by;
        Ok(*value)
    }

    pub(super) fn write(self) -> Result<(), Abort> {
        if let Some(values) = self.values {
            self.tree.insert(ALL_KEY, encode(&values))?;
        }
        Ok(())
    }
}

impl Store {
    /// Every counter by name.
    pub(super) fn counter_map(&self) -> Result<CounterMap, StoreError> {
        match self.counters.get(ALL_KEY)? {
            Some(raw) => decode(&raw).ok_or_else(|| self.corrupt(UNDECODABLE)),
            None => Ok(CounterMap::new()),
        }
    }

    /// Moves counters kept one per key (schema 1) into the single value, in one transaction.
    pub(super) fn fold_legacy_counters(&self) -> Result<(), StoreError> {
        let legacy: Vec<(sled::IVec, u64)> = self
            .counters
            .iter()
            .filter(|entry| !matches!(entry, Ok((key, _)) if key.as_ref() == ALL_KEY))
            .map(|entry| {
                let (key, raw) = entry?;
                let value = <[u8; 8]>::try_from(raw.as_ref()).map_or(0, u64::from_be_bytes);
                Ok((key, value))
            })
            .collect::<Result<_, sled::Error>>()?;
        if legacy.is_empty() {
            return Ok(());
        }
        let result = self.counters.transaction(|tree| {
            let mut counts = CounterDeltas::new(tree);
            for (key, value) in &legacy {
                counts.add(&String::from_utf8_lossy(key), *value)?;
                tree.remove(key)?;
            }
            counts.write()
        });
        unwrap_tx(result)?;
        self.db.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_value_round_trips_and_refuses_a_cut_one() {
        let counters: CounterMap = [
            ("received".to_owned(), 3),
            ("topic/buildsys.tag".to_owned(), u64::MAX),
            (String::new(), 0),
        ]
        .into_iter()
        .collect();
        let raw = encode(&counters);
        assert_eq!(decode(&raw), Some(counters));
        assert_eq!(decode(&raw[..raw.len() - 1]), None);
        assert_eq!(decode(&[]), Some(CounterMap::new()));
    }
}

//! Pipelines and the work inbox.
//!
//! The consume path drops work items (a relevant push, a build state change) into the `inbox` tree in the
//! same transaction that records the message, so acknowledging a message never loses its work. The pipeline
//! engine takes items out of the inbox in the same transaction that applies them to a pipeline.
//! Pipelines are kept as JSON under their id, with indexes by push key, by Koji task, by (source, target),
//! by Koji build id and NVR, by state (for counting), and a set of the ones still active.

use super::{Store, StoreError, unwrap_tx};
use crate::pipeline::{Pipeline, PushKey, Stage};
use crate::status::unix_now;
use serde::{Serialize, de::DeserializeOwned};
use sled::Transactional;
use sled::transaction::{ConflictableTransactionError, TransactionalTree};
use std::collections::BTreeMap;

type Abort = ConflictableTransactionError<StoreError>;

const PIPELINE_SEQ_KEY: &[u8] = b"pipeline_seq";
/// Index entries `attention\0<id>`: pipelines an operator should look at.
const ATTENTION_PREFIX: &[u8] = b"attention\0";
/// Index entries `state\0<state name>\0<id>`: pipelines by state, counted without decoding them.
const STATE_PREFIX: &[u8] = b"state\0";
/// Index entries `stateof\0<id>` → state name: which `state\0...` entry a pipeline has now.
const STATE_OF_PREFIX: &[u8] = b"stateof\0";
/// Set in `meta` once every stored pipeline has its state entry (stores from before the index get it on open).
const STATE_INDEX_KEY: &[u8] = b"pipeline_state_index";

/// What [`Store::create_pipeline`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    New(Box<Pipeline>),
    /// A pipeline for this push existed already (the same push seen twice).
    Existing(u64),
}

pub(super) fn encode<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt {
        dir: Default::default(),
        what: format!("cannot encode {what}: {e}"),
    })
}

pub(super) fn decode<T: DeserializeOwned>(raw: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice(raw).map_err(|e| StoreError::Corrupt {
        dir: Default::default(),
        what: format!("cannot decode {what}: {e}"),
    })
}

fn id_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

fn id_from(raw: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(raw).ok().map(u64::from_be_bytes)
}

fn source_key(source_url: &str, target: &str) -> Vec<u8> {
    format!("{source_url}\0{target}").into_bytes()
}

fn build_key(build_id: i64) -> String {
    format!("build\0{build_id}")
}

fn nvr_key(nvr: &str) -> String {
    format!("nvr\0{nvr}")
}

fn state_key(state: &[u8], id: &[u8; 8]) -> Vec<u8> {
    [STATE_PREFIX, state, b"\0", id].concat()
}

fn state_of_key(id: &[u8; 8]) -> Vec<u8> {
    [STATE_OF_PREFIX, id].concat()
}

/// Writes a pipeline and brings its indexes in line with its stage.
fn write_pipeline(
    trees: (&TransactionalTree, &TransactionalTree, &TransactionalTree),
    pipeline: &Pipeline,
) -> Result<(), Abort> {
    let (pipelines, index, active) = trees;
    let raw = encode(pipeline, "pipeline").map_err(Abort::Abort)?;
    pipelines.insert(&id_key(pipeline.id), raw)?;
    let id = id_key(pipeline.id);
    if let Some(task_id) = pipeline.task_id() {
        index.insert(format!("task\0{task_id}").as_bytes(), &id)?;
    }
    if let Some(build) = &pipeline.build {
        index.insert(build_key(build.build_id).as_bytes(), &id)?;
        index.insert(nvr_key(&build.nvr).as_bytes(), &id)?;
    }
    if let Some(target) = pipeline.target() {
        let mut key = b"source\0".to_vec();
        key.extend(source_key(&pipeline.source_url, target));
        index.insert(key, &id)?;
    }
    let mut attention = ATTENTION_PREFIX.to_vec();
    attention.extend_from_slice(&id);
    if matches!(pipeline.stage, Stage::NeedsAttention { .. }) {
        index.insert(attention, &[])?;
    } else {
        index.remove(attention)?;
    }
    if pipeline.stage.is_terminal() {
        active.remove(&id)?;
    } else {
        active.insert(&id, &[])?;
    }
    let state = pipeline.stage.name().as_bytes();
    if let Some(previous) = index.insert(state_of_key(&id), state)?
        && previous.as_ref() != state
    {
        index.remove(state_key(&previous, &id))?;
    }
    index.insert(state_key(state, &id), &[])?;
    Ok(())
}

impl Store {
    /// Queues work for the pipeline engine outside of a message batch (tests, `fedflow retry`).
    pub fn push_inbox(&self, item: &[u8]) -> Result<u64, StoreError> {
        let key = self.db.generate_id()?;
        self.inbox.insert(id_key(key), item)?;
        Ok(key)
    }

    /// The oldest `limit` inbox items, oldest first.
    pub fn inbox_items(&self, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let mut items = Vec::new();
        for entry in self.inbox.iter().take(limit) {
            let (key, value) = entry?;
            if let Some(key) = id_from(&key) {
                items.push((key, value.to_vec()));
            }
        }
        Ok(items)
    }

    pub fn pipeline_count(&self) -> usize {
        self.pipelines.len()
    }

    /// Stored pipelines by state name, in any state.
    pub fn pipeline_counts_by_state(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut counts = BTreeMap::new();
        for entry in self.pipeline_index.scan_prefix(STATE_PREFIX) {
            let (key, _) = entry?;
            // `state\0<name>\0<8-byte id>`
            let Some(name) = key
                .get(STATE_PREFIX.len()..key.len().saturating_sub(9))
                .filter(|_| key.len() >= STATE_PREFIX.len() + 9)
            else {
                continue;
            };
            *counts
                .entry(String::from_utf8_lossy(name).into_owned())
                .or_default() += 1;
        }
        Ok(counts)
    }

    /// Gives every stored pipeline its state entry, once per store: pipelines written before the index
    /// existed have none.
    pub(super) fn index_pipeline_states(&self) -> Result<(), StoreError> {
        if self.meta.get(STATE_INDEX_KEY)?.is_some() {
            return Ok(());
        }
        for entry in self.pipelines.iter() {
            let (key, raw) = entry?;
            let (Ok(id), Ok(pipeline)) = (
                <[u8; 8]>::try_from(key.as_ref()),
                decode::<Pipeline>(&raw, "pipeline"),
            ) else {
                continue;
            };
            let state = pipeline.stage.name().as_bytes();
            self.pipeline_index.insert(state_of_key(&id), state)?;
            self.pipeline_index.insert(state_key(state, &id), &[])?;
        }
        self.meta.insert(STATE_INDEX_KEY, &[])?;
        self.db.flush()?;
        Ok(())
    }

    /// Pipelines in `needs_attention`.
    pub fn needs_attention_count(&self) -> usize {
        self.pipeline_index.scan_prefix(ATTENTION_PREFIX).count()
    }

    pub fn inbox_len(&self) -> usize {
        self.inbox.len()
    }

    /// Drops an inbox item that needs no pipeline change (not ours, or not decodable).
    pub fn remove_inbox(&self, key: u64) -> Result<(), StoreError> {
        self.inbox.remove(id_key(key))?;
        Ok(())
    }

    /// Creates the pipeline of a push unless one exists for its key, and takes the inbox item out, atomically.
    pub fn create_pipeline(
        &self,
        key: &PushKey,
        inbox_key: Option<u64>,
        make: impl Fn(u64) -> Pipeline,
    ) -> Result<Created, StoreError> {
        let encoded_key = key.encode();
        let result = (
            &self.pipelines,
            &self.pipeline_index,
            &self.pipeline_active,
            &self.inbox,
            &self.meta,
        )
            .transaction(|(pipelines, index, active, inbox, meta)| {
                if let Some(key) = inbox_key {
                    inbox.remove(&id_key(key))?;
                }
                let mut push_key = b"push\0".to_vec();
                push_key.extend_from_slice(&encoded_key);
                if let Some(existing) = index.get(&push_key)? {
                    return Ok(Created::Existing(id_from(&existing).unwrap_or(0)));
                }
                // Consecutive ids: they are what an operator types (`fedflow retry 17`).
                let id = meta
                    .get(PIPELINE_SEQ_KEY)?
                    .and_then(|raw| id_from(&raw))
                    .unwrap_or(0)
                    + 1;
                meta.insert(PIPELINE_SEQ_KEY, &id_key(id))?;
                let pipeline = make(id);
                index.insert(push_key, &id_key(id))?;
                write_pipeline((pipelines, index, active), &pipeline)?;
                Ok(Created::New(Box::new(pipeline)))
            });
        unwrap_tx(result)
    }

    /// Applies `change` to pipeline `id` (and takes inbox item `inbox_key` out) in one transaction. `change`
    /// may run more than once on conflicts, so it must not have side effects. Returns the pipeline as
    /// written and what `change` returned, or `None` if there is no such pipeline.
    pub fn update_pipeline<T>(
        &self,
        id: u64,
        inbox_key: Option<u64>,
        change: impl Fn(&mut Pipeline) -> T,
    ) -> Result<Option<(Pipeline, T)>, StoreError> {
        let result = (
            &self.pipelines,
            &self.pipeline_index,
            &self.pipeline_active,
            &self.inbox,
        )
            .transaction(|(pipelines, index, active, inbox)| {
                if let Some(key) = inbox_key {
                    inbox.remove(&id_key(key))?;
                }
                let Some(raw) = pipelines.get(id_key(id))? else {
                    return Ok(None);
                };
                let mut pipeline: Pipeline = decode(&raw, "pipeline").map_err(Abort::Abort)?;
                let outcome = change(&mut pipeline);
                write_pipeline((pipelines, index, active), &pipeline)?;
                Ok(Some((pipeline, outcome)))
            });
        unwrap_tx(result)
    }

    pub fn pipeline(&self, id: u64) -> Result<Option<Pipeline>, StoreError> {
        self.pipelines
            .get(id_key(id))?
            .map(|raw| decode(&raw, "pipeline"))
            .transpose()
    }

    fn pipeline_by_index(&self, key: &[u8]) -> Result<Option<Pipeline>, StoreError> {
        match self.pipeline_index.get(key)?.and_then(|raw| id_from(&raw)) {
            Some(id) => self.pipeline(id),
            None => Ok(None),
        }
    }

    pub fn pipeline_by_push(&self, key: &PushKey) -> Result<Option<Pipeline>, StoreError> {
        let mut index_key = b"push\0".to_vec();
        index_key.extend(key.encode());
        self.pipeline_by_index(&index_key)
    }

    /// Whether a pipeline follows Koji task `task_id` (an index lookup only: this runs on the consume path).
    pub fn has_pipeline_for_task(&self, task_id: i64) -> Result<bool, StoreError> {
        Ok(self
            .pipeline_index
            .contains_key(format!("task\0{task_id}").as_bytes())?)
    }

    pub fn pipeline_by_task(&self, task_id: i64) -> Result<Option<Pipeline>, StoreError> {
        self.pipeline_by_index(format!("task\0{task_id}").as_bytes())
    }

    /// Whether a pipeline carries Koji build `build_id` (an index lookup only: this runs on the consume path).
    pub fn has_pipeline_for_build(&self, build_id: i64) -> Result<bool, StoreError> {
        Ok(self.pipeline_index.contains_key(build_key(build_id))?)
    }

    pub fn pipeline_by_build(&self, build_id: i64) -> Result<Option<Pipeline>, StoreError> {
        self.pipeline_by_index(build_key(build_id).as_bytes())
    }

    /// Whether a pipeline's build is `nvr` (an index lookup only: this runs on the consume path).
    pub fn has_pipeline_for_nvr(&self, nvr: &str) -> Result<bool, StoreError> {
        Ok(self.pipeline_index.contains_key(nvr_key(nvr))?)
    }

    /// The pipeline whose build is `nvr` (how Bodhi's messages, which name builds by NVR, are matched).
    pub fn pipeline_by_nvr(&self, nvr: &str) -> Result<Option<Pipeline>, StoreError> {
        self.pipeline_by_index(nvr_key(nvr).as_bytes())
    }

    /// The pipeline that builds `source_url` in `target`: how a build is matched when its task id was lost.
    pub fn pipeline_by_source(
        &self,
        source_url: &str,
        target: &str,
    ) -> Result<Option<Pipeline>, StoreError> {
        let mut key = b"source\0".to_vec();
        key.extend(source_key(source_url, target));
        self.pipeline_by_index(&key)
    }

    /// Pipelines not yet in a terminal stage, oldest first.
    pub fn active_pipelines(&self) -> Result<Vec<Pipeline>, StoreError> {
        let mut found = Vec::new();
        for entry in self.pipeline_active.iter() {
            let (key, _) = entry?;
            if let Some(pipeline) = id_from(&key).map(|id| self.pipeline(id)).transpose()? {
                found.extend(pipeline);
            }
        }
        Ok(found)
    }

    /// All pipelines, newest first, at most `limit`.
    pub fn pipelines(&self, limit: usize) -> Result<Vec<Pipeline>, StoreError> {
        let mut found = Vec::new();
        for entry in self.pipelines.iter().rev().take(limit) {
            let (_, raw) = entry?;
            found.push(decode(&raw, "pipeline")?);
        }
        Ok(found)
    }

    /// A cached document (a `.packit.yaml`, Bodhi's releases) and when it was stored (Unix seconds).
    pub fn cached(&self, key: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        Ok(self.cache.get(key.as_bytes())?.and_then(|raw| {
            let stored_at = raw
                .get(..8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)?;
            Some((stored_at, raw.get(8..)?.to_vec()))
        }))
    }

    pub fn cache(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let mut raw = unix_now().to_be_bytes().to_vec();
        raw.extend_from_slice(value);
        self.cache.insert(key.as_bytes(), raw)?;
        Ok(())
    }

    /// Forgets every cached entry whose key starts with `prefix`.
    pub fn uncache_prefix(&self, prefix: &str) -> Result<(), StoreError> {
        for entry in self.cache.scan_prefix(prefix.as_bytes()) {
            let (key, _) = entry?;
            self.cache.remove(key)?;
        }
        Ok(())
    }

    /// Records a Koji build of a watched package (ours or anyone's), keyed by build id.
    pub fn record_build<T: Serialize>(&self, build_id: i64, build: &T) -> Result<(), StoreError> {
        self.builds
            .insert(build_id.to_be_bytes(), encode(build, "build")?)?;
        Ok(())
    }

    pub fn build_record<T: DeserializeOwned>(
        &self,
        build_id: i64,
    ) -> Result<Option<T>, StoreError> {
        self.builds
            .get(build_id.to_be_bytes())?
            .map(|raw| decode(&raw, "build"))
            .transpose()
    }
}

//! Messages that move pipelines after the build: `buildsys.tag` into the candidate tag releases a pipeline
//! waiting for it; `bodhi.update.request.*` and `bodhi.update.complete.*` move a pipeline's update (or
//! reveal one: Bodhi's automatic update, or one made by hand).

use super::follow::report_message_move;
use super::{Stage, UpdateOrigin, unix_now};
use crate::message::{BodhiUpdateMessage, KojiTagChange};
use crate::store::{Store, StoreError};

/// Applies a tag message; returns the pipeline that can take its next step now.
pub(super) fn take_tag(
    store: &Store,
    inbox_key: u64,
    message_id: &str,
    change: &KojiTagChange,
) -> Result<Option<u64>, StoreError> {
    let waiting = store.pipeline_by_build(change.build_id)?.filter(|p| {
        matches!(&p.stage, Stage::AwaitingTag { candidate_tag, .. }
            if change.tag.as_deref() == Some(candidate_tag.as_str()))
    });
    let Some(pipeline) = waiting else {
        store.remove_inbox(inbox_key)?;
        return Ok(None);
    };
    let now = unix_now();
    let moved = store.update_pipeline(pipeline.id, Some(inbox_key), |p| {
        p.tagged("buildsys.tag message", now)
    })?;
    Ok(report_message_move(moved, message_id, "tag"))
}

/// Applies a Bodhi update message to the pipelines of its builds.
pub(super) fn take_update(
    store: &Store,
    inbox_key: u64,
    message_id: &str,
    message: &BodhiUpdateMessage,
) -> Result<(), StoreError> {
    let update = &message.update;
    let status = status_after(message);
    let note = format!(
        "Bodhi: {} {} ({status})",
        update.alias,
        message.sub_topic.replace('.', " ")
    );
    let now = unix_now();
    for build in &update.builds {
        let Some(pipeline) = store.pipeline_by_nvr(&build.nvr)? else {
            continue;
        };
        let moved = store.update_pipeline(pipeline.id, None, |p| match &p.stage {
            Stage::Update { alias, .. } if *alias == update.alias => {
                p.update_status(status.clone(), note.clone(), now)
            }
            Stage::AwaitingAutomaticUpdate { .. } | Stage::NeedsAttention { .. } => p.update_found(
                update.alias.clone(),
                status.clone(),
                UpdateOrigin::Automatic,
                now,
            ),
            _ => p.update_found(
                update.alias.clone(),
                status.clone(),
                UpdateOrigin::Adopted,
                now,
            ),
        })?;
        report_message_move(moved, message_id, "Bodhi");
    }
    store.remove_inbox(inbox_key)
}

/// The update's status after the message: `complete.<status>` says it; a request leaves it as the update
/// JSON gives it.
fn status_after(message: &BodhiUpdateMessage) -> String {
    if let Some(done) = message.sub_topic.strip_prefix("complete.") {
        return done.to_owned();
    }
    message
        .update
        .status
        .clone()
        .unwrap_or_else(|| "pending".to_owned())
}

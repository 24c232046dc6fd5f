//! The notes and bug list of a Bodhi update, made from RPM changelogs the way Packit makes them
//! (packit `distgit.py` `create_bodhi_update`, `utils/koji_helper.py` `format_changelog`): the entries
//! newer than the latest stable build's, rendered like `rpm -q --changelog` under a `Changelog for
//! <package>` heading, cut to Bodhi's length limit, and the bugs they close.
//!
//! Changelog text comes from whoever wrote the spec file: nothing here may panic or grow without
//! bound on it, and the rendered notes never exceed the limit they are given.

mod bugs;
mod render;

#[cfg(test)]
mod tests;

pub use bugs::{MAX_BUGS, bug_ids};

use std::collections::HashSet;

use crate::koji::ChangelogEntry;

/// Bodhi's `update_notes_maxlength`: the longest `notes` a `POST /updates/` accepts, in characters.
pub const BODHI_NOTES_MAX: usize = 10_000;

/// What goes into an update's `notes` and `bugs` fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateNotes {
    pub notes: String,
    pub bugs: Vec<u64>,
}

/// The entries of `new` (newest first, as rpm stores them) that are newer than the baseline's
/// newest entry: the leading run of `new` before the first entry that is older than it, or as old
/// and identical to one of the baseline's entries of that time. Comparing identity, not only time,
/// keeps a second entry of the same day (rpm dates have day precision), which Packit's `time <=
/// since` cut drops. An empty baseline (no stable build yet) keeps all of `new`.
pub fn entries_since<'a>(
    new: &'a [ChangelogEntry],
    baseline: &[ChangelogEntry],
) -> &'a [ChangelogEntry] {
    let Some(newest) = baseline.iter().map(|entry| entry.time).max() else {
        return new;
    };
    // A set, so a changelog of thousands of same-stamp entries stays linear.
    let seen_at_newest: HashSet<&ChangelogEntry> = baseline
        .iter()
        .filter(|entry| entry.time == newest)
        .collect();
    let end = new
        .iter()
        .position(|entry| {
            entry.time < newest || (entry.time == newest && seen_at_newest.contains(entry))
        })
        .unwrap_or(new.len());
    &new[..end]
}

/// `Automatic update for <nvr>.`, then (when there are entries) Packit's block
/// ``##### **Changelog for <package>**`` with the entries in a fenced code block. When that exceeds
/// `max_len` characters the changelog is cut, at a line end where one is in reach, and a note says
/// so; the result never exceeds `max_len` characters. Bugs come from the whole, uncut text (what the
/// changelog says the update fixes is true whether or not it fits), see [`bug_ids`].
pub fn update_notes(
    nvr: &str,
    package: &str,
    entries: &[ChangelogEntry],
    max_len: usize,
) -> UpdateNotes {
    let header = format!("Automatic update for {nvr}.");
    let changelog = render::changelog(entries);
    if changelog.is_empty() {
        let bugs = bug_ids(&header);
        return UpdateNotes {
            notes: render::cut_chars(&header, max_len).to_owned(),
            bugs,
        };
    }
    let block = render::Block::new(package, &changelog);
    let full = block.around(&header, &changelog, "");
    let bugs = bug_ids(&full);
    let notes = if full.chars().count() <= max_len {
        full
    } else {
        block.truncated(&header, &changelog, max_len)
    };
    UpdateNotes { notes, bugs }
}

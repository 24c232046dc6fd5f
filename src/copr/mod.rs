//! Copr build tracking: which `copr.build.start`/`copr.build.end` messages concern a tracked project, the
//! per-(build, chroot) record they make ([`record`]), and the warning a failed chroot build gives. The
//! records and the per-(project, status) counters of finished chroots are written by the store in the same
//! transaction as the message ([`crate::store::Store::copr_builds`], [`crate::store::Store::copr_counts`]).

mod record;

pub use record::{
    CoprBuildRecord, CoprObservation, SRPM_CHROOT, Transition, apply, build_url, results_url,
};

use crate::config::CoprSettings;
use crate::message::{self, Event};

/// The observation a decoded message makes, if it is a Copr build message of a tracked project.
pub fn observe(
    settings: &CoprSettings,
    message_id: &str,
    sent_at: Option<&str>,
    event: &Event,
) -> Option<CoprObservation> {
    let (build, ended) = match event {
        Event::CoprBuildStart(build) => (build, false),
        Event::CoprBuildEnd(build) => (build, true),
        _ => return None,
    };
    if !settings.watches(&build.owner, &build.copr) {
        return None;
    }
    Some(CoprObservation {
        message_id: message_id.to_owned(),
        ended,
        build: build.clone(),
        sent_at: sent_at
            .and_then(message::parse_sent_at)
            .and_then(|time| u64::try_from(time.unix_timestamp()).ok()),
        build_url: build_url(&settings.url, &build.owner, &build.copr, build.build),
        results_url: results_url(
            &settings.results_url,
            &build.owner,
            &build.copr,
            &build.chroot,
            build.build,
            build.pkg.as_deref(),
        ),
    })
}

/// Logs a chroot that finished as failed, once: the caller passes only records that finished in a
/// committed transaction, which a redelivered or republished message never produces again.
pub fn report_finished(record: &CoprBuildRecord) {
    if !record.is_failed() {
        return;
    }
    tracing::warn!(
        message_id = %crate::journal::COPR_BUILD_FAILED,
        copr_build_id = record.build_id,
        copr_project = %record.project,
        chroot = %record.chroot,
        package = %record.package.as_deref().unwrap_or("-"),
        version = %record.version.as_deref().unwrap_or("-"),
        amqp_message_id = %record.end_message_id.as_deref().unwrap_or("-"),
        build_url = %record.build_url,
        "copr build {} of {} failed in {}",
        record.build_id,
        record.project,
        record.chroot
    );
}

#[cfg(test)]
mod tests;

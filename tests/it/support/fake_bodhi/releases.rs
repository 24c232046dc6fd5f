//! The fake Bodhi's releases: `GET /releases/` with `state` filters and paging, and realistic release
//! objects (every field Bodhi serves) for tests to seed.

use super::{Shared, paged, query_of};
use crate::support::fake_http::lock;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use serde_json::{Value, json};

/// Bodhi's maximum `rows_per_page` for releases.
const MAX_ROWS: u64 = 100;

pub(super) async fn list(State(state): State<Shared>, uri: Uri) -> Response {
    let query = query_of(&uri);
    let states: Vec<&str> = query
        .iter()
        .filter(|(name, _)| name == "state")
        .map(|(_, value)| value.as_str())
        .collect();
    let matching: Vec<Value> = lock(&state)
        .releases
        .iter()
        .filter(|release| {
            states.is_empty()
                || release
                    .get("state")
                    .and_then(Value::as_str)
                    .is_some_and(|s| states.contains(&s))
        })
        .cloned()
        .collect();
    paged(&query, "releases", matching, MAX_ROWS)
}

/// One release object with all the fields Bodhi serves (bodhi.md §1).
pub fn release_json(
    name: &str,
    version: &str,
    id_prefix: &str,
    branch: &str,
    state: &str,
) -> Value {
    let epel = id_prefix == "FEDORA-EPEL";
    let rawhide = branch == "rawhide";
    let (long_name, tag_base, candidate, testing, stable) = if epel {
        let tag = branch.to_owned();
        (
            format!("Fedora EPEL {version}"),
            tag.clone(),
            format!("{tag}-testing-candidate"),
            format!("{tag}-testing"),
            tag,
        )
    } else {
        let tag = format!("f{version}");
        let stable = if rawhide {
            tag.clone()
        } else {
            format!("{tag}-updates")
        };
        (
            format!("Fedora {version}"),
            tag.clone(),
            format!("{tag}-updates-candidate"),
            format!("{tag}-updates-testing"),
            stable,
        )
    };
    json!({
        "name": name, "long_name": long_name, "version": version, "id_prefix": id_prefix, "branch": branch,
        "dist_tag": tag_base, "stable_tag": stable, "testing_tag": testing, "candidate_tag": candidate,
        "pending_signing_tag": format!("{tag_base}-signing-pending"),
        "pending_testing_tag": format!("{testing}-pending"), "pending_stable_tag": format!("{stable}-pending"),
        "override_tag": format!("{tag_base}-override"),
        "mail_template": if epel { "fedora_epel_legacy_errata_template" } else { "fedora_errata_template" },
        "state": state, "composed_by_bodhi": !rawhide, "create_automatic_updates": rawhide,
        "package_manager": if epel { "unspecified" } else { "dnf" },
        "testing_repository": if epel { Value::Null } else { json!("updates-testing") },
        "released_on": null, "eol": null, "setting_status": if rawhide { json!("pre_beta") } else { Value::Null },
        "critpath_mandatory_days_in_testing": 14, "mandatory_days_in_testing": 7,
        "critpath_min_karma": 2, "min_karma": 1,
    })
}

/// F42, F43 current; F44 branched (pending, branch f44); F45 rawhide (pending, branch rawhide); EPEL 8, 9,
/// 10.1 current and 10.2 pending (the leading minor, branch epel10); ELN, a container and a flatpak
/// release, EPEL 9 Next, and archived F41 and EPEL-7 (filtered out by `state`). Sorted by name, as Bodhi does.
pub fn realistic_releases() -> Vec<Value> {
    let mut eln = release_json("ELN", "eln", "FEDORA", "eln", "pending");
    eln["long_name"] = json!("Fedora ELN");
    eln["candidate_tag"] = json!("eln-updates-candidate");
    let mut container = release_json("F43C", "43", "FEDORA-CONTAINER", "f43", "current");
    container["long_name"] = json!("Fedora 43 Containers");
    container["candidate_tag"] = json!("f43-container-updates-candidate");
    let mut flatpak = release_json("F43F", "43", "FEDORA-FLATPAK", "f43", "current");
    flatpak["long_name"] = json!("Fedora 43 Flatpaks");
    flatpak["candidate_tag"] = json!("f43-flatpak-updates-candidate");
    let mut next = release_json("EPEL-9N", "9", "FEDORA-EPEL-NEXT", "epel9-next", "current");
    next["long_name"] = json!("Fedora EPEL 9 Next");
    let mut old_epel = release_json("EPEL-7", "7", "FEDORA-EPEL", "epel7", "archived");
    old_epel["create_automatic_updates"] = Value::Null;
    vec![
        eln,
        release_json("EPEL-10.1", "10.1", "FEDORA-EPEL", "epel10.1", "current"),
        release_json("EPEL-10.2", "10.2", "FEDORA-EPEL", "epel10", "pending"),
        old_epel,
        release_json("EPEL-8", "8", "FEDORA-EPEL", "epel8", "current"),
        release_json("EPEL-9", "9", "FEDORA-EPEL", "epel9", "current"),
        next,
        release_json("F41", "41", "FEDORA", "f41", "archived"),
        release_json("F42", "42", "FEDORA", "f42", "current"),
        release_json("F43", "43", "FEDORA", "f43", "current"),
        container,
        flatpak,
        release_json("F44", "44", "FEDORA", "f44", "pending"),
        release_json("F45", "45", "FEDORA", "rawhide", "pending"),
    ]
}

//! Unit tests of alias resolution against realistic Bodhi release lists.

use super::*;

fn release(name: &str, version: &str, id_prefix: &str, branch: &str, state: &str) -> Release {
    let fedora = id_prefix == "FEDORA";
    Release {
        name: name.to_owned(),
        long_name: match id_prefix {
            "FEDORA-EPEL" => format!("Fedora EPEL {version}"),
            _ => format!("Fedora {version}"),
        },
        version: version.to_owned(),
        id_prefix: id_prefix.to_owned(),
        branch: branch.to_owned(),
        state: state.to_owned(),
        candidate_tag: Some(if fedora {
            format!("{branch}-updates-candidate")
        } else {
            format!("{branch}-testing-candidate")
        }),
        composed_by_bodhi: branch != "rawhide",
        create_automatic_updates: branch == "rawhide",
        stable_tag: Some(format!("{branch}-updates")),
        dist_tag: Some(branch.to_owned()),
    }
}

/// F42, F43 current; F44 branched (pending, branch f44); F45 rawhide; EPEL 8, 9, 10.1 current and 10.2
/// pending (leading minor, branch epel10); plus releases that never count: ELN, a container, a flatpak,
/// EPEL Next, an archived Fedora.
fn releases() -> Vec<Release> {
    vec![
        release("ELN", "eln", "FEDORA", "eln", "pending"),
        release("EPEL-10.1", "10.1", "FEDORA-EPEL", "epel10.1", "current"),
        release("EPEL-10.2", "10.2", "FEDORA-EPEL", "epel10", "pending"),
        release("EPEL-8", "8", "FEDORA-EPEL", "epel8", "current"),
        release("EPEL-9", "9", "FEDORA-EPEL", "epel9", "current"),
        release("EPEL-9N", "9", "FEDORA-EPEL-NEXT", "epel9-next", "current"),
        release("F41", "41", "FEDORA", "f41", "archived"),
        release("F42", "42", "FEDORA", "f42", "current"),
        release("F42C", "42", "FEDORA-CONTAINER", "f42", "current"),
        release("F43", "43", "FEDORA", "f43", "current"),
        release("F43F", "43", "FEDORA-FLATPAK", "f43", "current"),
        release("F44", "44", "FEDORA", "f44", "pending"),
        release("F45", "45", "FEDORA", "rawhide", "pending"),
    ]
}

fn resolve(entries: &[&str], releases: &[Release]) -> Vec<String> {
    let entries: Vec<String> = entries.iter().map(|entry| (*entry).to_owned()).collect();
    resolve_branches(&entries, releases).into_iter().collect()
}

#[track_caller]
fn assert_resolves(entry: &str, releases: &[Release], expected: &[&str]) {
    assert_eq!(resolve(&[entry], releases), expected, "{entry}");
}

#[test]
fn fedora_aliases() {
    let releases = releases();
    assert_resolves("fedora-all", &releases, &["f42", "f43", "f44", "rawhide"]);
    assert_resolves("fedora-stable", &releases, &["f42", "f43"]);
    assert_resolves("fedora-development", &releases, &["f44", "rawhide"]);
    assert_resolves("fedora-latest", &releases, &["f44"]);
    assert_resolves("fedora-latest-stable", &releases, &["f43"]);
    assert_resolves("fedora-branched", &releases, &["f42", "f43", "f44"]);
}

#[test]
fn epel_aliases() {
    let releases = releases();
    assert_resolves(
        "epel-all",
        &releases,
        &["epel10", "epel10.1", "epel8", "epel9"],
    );
    assert_resolves("epel-10", &releases, &["epel10"]);
    assert_resolves("epel-10-branched", &releases, &["epel10.1"]);
    assert_resolves("epel-10-all", &releases, &["epel10", "epel10.1"]);
    assert_resolves("epel-9", &releases, &["epel9"]);
    assert_resolves("epel-9-branched", &releases, &[]);
    assert_resolves("epel-10.1", &releases, &["epel10.1"]);
    assert_resolves("epel-10.2", &releases, &["epel10"]);
}

#[test]
fn two_trailing_epel_minors_are_both_branched() {
    let mut releases = releases();
    releases.push(release(
        "EPEL-10.0",
        "10.0",
        "FEDORA-EPEL",
        "epel10.0",
        "current",
    ));
    assert_resolves("epel-10-branched", &releases, &["epel10.0", "epel10.1"]);
    assert_resolves("epel-10", &releases, &["epel10"]);
}

#[test]
fn plain_names_and_numbered_forms() {
    let releases = releases();
    for (entry, expected) in [
        ("rawhide", "rawhide"),
        ("main", "rawhide"),
        ("fedora-rawhide", "rawhide"),
        ("f42", "f42"),
        ("fedora-42", "f42"),
        ("fedora-44", "f44"),
        ("fedora-45", "rawhide"),
        ("f45", "rawhide"),
        ("fedora-40", "f40"),
        ("epel9", "epel9"),
        ("epel-8", "epel8"),
        ("epel-7", "epel7"),
        ("epel10", "epel10"),
        ("epel10.1", "epel10.1"),
        ("eln", "eln"),
        ("fedora-eln", "fedora-eln"),
        ("my-feature/branch", "my-feature/branch"),
        ("epel-11-all", "epel-11-all"),
        ("foo", "foo"),
    ] {
        assert_resolves(entry, &releases, &[expected]);
    }
}

#[test]
fn entries_union_and_blank_entries_are_skipped() {
    let releases = releases();
    assert_eq!(
        resolve(
            &["fedora-stable", " epel-10 ", "f43", "", "main"],
            &releases
        ),
        ["epel10", "f42", "f43", "rawhide"]
    );
}

/// Right after F44 branched, Bodhi may still report F44 with branch `rawhide` and F45 with `f45`.
#[test]
fn branching_window_renames_the_second_highest_rawhide() {
    let mut releases = releases();
    for release in &mut releases {
        match release.name.as_str() {
            "F44" => release.branch = "rawhide".to_owned(),
            "F45" => release.branch = "f45".to_owned(),
            _ => {}
        }
    }
    assert_resolves("fedora-all", &releases, &["f42", "f43", "f44", "rawhide"]);
    assert_resolves("fedora-branched", &releases, &["f42", "f43", "f44"]);
    assert_resolves("fedora-latest", &releases, &["f44"]);
    assert_resolves("f45", &releases, &["rawhide"]);
}

/// Before branching: rawhide is the only development release, fedora-latest falls back to stable.
#[test]
fn without_a_branched_release() {
    let releases: Vec<Release> = releases()
        .into_iter()
        .filter(|release| release.name != "F44")
        .collect();
    assert_resolves("fedora-latest", &releases, &["f43"]);
    assert_resolves("fedora-development", &releases, &["rawhide"]);
    assert_resolves("fedora-branched", &releases, &["f42", "f43"]);
}

#[test]
fn frozen_counts_as_development() {
    let mut releases = releases();
    for release in &mut releases {
        if release.name == "F44" {
            release.state = "frozen".to_owned();
        }
    }
    assert_resolves("fedora-development", &releases, &["f44", "rawhide"]);
    assert_resolves("fedora-latest", &releases, &["f44"]);
}

#[test]
fn no_releases_resolve_only_fixed_names() {
    assert_resolves("fedora-all", &[], &[]);
    assert_resolves("epel-10", &[], &["epel10"]);
    assert_resolves("main", &[], &["rawhide"]);
    assert_resolves("f42", &[], &["f42"]);
}

#[test]
fn version_parsing_rejects_odd_strings() {
    assert_eq!(parse_version("10.1"), Some((10, Some(1))));
    assert_eq!(parse_version("42"), Some((42, None)));
    for odd in ["", "eln", "+1", "10.", ".1", "10.1.2", "99999999", "4 2"] {
        assert_eq!(parse_version(odd), None, "{odd:?}");
    }
}

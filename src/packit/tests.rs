//! Unit tests of the Packit config parser: realistic configs, Packit's defaults and inheritance, and
//! hostile input.

use super::*;

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn parse_ok(text: &str) -> PackitConfig {
    match parse(text) {
        Ok(config) => config,
        Err(err) => panic!("config should parse: {err}"),
    }
}

#[test]
fn docs_minimal_example() {
    let config = parse_ok(
        "jobs:
- job: koji_build
  trigger: commit
  allowed_committers: [\"jsmith\"]
  dist_git_branches:
    - fedora-all
    - epel-8

- job: bodhi_update
  trigger: commit
  dist_git_branches:
    - fedora-branched # rawhide updates are created automatically
    - epel-8
",
    );
    assert_eq!(
        config.koji_build,
        vec![KojiBuildJob {
            dist_git_branches: strings(&["fedora-all", "epel-8"]),
            allowed_committers: strings(&["jsmith"]),
            allowed_pr_authors: strings(&["packit"]),
            scratch: false,
            sidetag_group: None,
            require_labels_present: vec![],
            require_labels_absent: vec![],
        }]
    );
    assert_eq!(config.bodhi_update.len(), 1);
    assert_eq!(
        config.bodhi_update[0].dist_git_branches,
        strings(&["fedora-branched", "epel-8"])
    );
    // Absent: fedflow's own builds only (Packit would default to its `packit` account).
    assert!(config.bodhi_update[0].allowed_builders.is_empty());
    assert!(config.bodhi_update[0].bodhi_extra_params.is_empty());
    assert!(config.notes.is_empty());
}

#[test]
fn upstream_and_downstream_jobs_mixed_with_top_level_inheritance() {
    let config = parse_ok(
        "specfile_path: fedora/python-ogr.spec
upstream_package_name: ogr
downstream_package_name: python-ogr
upstream_project_url: https://github.com/packit/ogr
issue_repository: https://github.com/packit/ogr
dist_git_branches: [fedora-all, epel-9]
allowed_pr_authors: [packit, all_committers]
actions:
  post-upstream-clone: make generate
srpm_build_deps: [python3-pip]
jobs:
  - job: copr_build
    trigger: pull_request
    targets: [fedora-all]
  - job: tests
    trigger: pull_request
    targets: [fedora-all]
  - job: propose_downstream
    trigger: release
    dist_git_branches:
      rawhide:
        fast_forward_merge_into: [fedora-branched]
  - job: koji_build
    trigger: commit
    scratch: yes
    require:
      label:
        present: [ship-it]
        absent: [do-not-build]
  - job: koji_build
    trigger: commit
    dist_git_branches: epel-10
    allowed_committers: ['@python-packagers-sig', all_admins]
  - job: bodhi_update
    trigger: commit
    allowed_builders: [all_committers]
    bodhi_extra_params:
      severity: low
      stable_karma: 2
      close_bugs: false
",
    );
    assert_eq!(
        config.downstream_package_name.as_deref(),
        Some("python-ogr")
    );
    assert_eq!(config.koji_build.len(), 2);
    let first = &config.koji_build[0];
    assert_eq!(first.dist_git_branches, strings(&["fedora-all", "epel-9"]));
    assert_eq!(
        first.allowed_pr_authors,
        strings(&["packit", "all_committers"])
    );
    assert!(first.scratch);
    assert_eq!(first.require_labels_present, strings(&["ship-it"]));
    assert_eq!(first.require_labels_absent, strings(&["do-not-build"]));
    let second = &config.koji_build[1];
    assert_eq!(second.dist_git_branches, strings(&["epel-10"]));
    assert_eq!(
        second.allowed_committers,
        strings(&["@python-packagers-sig", "all_admins"])
    );
    assert!(!second.scratch);
    let bodhi = &config.bodhi_update[0];
    assert_eq!(bodhi.dist_git_branches, strings(&["fedora-all", "epel-9"]));
    assert_eq!(bodhi.allowed_builders, strings(&["all_committers"]));
    assert_eq!(
        bodhi.bodhi_extra_params.get("severity"),
        Some(&serde_json::json!("low"))
    );
    assert_eq!(
        bodhi.bodhi_extra_params.get("stable_karma"),
        Some(&serde_json::json!(2))
    );
    assert_eq!(
        bodhi.bodhi_extra_params.get("close_bugs"),
        Some(&serde_json::json!(false))
    );
}

#[test]
fn defaults_when_keys_are_absent_or_empty() {
    let config = parse_ok(
        "jobs:
- {job: koji_build, trigger: commit}
- {job: koji_build, trigger: commit, dist_git_branches: [], allowed_pr_authors: []}
- {job: bodhi_update, trigger: commit}
",
    );
    assert_eq!(config.koji_build[0].dist_git_branches, strings(&["main"]));
    assert_eq!(
        config.koji_build[0].allowed_pr_authors,
        strings(&["packit"])
    );
    assert!(config.koji_build[0].allowed_committers.is_empty());
    // An explicit empty branch list means the default; an explicit empty allowlist stays empty.
    assert_eq!(config.koji_build[1].dist_git_branches, strings(&["main"]));
    assert!(config.koji_build[1].allowed_pr_authors.is_empty());
    assert_eq!(
        config.bodhi_update[0].dist_git_branches,
        strings(&["fedora-stable"])
    );
}

#[test]
fn anchors_and_merge_keys_are_resolved() {
    let config = parse_ok(
        "_common: &common
  dist_git_branches: [fedora-stable]
  allowed_committers: [alice]
  scratch: true
_extra: &extra
  allowed_committers: [ignored-because-common-comes-first]
  allowed_pr_authors: [bob]
jobs:
- &koji
  job: koji_build
  trigger: commit
  <<: [*common, *extra]
  scratch: false
- <<: *koji
  dist_git_branches: [rawhide]
- job: bodhi_update
  trigger: commit
  <<: *common
",
    );
    assert_eq!(config.koji_build.len(), 2);
    let first = &config.koji_build[0];
    assert_eq!(first.dist_git_branches, strings(&["fedora-stable"]));
    assert_eq!(first.allowed_committers, strings(&["alice"]));
    assert_eq!(first.allowed_pr_authors, strings(&["bob"]));
    assert!(!first.scratch, "explicit key wins over the merged one");
    let second = &config.koji_build[1];
    assert_eq!(second.dist_git_branches, strings(&["rawhide"]));
    assert_eq!(
        second.allowed_committers,
        strings(&["alice"]),
        "nested merge resolved"
    );
    assert_eq!(
        config.bodhi_update[0].dist_git_branches,
        strings(&["fedora-stable"])
    );
}

#[test]
fn split_triggers_select_commit_and_note_side_tag_builds() {
    let config = parse_ok(
        "jobs:
- job: koji_build
  trigger: commit | koji_build
  sidetag_group: kde-sidetags
  dependents: [kf6-kcoreaddons]
- job: bodhi_update
  trigger: koji_build
  sidetag_group: kde-sidetags
",
    );
    assert_eq!(config.koji_build.len(), 1);
    assert_eq!(
        config.koji_build[0].sidetag_group.as_deref(),
        Some("kde-sidetags")
    );
    assert!(config.bodhi_update.is_empty());
    for expected in [
        "koji_build jobs with trigger koji_build (side-tag builds) are not supported yet",
        "bodhi_update jobs with trigger koji_build (side-tag builds) are not supported yet",
        "koji_build: sidetag_group is not supported yet",
        "koji_build: dependents/dependencies are not supported yet",
    ] {
        assert!(
            config.notes.iter().any(|note| note == expected),
            "{expected}: {:?}",
            config.notes
        );
    }
}

#[test]
fn other_instances_manual_triggers_and_other_triggers_are_not_selected() {
    let config = parse_ok(
        "packit_instances: [stg]
jobs:
- {job: koji_build, trigger: commit}
- {job: koji_build, trigger: commit, packit_instances: [prod, stg], manual_trigger: 'yes'}
- {job: koji_build, trigger: pull_request, packit_instances: [prod]}
- {job: koji_build_tag, trigger: commit, packit_instances: [prod]}
- {job: bodhi_update, trigger: commit, packit_instances: [prod, stg], manual_trigger: off}
",
    );
    assert!(config.koji_build.is_empty(), "{:?}", config.koji_build);
    assert_eq!(config.bodhi_update.len(), 1);
}

#[test]
fn actions_run_condition_is_noted() {
    let config = parse_ok(
        "actions:
  run-condition: test -f ready
jobs:
- {job: bodhi_update, trigger: commit}
",
    );
    assert_eq!(
        config.notes,
        strings(&["bodhi_update: actions.run-condition is not supported yet"])
    );
}

#[test]
fn type_errors_name_their_line() {
    let err = parse("jobs:\n- job: koji_build\n  trigger: commit\n  scratch: maybe\n")
        .expect_err("maybe");
    assert_eq!((err.line, err.column), (4, 12), "{err}");
    assert!(err.message.contains("maybe"), "{err}");
    assert!(err.to_string().starts_with("line 4 column 12: "), "{err}");

    let err =
        parse("jobs:\n  - job: koji_build\n    trigger: commit\n    allowed_committers: alice\n")
            .expect_err("scalar allowlist");
    assert_eq!(err.line, 4, "{err}");

    let err = parse(
        "jobs:\n- job: bodhi_update\n  trigger: commit\n  dist_git_branches: [f42, {a: b}]\n",
    )
    .expect_err("mapping in branch list");
    assert_eq!(err.line, 4, "{err}");
}

#[test]
fn malformed_yaml_names_its_line() {
    let err = parse("jobs:\n- job: koji_build\n  trigger: commit\n   bad indent: [\n")
        .expect_err("bad yaml");
    assert!(err.line >= 3, "{err}");
    let err = parse("jobs: [\n  {job: koji_build,\n").expect_err("unterminated");
    assert!(err.line >= 2, "{err}");
}

#[test]
fn jobs_missing_required_keys_are_errors() {
    let err = parse("jobs:\n- trigger: commit\n").expect_err("no job");
    assert_eq!(err.to_string(), "jobs[0]: missing `job`");
    let err = parse("jobs:\n- job: koji_build\n").expect_err("no trigger");
    assert_eq!(err.to_string(), "jobs[0]: missing `trigger`");
}

#[test]
fn empty_and_jobless_configs_select_nothing() {
    for text in [
        "",
        "# only a comment\n",
        "---\n",
        "specfile_path: foo.spec\n",
    ] {
        assert_eq!(parse_ok(text), PackitConfig::default(), "{text:?}");
    }
    assert!(
        parse("- a\n- b\n").is_err(),
        "a top-level list is not a config"
    );
}

/// Found by fuzzing (`fuzz/fuzz_targets/packit_yaml.rs` checks that an error's line lies within the text):
/// positions count lines as YAML breaks them, and an error at the end of a text without a final line break
/// is on the line after the last, where libyaml puts the end of the stream.
#[test]
fn error_lines_count_yaml_line_breaks() {
    let err = parse("jobs:\r- job: koji_build\r  trigger: commit\r  scratch: maybe\r")
        .expect_err("maybe, after carriage returns only");
    assert_eq!((err.line, err.column), (4, 12), "{err}");
    let err = parse("jobs: [\n  {job: koji_build,").expect_err("unterminated, no final break");
    assert_eq!(err.line, 3, "{err}");
}

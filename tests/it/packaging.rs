//! What the RPM installs, checked with the tools that read it: the unit with `systemd-analyze`, the journal
//! catalog with `journalctl`, the spec with `rpmspec` and `rpmlint`, the man pages and completions the
//! binary generates. `.ci/run` installs the tools.

use crate::support::daemon::BIN;
use fedflow::journal;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {program} (installed by .ci/run): {e}"))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_unit_verifies_and_its_exposure_is_low() {
    let dir = TempDir::new().expect("temp dir");
    // verify checks that ExecStart exists: point it at the binary under test.
    let unit = fs::read_to_string(repo_file("systemd/fedflow.service"))
        .expect("read the unit")
        .replace("ExecStart=/usr/bin/fedflow", &format!("ExecStart={BIN}"));
    let path = dir.path().join("fedflow.service");
    fs::write(&path, unit).expect("write the unit");
    let path = path.to_str().expect("utf-8 path");

    let verify = run("systemd-analyze", &["verify", "--man=no", path]);
    assert!(
        verify.status.success() && text(&verify).trim().is_empty(),
        "systemd-analyze verify: {}",
        text(&verify)
    );
    let security = run("systemd-analyze", &["security", "--offline=yes", path]);
    let report = text(&security);
    let exposure: f64 = report
        .lines()
        .find_map(|line| {
            line.split("Overall exposure level for fedflow.service: ")
                .nth(1)
        })
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|level| level.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{report}"));
    assert!(
        exposure <= 2.0,
        "exposure {exposure} (0 best, 10 worst):\n{report}"
    );
}

#[test]
fn journalctl_indexes_one_catalog_entry_per_message_id() {
    let root = TempDir::new().expect("temp root");
    let catalog_dir = root.path().join("usr/lib/systemd/catalog");
    fs::create_dir_all(&catalog_dir).expect("catalog dir");
    fs::copy(
        repo_file("systemd/fedflow.catalog"),
        catalog_dir.join("fedflow.catalog"),
    )
    .expect("install the catalog");
    let root = root.path().to_str().expect("utf-8 path");

    let update = run("journalctl", &["--root", root, "--update-catalog"]);
    assert!(update.status.success(), "{}", text(&update));
    assert!(
        !text(&update).contains("fedflow.catalog"),
        "journalctl complains about the catalog: {}",
        text(&update)
    );
    let listed = text(&run("journalctl", &["--root", root, "--list-catalog"]));
    for (event, id) in journal::ALL {
        let line = listed
            .lines()
            .find(|line| line.starts_with(id))
            .unwrap_or_else(|| panic!("{event} ({id}) not in the catalog index:\n{listed}"));
        assert!(line.contains("fedflow: "), "{line}");
    }
    assert_eq!(listed.lines().count(), journal::ALL.len(), "{listed}");
}

#[test]
fn man_pages_and_completions_are_generated_from_the_command_line() {
    let dir = TempDir::new().expect("temp dir");
    let out = dir.path().to_str().expect("utf-8 path");
    let generated = run(BIN, &["generate-assets", out]);
    assert!(generated.status.success(), "{}", text(&generated));

    let main_page = fs::read_to_string(dir.path().join("man/fedflow.1")).expect("fedflow.1");
    assert!(main_page.contains(".TH fedflow 1"), "{main_page}");
    for sub in [
        "run",
        "check\\-config",
        "status",
        "pipelines",
        "copr",
        "replay",
        "retry",
    ] {
        assert!(main_page.contains(sub), "{sub} missing from fedflow.1");
    }
    assert!(
        !main_page.contains("generate\\-assets"),
        "the packaging helper stays hidden"
    );
    let pipelines = fs::read_to_string(dir.path().join("man/fedflow-pipelines.1"))
        .expect("fedflow-pipelines.1");
    assert!(pipelines.contains("\\-\\-package"), "{pipelines}");

    let bash = dir.path().join("completions/fedflow.bash");
    let syntax = run("bash", &["-n", bash.to_str().expect("utf-8 path")]);
    assert!(syntax.status.success(), "{}", text(&syntax));
    assert!(
        fs::read_to_string(&bash)
            .expect("bash completion")
            .contains("check-config")
    );
    for file in ["completions/_fedflow", "completions/fedflow.fish"] {
        let content = fs::read_to_string(dir.path().join(file)).expect(file);
        assert!(content.contains("pipelines"), "{file}");
    }
}

#[test]
fn the_spec_parses_installs_every_packaged_file_and_is_rpmlint_clean() {
    let spec = repo_file("packaging/fedflow.spec");
    // rpmautospec's macros are Fedora's; stand-ins let Debian's rpm expand the rest.
    let parsed = run(
        "rpmspec",
        &[
            "-P",
            "--define",
            "autorelease 1%{?dist}",
            "--define",
            "autochangelog %{nil}",
            spec.to_str().expect("utf-8 path"),
        ],
    );
    let expanded = String::from_utf8_lossy(&parsed.stdout).into_owned();
    assert!(parsed.status.success(), "{}", text(&parsed));
    for installed in [
        "systemd/fedflow.service",
        "systemd/fedflow.catalog",
        "packaging/fedflow.sysusers",
        "target/assets/man/",
        "target/assets/completions/fedflow.bash",
        "generate-assets",
    ] {
        assert!(
            expanded.contains(installed),
            "{installed} not in:\n{expanded}"
        );
    }
    // Every default config fragment shipped in config/ is installed.
    for entry in fs::read_dir(repo_file("config"))
        .expect("config dir")
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") && name.as_bytes()[0].is_ascii_digit() {
            assert!(
                expanded.contains(&format!("config/{name}")),
                "{name} not installed"
            );
        }
    }

    let dir = TempDir::new().expect("temp dir");
    let expanded_path = dir.path().join("fedflow.spec");
    fs::write(&expanded_path, &expanded).expect("write the expanded spec");
    let lint = run(
        "rpmlint",
        &[
            "-r",
            repo_file("packaging/fedflow.rpmlintrc")
                .to_str()
                .expect("utf-8 path"),
            expanded_path.to_str().expect("utf-8 path"),
        ],
    );
    let report = text(&lint);
    assert!(
        lint.status.success() && report.contains("0 errors, 0 warnings"),
        "{report}"
    );
}

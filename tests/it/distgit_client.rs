//! The dist-git client and allowlist matching against the fake Pagure: config lookup by name and ref, size
//! limits, missing vs. failing answers, project ACLs, groups and pull requests.

use crate::support::daemon::runtime;
use crate::support::fake_distgit::FakeDistGit;
use fedflow::distgit::{DistGitClient, DistGitError, admitted_by};
use serde_json::json;
use std::time::{Duration, Instant};

const LIMIT: usize = 256 * 1024;
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const CONFIG: &str = "jobs:\n- job: koji_build\n  trigger: commit\n";

fn client(fake: &FakeDistGit) -> DistGitClient {
    DistGitClient::new(fake.base_url(), Duration::from_secs(10)).expect("client")
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|name| (*name).to_owned()).collect()
}

#[test]
fn config_is_found_under_each_packit_name_in_packit_order() {
    let fake = FakeDistGit::start();
    let names = [".packit.yaml", ".packit.yml", "packit.yaml", "packit.yml"];
    for (index, name) in names.iter().enumerate() {
        fake.set_packit_yaml(
            &format!("pkg{index}"),
            "rawhide",
            name,
            &format!("# {name}\n{CONFIG}"),
        );
    }
    // Two names present: the earlier one in Packit's order wins.
    fake.set_packit_yaml("both", "rawhide", "packit.yml", "# loser\n");
    fake.set_packit_yaml("both", "rawhide", ".packit.yml", "# winner\n");
    let client = client(&fake);
    runtime().block_on(async {
        for (index, name) in names.iter().enumerate() {
            let package = format!("pkg{index}");
            let found = client
                .packit_config(&package, "rawhide", LIMIT)
                .await
                .expect("read")
                .expect("found");
            assert_eq!(found.file_name, *name);
            assert_eq!(found.text, format!("# {name}\n{CONFIG}"));
            let tried: Vec<String> = names[..=index]
                .iter()
                .map(|tried| format!("/rpms/{package}/raw/rawhide/f/{tried}"))
                .collect();
            assert_eq!(
                fake.requests()
                    .iter()
                    .filter(|r| r.contains(&package))
                    .cloned()
                    .collect::<Vec<_>>(),
                tried
            );
        }
        let found = client
            .packit_config("both", "rawhide", LIMIT)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(
            (found.file_name.as_str(), found.text.as_str()),
            (".packit.yml", "# winner\n")
        );
    });
}

#[test]
fn config_is_read_at_a_commit_and_at_branches_with_slashes() {
    let fake = FakeDistGit::start();
    fake.set_packit_yaml("foo", SHA, ".packit.yaml", "# at commit\n");
    fake.set_packit_yaml("foo", "rawhide", ".packit.yaml", "# at rawhide\n");
    fake.set_packit_yaml(
        "foo",
        "user/topic#2",
        ".packit.yaml",
        "# on a topic branch\n",
    );
    let client = client(&fake);
    runtime().block_on(async {
        let at_commit = client
            .packit_config("foo", SHA, LIMIT)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(at_commit.text, "# at commit\n");
        let topic = client
            .packit_config("foo", "user/topic#2", LIMIT)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(topic.text, "# on a topic branch\n");
    });
    let requests = fake.requests();
    assert_eq!(requests[0], format!("/rpms/foo/raw/{SHA}/f/.packit.yaml"));
    // The slash stays a literal separator; `#` is percent-encoded instead of ending the URL.
    assert_eq!(requests[1], "/rpms/foo/raw/user/topic%232/f/.packit.yaml");
}

#[test]
fn missing_empty_and_unknown_configs_are_none_after_html_404s() {
    let fake = FakeDistGit::start();
    fake.set_packit_yaml("empty", "rawhide", ".packit.yaml", "");
    fake.set_packit_yaml("foo", "f42", ".packit.yaml", CONFIG);
    let client = client(&fake);
    runtime().block_on(async {
        for (package, git_ref) in [
            ("nope", "rawhide"),
            ("empty", "rawhide"),
            ("foo", "rawhide"),
            ("foo", SHA),
        ] {
            let found = client
                .packit_config(package, git_ref, LIMIT)
                .await
                .expect("404 is not an error");
            assert_eq!(found, None, "{package} at {git_ref}");
        }
    });
    assert_eq!(
        fake.request_count("/rpms/"),
        16,
        "four names tried for each of four lookups"
    );
}

#[test]
fn oversized_config_fails_without_being_read_to_the_end() {
    let fake = FakeDistGit::start();
    let total: u64 = 256 * 1024 * 1024;
    fake.set_streamed_file("huge", "rawhide", ".packit.yaml", total);
    fake.set_packit_yaml(
        "declared",
        "rawhide",
        ".packit.yaml",
        &"#".repeat(LIMIT + 1),
    );
    fake.set_packit_yaml("exact", "rawhide", ".packit.yaml", &"#".repeat(LIMIT));
    let client = client(&fake);
    runtime().block_on(async {
        let err = client
            .packit_config("huge", "rawhide", LIMIT)
            .await
            .expect_err("too large");
        assert!(
            matches!(err, DistGitError::TooLarge { limit: LIMIT, .. }),
            "{err}"
        );
        assert!(!err.is_transient());
        assert!(
            err.to_string()
                .contains("/rpms/huge/raw/rawhide/f/.packit.yaml"),
            "{err}"
        );
        let err = client
            .packit_config("declared", "rawhide", LIMIT)
            .await
            .expect_err("too large");
        assert_eq!(err.kind(), "too_large");
        let exact = client
            .packit_config("exact", "rawhide", LIMIT)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(exact.text.len(), LIMIT);
    });
    // The server can only run ahead of the client by the socket buffers; reading it all would be 256 MiB.
    let produced = fake.streamed_bytes();
    assert!(produced < 32 * 1024 * 1024, "{produced} bytes produced");
}

#[test]
fn server_errors_and_garbled_answers_are_transient_never_missing() {
    let fake = FakeDistGit::start();
    fake.set_packit_yaml("foo", "rawhide", ".packit.yaml", CONFIG);
    fake.set_project(
        "foo",
        json!({"access_users": {"owner": ["alice"]}, "access_groups": {}}),
    );
    fake.set_group("sig", &["erin"]);
    let client = client(&fake);
    runtime().block_on(async {
        fake.fail_next("/rpms/foo/raw/", 503);
        let err = client
            .packit_config("foo", "rawhide", LIMIT)
            .await
            .expect_err("503");
        assert_eq!(
            (err.kind(), err.is_transient()),
            ("server_error", true),
            "{err}"
        );
        assert!(
            client
                .packit_config("foo", "rawhide", LIMIT)
                .await
                .expect("retry")
                .is_some()
        );

        // A 503 on the second name must not be skipped as if the file were missing.
        fake.fail_next("/rpms/nope/raw/rawhide/f/.packit.yml", 502);
        let err = client
            .packit_config("nope", "rawhide", LIMIT)
            .await
            .expect_err("502");
        assert!(err.is_transient(), "{err}");

        fake.fail_next("/api/0/rpms/foo", 500);
        assert!(client.project("foo").await.expect_err("500").is_transient());
        fake.reply_next(
            "/api/0/rpms/foo",
            200,
            "text/html",
            b"<html><body>Proxy Error</body></html>",
        );
        let err = client.project("foo").await.expect_err("html 200");
        assert_eq!(
            (err.kind(), err.is_transient()),
            ("invalid_json", true),
            "{err}"
        );
        fake.reply_next(
            "/api/0/group/sig",
            200,
            "application/json",
            b"{\"members\": [\"erin\"",
        );
        assert_eq!(
            client
                .group_members("sig")
                .await
                .expect_err("truncated")
                .kind(),
            "invalid_json"
        );
        fake.fail_next("/api/0/rpms/foo/pull-request/", 504);
        assert!(
            client
                .pull_request("foo", 1)
                .await
                .expect_err("504")
                .is_transient()
        );

        // A 404 that is not Pagure's own JSON (wrong base URL, proxy) is an error, not "missing".
        fake.reply_next("/api/0/group/", 404, "text/html", b"<html>Not Found</html>");
        let err = client.group_members("sig").await.expect_err("html 404");
        assert_eq!(
            (err.kind(), err.is_transient()),
            ("unexpected_status", false),
            "{err}"
        );
        fake.reply_next(
            "/api/0/rpms/foo",
            403,
            "application/json",
            b"{\"error\": \"nope\", \"error_code\": \"EPRNOTALLOWED\"}",
        );
        let err = client.project("foo").await.expect_err("403");
        assert!(err.to_string().contains("EPRNOTALLOWED"), "{err}");

        assert_eq!(
            client.group_members("sig").await.expect("recovered"),
            Some(names(&["erin"]))
        );
    });
}

#[test]
fn a_server_that_never_answers_times_out_as_transient() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", silent.local_addr().expect("address"));
    let client = DistGitClient::new(&base, Duration::from_millis(300)).expect("client");
    let started = Instant::now();
    let err = runtime()
        .block_on(client.project("foo"))
        .expect_err("timeout");
    assert_eq!((err.kind(), err.is_transient()), ("timeout", true), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn unsafe_names_are_refused_before_any_request() {
    let fake = FakeDistGit::start();
    let client = client(&fake);
    runtime().block_on(async {
        for package in ["../etc", "a/b", "", "foo\n"] {
            let err = client
                .packit_config(package, "rawhide", LIMIT)
                .await
                .expect_err(package);
            assert_eq!((err.kind(), err.is_transient()), ("invalid_name", false));
            assert!(client.project(package).await.is_err());
        }
        for git_ref in ["../../x", "a b", "x\u{0}y", "/rawhide"] {
            let err = client
                .packit_config("foo", git_ref, LIMIT)
                .await
                .expect_err(git_ref);
            assert_eq!(err.kind(), "invalid_name");
        }
        assert_eq!(
            client.group_members("a/b").await.expect_err("group").kind(),
            "invalid_name"
        );
    });
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

/// distgit.md §3's example: disjoint levels, an admin and a commit group, and a collaborator group whose
/// members Pagure expands too.
fn acl_project(fake: &FakeDistGit) {
    fake.set_project(
        "foo",
        json!({
            "access_users": {"owner": ["alice"], "admin": ["bob"], "commit": ["carol"],
                             "collaborator": ["dave"], "ticket": []},
            "access_groups": {"admin": ["admins-sig"], "commit": ["python-packagers-sig"],
                              "collaborator": ["epel-sig"], "ticket": []}
        }),
    );
    fake.set_group("admins-sig", &["gina"]);
    fake.set_group("python-packagers-sig", &["erin", "frank"]);
    fake.set_group("epel-sig", &["ed"]);
    fake.set_group("releng", &["rita"]);
}

#[test]
fn project_access_lists_are_read_with_expanded_groups() {
    let fake = FakeDistGit::start();
    acl_project(&fake);
    let client = client(&fake);
    let project = runtime()
        .block_on(client.project("foo"))
        .expect("read")
        .expect("found");
    assert_eq!(fake.requests(), ["/api/0/rpms/foo?expand_group=1"]);
    assert_eq!(project.owner, names(&["alice"]));
    assert_eq!(project.admin_users, names(&["bob"]));
    assert_eq!(project.commit_users, names(&["carol"]));
    assert_eq!(project.admin_groups, names(&["admins-sig"]));
    assert_eq!(project.commit_groups, names(&["python-packagers-sig"]));
    assert_eq!(
        project.group_members.get("python-packagers-sig"),
        Some(&names(&["erin", "frank"]))
    );
    let admins: Vec<&str> = ["alice", "bob", "gina"]
        .into_iter()
        .filter(|a| project.is_admin(a))
        .collect();
    assert_eq!(admins, ["alice", "bob", "gina"]);
    for account in ["carol", "erin", "frank"] {
        assert!(
            project.is_committer(account) && !project.is_admin(account),
            "{account}"
        );
    }
    for account in ["dave", "ed", "rita"] {
        assert!(!project.is_committer(account), "{account}");
    }
    assert_eq!(
        runtime()
            .block_on(client.project("nope"))
            .expect("404 is not an error"),
        None
    );
}

#[test]
fn admitted_by_checks_names_then_acls_then_groups() {
    let fake = FakeDistGit::start();
    acl_project(&fake);
    let client = client(&fake);
    let rt = runtime();
    let admitted = |account: &str, list: &[&str]| {
        rt.block_on(admitted_by(&client, "foo", account, &names(list)))
            .expect("decision")
    };

    assert_eq!(
        admitted("carol", &["all_admins", "carol", "@releng"]).as_deref(),
        Some("carol")
    );
    assert!(fake.requests().is_empty(), "a plain name needs no API call");

    assert_eq!(
        admitted("gina", &["all_admins"]).as_deref(),
        Some("all_admins")
    );
    assert_eq!(
        admitted("frank", &["all_admins", "all_committers"]).as_deref(),
        Some("all_committers")
    );
    assert_eq!(
        admitted("rita", &["@releng", "all_committers"]).as_deref(),
        Some("@releng")
    );
    assert_eq!(
        admitted("dave", &["all_committers"]),
        None,
        "a collaborator is not a committer"
    );
    assert_eq!(
        admitted("ed", &["all_admins", "all_committers", "@releng"]),
        None
    );

    let before = fake.request_count("/api/0/rpms/foo");
    assert_eq!(admitted("nobody", &["all_admins", "all_committers"]), None);
    assert_eq!(
        fake.request_count("/api/0/rpms/foo") - before,
        1,
        "project ACLs fetched at most once"
    );

    // An unknown group is skipped and later entries still count.
    assert_eq!(
        admitted("rita", &["@ghosts", "@releng"]).as_deref(),
        Some("@releng")
    );
    // A group name that cannot be looked up is skipped the same way.
    assert_eq!(
        admitted("rita", &["@bad/name", "@releng"]).as_deref(),
        Some("@releng")
    );
    // A transient failure is returned so the caller retries instead of deciding "not admitted".
    fake.fail_next("/api/0/group/releng", 503);
    let err = rt
        .block_on(admitted_by(&client, "foo", "rita", &names(&["@releng"])))
        .expect_err("transient");
    assert!(err.is_transient(), "{err}");
    // A missing project admits nobody through the keywords, but groups still apply.
    let missing = rt.block_on(admitted_by(
        &client,
        "nope",
        "rita",
        &names(&["all_committers", "@releng"]),
    ));
    assert_eq!(missing.expect("decision").as_deref(), Some("@releng"));
}

#[test]
fn pull_request_author_status_and_labels_are_read() {
    let fake = FakeDistGit::start();
    acl_project(&fake);
    fake.set_pull_request(
        "foo",
        7,
        json!({"id": 7, "uid": "a1b2", "title": "Update to 2.0", "status": "Merged", "branch": "rawhide",
               "branch_from": "update", "user": {"name": "frank", "fullname": "Frank"},
               "commit_start": "1111111111111111111111111111111111111111", "commit_stop": SHA,
               "closed_by": {"name": "bob"}, "closed_at": "1431414800", "tags": ["ship-it"],
               "comments": [{"comment": "LGTM"}]}),
    );
    fake.set_pull_request(
        "foo",
        8,
        json!({"id": 8, "status": "Open", "branch": "f42", "user": {"name": "ed"},
                                          "commit_stop": null, "tags": null}),
    );
    let client = client(&fake);
    runtime().block_on(async {
        let pr = client
            .pull_request("foo", 7)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(
            (pr.id, pr.status.as_str(), pr.author.as_str()),
            (7, "Merged", "frank")
        );
        assert_eq!(
            (pr.branch.as_str(), pr.commit_stop.as_deref()),
            ("rawhide", Some(SHA))
        );
        assert_eq!(pr.tags, names(&["ship-it"]));
        let open = client
            .pull_request("foo", 8)
            .await
            .expect("read")
            .expect("found");
        assert_eq!(
            (open.status.as_str(), open.commit_stop, open.tags),
            ("Open", None, vec![])
        );
        assert_eq!(client.pull_request("foo", 9).await.expect("ENOREQ"), None);
        assert_eq!(
            client.pull_request("nope", 7).await.expect("ENOPROJECT"),
            None
        );
    });
    assert_eq!(
        fake.requests()[0],
        "/api/0/rpms/foo/pull-request/7?comments=0"
    );
}

//! Hostile inputs for the Packit config parser: deep nesting, alias bombs, huge and binary texts. Each
//! must fail (or parse) quickly and without a panic.

use super::*;

fn parse_ok(text: &str) -> PackitConfig {
    match parse(text) {
        Ok(config) => config,
        Err(err) => panic!("config should parse: {err}"),
    }
}

/// Asserts that parsing fails with a message containing `expected`, within a time bound that catches
/// exponential blow-ups (generous for a debug build on a loaded machine).
fn assert_rejected(text: &str, expected: &str) {
    let started = std::time::Instant::now();
    let result = parse(text);
    let elapsed = started.elapsed();
    match result {
        Err(err) => assert!(
            err.message.contains(expected),
            "wanted {expected:?}, got {err}"
        ),
        Ok(config) => panic!("wanted {expected:?}, parsed {config:?}"),
    }
    assert!(
        elapsed < std::time::Duration::from_secs(20),
        "took {elapsed:?}"
    );
}

#[test]
fn deep_nesting_hits_the_recursion_limit_even_under_ignored_keys() {
    assert_rejected(
        &format!("custom: {}", "[".repeat(1024 * 1024)),
        "nested deeper than 64 levels",
    );
    assert_rejected(
        &format!("custom: {}", "{a: ".repeat(1024 * 1024 / 4)),
        "nested deeper than 64 levels",
    );
    // 64 levels are within the bound and parse.
    let sixty_four = format!("custom: {}{}\njobs: []\n", "[".repeat(64), "]".repeat(64));
    assert_eq!(parse_ok(&sixty_four), PackitConfig::default());
    let mut block = String::from(
        "jobs:\n- job: bodhi_update\n  trigger: commit\n  bodhi_extra_params:\n    x:\n",
    );
    for depth in 0..5_000 {
        block.push_str(&" ".repeat(6 + 2 * (depth % 400)));
        block.push_str("-\n");
    }
    assert_rejected(&block, "recursion limit exceeded");
}

/// Billion laughs through aliases: 9^10 expansions, stopped by serde_yaml's repetition limit where the value
/// is kept (`bodhi_extra_params`), and never expanded where it is skipped (an unknown key).
#[test]
fn alias_bombs_hit_the_repetition_limit() {
    let mut anchors = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    let mut previous = 'a';
    for name in 'b'..='j' {
        let refs = vec![format!("*{previous}"); 9].join(", ");
        anchors.push_str(&format!("{name}: &{name} [{refs}]\n"));
        previous = name;
    }
    let kept = format!(
        "{anchors}jobs:\n- {{job: bodhi_update, trigger: commit, bodhi_extra_params: {{x: *j}}}}\n"
    );
    assert_rejected(&kept, "repetition limit exceeded");
    let skipped = format!("{anchors}custom: *j\njobs: []\n");
    let started = std::time::Instant::now();
    assert_eq!(parse_ok(&skipped), PackitConfig::default());
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn large_and_binary_inputs_do_not_panic() {
    // A 1 MiB branch list parses (size is the caller's limit, not the parser's).
    let mut long_list =
        String::from("jobs:\n- job: koji_build\n  trigger: commit\n  dist_git_branches:\n");
    while long_list.len() < 1024 * 1024 {
        long_list.push_str("  - f42\n");
    }
    let config = parse_ok(&long_list);
    assert!(config.koji_build[0].dist_git_branches.len() > 100_000);

    let binary: String = (0..1024 * 1024)
        .map(|i| char::from((i % 128) as u8))
        .collect();
    assert!(parse(&binary).is_err());
}

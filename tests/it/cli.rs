//! The command line without a broker: `check-config` output and errors.

use crate::support::daemon::Instance;

#[test]
fn check_config_prints_effective_settings_without_secrets() {
    let instance = Instance::new(
        "url = \"amqp://bot:hunter2@127.0.0.1:5999/%2F\"\nprefetch = 7",
        "org.example.test",
    );
    let output = instance
        .command(&["check-config"])
        .output()
        .expect("check-config");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!stdout.contains("hunter2"), "{stdout}");
    assert!(
        stdout.contains("amqp://bot:***@127.0.0.1:5999/%2F"),
        "{stdout}"
    );
    assert!(stdout.contains("prefetch = 7"), "{stdout}");
    assert!(
        stdout.contains("topic_prefix = \"org.example.test\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("[state]") && stdout.contains("retention_days = 7"),
        "{stdout}"
    );
    let parsed: toml::Table = toml::from_str(&stdout).expect("check-config prints TOML");
    assert!(parsed.contains_key("bus"));
}

#[test]
fn check_config_names_file_key_and_expectation_and_fails() {
    let instance = Instance::new("url = \"amqp://127.0.0.1/%2F\"\nprefetch = \"lots\"", "p");
    let output = instance
        .command(&["check-config"])
        .output()
        .expect("check-config");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&instance.config_path().display().to_string()),
        "{stderr}"
    );
    assert!(
        stderr.contains("prefetch") && stderr.contains("u16"),
        "{stderr}"
    );
}

#[test]
fn check_config_reports_unreadable_tls_files_without_printing_them() {
    let key = tempfile::NamedTempFile::new().expect("key file");
    std::fs::write(
        key.path(),
        "-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n",
    )
    .expect("write");
    let instance = Instance::new(
        &format!(
            "url = \"amqps://broker.example/%2F\"\nca_file = \"/nonexistent/ca.pem\"\ncert_file = \"/nonexistent/cert.pem\"\nkey_file = \"{}\"",
            key.path().display()
        ),
        "p",
    );
    let output = instance
        .command(&["check-config"])
        .output()
        .expect("check-config");
    assert!(!output.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        all.contains("bus.ca_file: cannot read /nonexistent/ca.pem"),
        "{all}"
    );
    assert!(all.contains("bus.cert_file"), "{all}");
    assert!(!all.contains("SECRETKEYMATERIAL"), "{all}");
}

#[test]
fn environment_alone_configures_a_local_broker() {
    let instance = Instance::new("", "p");
    std::fs::write(instance.config_path(), "").expect("empty config");
    let output = instance
        .command(&["check-config"])
        .env("FEDFLOW_BUS__URL", "amqp://guest:guest@localhost/%2F")
        .env("FEDFLOW_STATE__DIR", instance.state_dir())
        .output()
        .expect("check-config");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("url = \"amqp://guest:***@localhost/%2F\""),
        "{stdout}"
    );
}

//! Layering, error messages and masking, driven through explicit [`Inputs`].

use super::*;
use std::collections::BTreeMap;
use std::path::Path;
use tempfile::TempDir;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).expect("create config dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config file");
    path
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn load_err(inputs: &Inputs) -> String {
    match load(inputs) {
        Ok(settings) => panic!("expected an error, got {settings:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn built_in_defaults_observe_fedoras_public_broker() {
    let settings = load(&Inputs::default()).expect("defaults are valid");
    assert_eq!(settings.bus.url.expose(), DEFAULT_BUS_URL);
    assert!(settings.bus.uses_client_certificate());
    assert_eq!(settings.bus.topic_prefix, "org.fedoraproject.prod");
    assert_eq!(settings.bus.prefetch, 100);
    assert_eq!(settings.bus.max_body_bytes, 1024 * 1024);
    assert_eq!(settings.bus.reconnect_max.as_secs(), 300);
    assert_eq!(settings.bus.topics.len(), DEFAULT_TOPICS.len());
    assert!(
        settings
            .bus
            .routing_keys()
            .contains(&"org.fedoraproject.prod.bodhi.update.#".to_owned())
    );
    assert_eq!(settings.state.dir, Path::new(DEFAULT_STATE_DIR));
    assert_eq!(settings.state.retention.as_secs(), 7 * 86_400);
    assert_eq!(settings.log.level, "info");
}

#[test]
fn layers_apply_in_order_later_wins() {
    let tmp = TempDir::new().expect("tempdir");
    let usr = tmp.path().join("usr");
    let etc = tmp.path().join("etc");
    write(
        &usr,
        "10-bus.toml",
        "[bus]\nprefetch = 10\ntopic_prefix = \"org.fedoraproject.stg\"\n",
    );
    write(&usr, "20-more.toml", "[bus]\nprefetch = 20\n");
    // Not a .toml file: ignored.
    write(&usr, "30-ignored.conf", "[bus]\nprefetch = 30\n");
    write(
        &etc,
        "50-site.toml",
        "[bus]\nprefetch = 50\n[state]\nretention_days = 3\n",
    );
    let cli = write(
        tmp.path(),
        "cli.toml",
        "[bus]\nprefetch = 60\n[log]\nlevel = \"debug\"\n",
    );
    let mut inputs = Inputs {
        system_dirs: vec![usr, etc, tmp.path().join("missing")],
        config_files: vec![cli],
        env: BTreeMap::new(),
    };
    let settings = load(&inputs).expect("valid");
    assert_eq!(settings.bus.prefetch, 60);
    assert_eq!(settings.bus.topic_prefix, "org.fedoraproject.stg");
    assert_eq!(settings.state.retention.as_secs(), 3 * 86_400);
    assert_eq!(settings.log.level, "debug");

    inputs.env = env(&[
        ("FEDFLOW_BUS__PREFETCH", "70"),
        ("FEDFLOW_LOG__LEVEL", "warn"),
    ]);
    let settings = load(&inputs).expect("valid");
    assert_eq!(settings.bus.prefetch, 70);
    assert_eq!(settings.log.level, "warn");
}

#[test]
fn environment_alone_is_enough_for_a_local_broker() {
    let inputs = Inputs {
        env: env(&[
            ("FEDFLOW_BUS__URL", "amqp://guest:guest@localhost/%2F"),
            ("FEDFLOW_BUS__TOPICS", "buildsys.tag, buildsys.untag"),
            // Not configuration: test hooks and the like share the prefix but have no section.
            ("FEDFLOW_TEST_AMQP_URL", "amqp://elsewhere"),
        ]),
        ..Inputs::default()
    };
    let settings = load(&inputs).expect("valid");
    assert_eq!(
        settings.bus.url.expose(),
        "amqp://guest:guest@localhost/%2F"
    );
    assert!(!settings.bus.uses_client_certificate());
    assert_eq!(settings.bus.topics, vec!["buildsys.tag", "buildsys.untag"]);
}

#[test]
fn unknown_key_in_a_file_names_the_file_and_the_key() {
    let tmp = TempDir::new().expect("tempdir");
    let file = write(tmp.path(), "60-typo.toml", "[bus]\nprefech = 5\n");
    let message = load_err(&Inputs {
        config_files: vec![file.clone()],
        ..Inputs::default()
    });
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("prefech"), "{message}");
    assert!(message.contains("expected one of"), "{message}");
    assert!(message.contains("line 2"), "{message}");
}

#[test]
fn wrong_type_in_a_file_says_what_was_expected() {
    let tmp = TempDir::new().expect("tempdir");
    let file = write(tmp.path(), "60-type.toml", "[bus]\nprefetch = \"many\"\n");
    let message = load_err(&Inputs {
        config_files: vec![file.clone()],
        ..Inputs::default()
    });
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("prefetch"), "{message}");
    assert!(message.contains("u16"), "{message}");
}

#[test]
fn unknown_section_is_refused() {
    let tmp = TempDir::new().expect("tempdir");
    let file = write(tmp.path(), "x.toml", "[buss]\nurl = \"amqp://x\"\n");
    let message = load_err(&Inputs {
        config_files: vec![file],
        ..Inputs::default()
    });
    assert!(message.contains("buss"), "{message}");
}

#[test]
fn environment_errors_name_the_variable() {
    let message = load_err(&Inputs {
        env: env(&[("FEDFLOW_BUS__PREFECH", "5")]),
        ..Inputs::default()
    });
    assert!(message.contains("FEDFLOW_BUS__PREFECH"), "{message}");
    assert!(message.contains("prefech"), "{message}");

    let message = load_err(&Inputs {
        env: env(&[("FEDFLOW_BUS__PREFETCH", "lots")]),
        ..Inputs::default()
    });
    assert!(message.contains("FEDFLOW_BUS__PREFETCH"), "{message}");
    assert!(message.contains("prefetch"), "{message}");
}

#[test]
fn invalid_values_name_key_and_origin() {
    let tmp = TempDir::new().expect("tempdir");
    let file = write(tmp.path(), "70-zero.toml", "[bus]\nprefetch = 0\n");
    let message = load_err(&Inputs {
        config_files: vec![file.clone()],
        ..Inputs::default()
    });
    assert!(message.contains("bus.prefetch"), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");
    assert!(message.contains("expected 1 to 65535"), "{message}");

    let message = load_err(&Inputs {
        config_files: vec![file],
        env: env(&[("FEDFLOW_BUS__PREFETCH", "0")]),
        ..Inputs::default()
    });
    assert!(
        message.contains("from environment variable FEDFLOW_BUS__PREFETCH"),
        "{message}"
    );

    let message = load_err(&Inputs {
        env: env(&[("FEDFLOW_BUS__URL", "http://example.org")]),
        ..Inputs::default()
    });
    assert!(message.contains("bus.url"), "{message}");
    assert!(message.contains("amqp://"), "{message}");

    let message = load_err(&Inputs {
        env: env(&[("FEDFLOW_BUS__KEY_FILE", "")]),
        ..Inputs::default()
    });
    assert!(message.contains("bus.key_file"), "{message}");

    let message = load_err(&Inputs {
        env: env(&[("FEDFLOW_LOG__LEVEL", "loud[")]),
        ..Inputs::default()
    });
    assert!(message.contains("log.level"), "{message}");
}

#[test]
fn systemd_state_directory_is_used_unless_configured() {
    let mut inputs = Inputs {
        env: env(&[("STATE_DIRECTORY", "/var/lib/fedflow-a:/var/lib/other")]),
        ..Inputs::default()
    };
    assert_eq!(
        load(&inputs).expect("valid").state.dir,
        Path::new("/var/lib/fedflow-a")
    );
    inputs
        .env
        .insert("FEDFLOW_STATE__DIR".to_owned(), "/srv/fedflow".to_owned());
    assert_eq!(
        load(&inputs).expect("valid").state.dir,
        Path::new("/srv/fedflow")
    );
}

#[test]
fn relative_secret_paths_name_systemd_credentials() {
    let mut inputs = Inputs {
        env: env(&[
            ("CREDENTIALS_DIRECTORY", "/run/credentials/fedflow.service"),
            ("FEDFLOW_BUS__CERT_FILE", "amqp-cert"),
            ("FEDFLOW_BUS__KEY_FILE", "/etc/fedflow/amqp.key"),
            ("FEDFLOW_KOJI__AUTH", "ssl"),
            ("FEDFLOW_KOJI__CERT_FILE", "koji-cert"),
            ("FEDFLOW_KOJI__KEY_FILE", "koji-key"),
        ]),
        ..Inputs::default()
    };
    let settings = load(&inputs).expect("valid");
    let credential = |name: &str| Path::new("/run/credentials/fedflow.service").join(name);
    assert_eq!(settings.bus.cert_file, Some(credential("amqp-cert")));
    assert_eq!(
        settings.bus.key_file.as_deref(),
        Some(Path::new("/etc/fedflow/amqp.key")),
        "absolute paths stay"
    );
    assert_eq!(
        settings.koji.auth,
        KojiAuthSettings::Ssl {
            cert_file: credential("koji-cert"),
            key_file: credential("koji-key"),
        }
    );
    // Without systemd's credentials, relative paths are left as configured.
    inputs.env.remove("CREDENTIALS_DIRECTORY");
    let settings = load(&inputs).expect("valid");
    assert_eq!(
        settings.bus.cert_file.as_deref(),
        Some(Path::new("amqp-cert"))
    );
}

#[test]
fn passwords_never_reach_printed_settings() {
    let inputs = Inputs {
        env: env(&[(
            "FEDFLOW_BUS__URL",
            "amqps://bot:s3cret@broker.example:5671/%2F",
        )]),
        ..Inputs::default()
    };
    let settings = load(&inputs).expect("valid");
    let printed = toml::to_string(&settings).expect("serialize");
    assert!(!printed.contains("s3cret"), "{printed}");
    assert!(
        printed.contains("amqps://bot:***@broker.example:5671/%2F"),
        "{printed}"
    );
    assert!(!format!("{settings:?}").contains("s3cret"));
    assert!(printed.contains("key_file = \"/etc/fedora-messaging/fedora-key.pem\""));
}

fn shipped(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name)
}

#[test]
fn shipped_defaults_say_exactly_what_the_built_in_defaults_do() {
    let files = ["10-bus.toml", "20-state.toml", "30-log.toml"]
        .map(shipped)
        .to_vec();
    let from_files = load(&Inputs {
        config_files: files,
        ..Inputs::default()
    })
    .expect("shipped config is valid");
    assert_eq!(from_files, load(&Inputs::default()).expect("defaults"));
}

#[test]
fn local_example_points_at_a_local_broker() {
    let settings = load(&Inputs {
        config_files: vec![shipped("local-example.toml")],
        ..Inputs::default()
    })
    .expect("example is valid");
    assert!(settings.bus.url.expose().starts_with("amqp://"));
    assert!(settings.bus.url.expose().contains("localhost"));
    assert!(!settings.bus.uses_client_certificate());
}

#[test]
fn bodhi_login_and_update_timing_are_validated_with_the_key_named() {
    let settings = load(&Inputs::default()).expect("defaults");
    assert_eq!(
        settings.bodhi.auth,
        BodhiAuthSettings::None,
        "observe-only by default"
    );
    assert_eq!(
        settings.bodhi.oidc_issuer,
        "https://id.fedoraproject.org/openidc"
    );
    assert_eq!(settings.bodhi.client_id, "bodhi-client");
    assert_eq!(settings.bodhi.tag_wait.as_secs(), 120 * 60);
    assert_eq!(settings.bodhi.automatic_update_check.as_secs(), 60 * 60);

    let tmp = TempDir::new().expect("tempdir");
    let file = write(
        tmp.path(),
        "70-bodhi.toml",
        "[bodhi]\nauth = \"refresh-token\"\n",
    );
    let message = load_err(&Inputs {
        config_files: vec![file.clone()],
        ..Inputs::default()
    });
    assert!(message.contains("bodhi.token_file"), "{message}");
    assert!(message.contains(&file.display().to_string()), "{message}");

    let file = write(
        tmp.path(),
        "71-bodhi.toml",
        "[bodhi]\nauth = \"refresh-token\"\ntoken_file = \"/var/lib/fedflow/bodhi.json\"\nautomatic_update_check_minutes = 0\n",
    );
    let settings = load(&Inputs {
        config_files: vec![file],
        ..Inputs::default()
    })
    .expect("valid");
    assert_eq!(
        settings.bodhi.auth,
        BodhiAuthSettings::RefreshToken {
            token_file: "/var/lib/fedflow/bodhi.json".into()
        }
    );
    assert_eq!(settings.bodhi.automatic_update_check.as_secs(), 0);

    let file = write(
        tmp.path(),
        "72-bodhi.toml",
        "[bodhi]\nauth = \"kerberos\"\n",
    );
    let message = load_err(&Inputs {
        config_files: vec![file],
        ..Inputs::default()
    });
    // Without the feature the build cannot log in with Kerberos; with it, the principal is missing.
    let reason = if cfg!(feature = "kerberos") {
        "needs bodhi.principal or koji.principal"
    } else {
        "needs a fedflow built with the cargo feature `kerberos`"
    };
    assert!(
        message.contains("bodhi.auth") && message.contains(reason),
        "{message}"
    );

    let file = write(
        tmp.path(),
        "73-bodhi.toml",
        "[bodhi]\ntag_wait_minutes = 0\n",
    );
    let message = load_err(&Inputs {
        config_files: vec![file],
        ..Inputs::default()
    });
    assert!(message.contains("bodhi.tag_wait_minutes"), "{message}");
}

#[test]
fn shard_defaults_to_one_instance_and_is_shown_as_configured() {
    let settings = load(&Inputs::default()).expect("defaults");
    assert_eq!(settings.bus.shard, Shard::default());
    let settings = load(&Inputs {
        env: env(&[("FEDFLOW_BUS__SHARD", "1/2")]),
        ..Inputs::default()
    })
    .expect("valid");
    assert_eq!(
        (settings.bus.shard.index(), settings.bus.shard.count()),
        (1, 2)
    );
    let printed = toml::to_string(&settings).expect("serialize");
    assert!(printed.contains("shard = \"1/2\""), "{printed}");
}

#[test]
fn a_bad_shard_names_the_key_its_origin_and_the_expected_form() {
    let tmp = TempDir::new().expect("tempdir");
    for (raw, why) in [
        ("1/1", "index 1 must be below the count 1"),
        ("2/2", "index 2 must be below the count 2"),
        ("0/0", "at least 1"),
        ("a/b", "\"a\" is not a whole number"),
        ("1", "no `/`"),
        ("-1/2", "\"-1\" is not a whole number"),
        (" 0/2 ", "\" 0\" is not a whole number"),
        ("0/2048", "more than the 1024"),
    ] {
        let file = write(
            tmp.path(),
            "80-shard.toml",
            &format!("[bus]\nshard = {raw:?}\n"),
        );
        let message = load_err(&Inputs {
            config_files: vec![file.clone()],
            ..Inputs::default()
        });
        assert!(message.contains("bus.shard"), "{message}");
        assert!(message.contains(&file.display().to_string()), "{message}");
        assert!(message.contains("expected \"INDEX/COUNT\""), "{message}");
        assert!(message.contains(&format!("got {raw:?}")), "{message}");
        assert!(message.contains(why), "{raw:?}: {message}");
    }
    // A number instead of a string is a type error of the file, as for any key.
    let file = write(tmp.path(), "81-shard.toml", "[bus]\nshard = 1\n");
    let message = load_err(&Inputs {
        config_files: vec![file],
        ..Inputs::default()
    });
    assert!(message.contains("shard"), "{message}");
    assert!(message.contains("string"), "{message}");
    // From the environment, the variable is named.
    let message = load_err(&Inputs {
        env: env(&[("FEDFLOW_BUS__SHARD", "3/2")]),
        ..Inputs::default()
    });
    assert!(
        message.contains("bus.shard") && message.contains("FEDFLOW_BUS__SHARD"),
        "{message}"
    );
}

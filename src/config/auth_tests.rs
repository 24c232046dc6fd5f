//! The `auth` keys of `[koji]` and `[bodhi]`: what each login needs, the Kerberos identity Bodhi shares with
//! Koji, and the refusal of Kerberos in a build without the feature.

use super::*;
use std::collections::BTreeMap;
#[cfg(feature = "kerberos")]
use std::path::Path;

fn load_env(pairs: &[(&str, &str)]) -> Result<Settings, String> {
    let env: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    load(&Inputs {
        env,
        ..Inputs::default()
    })
    .map_err(|error| error.to_string())
}

const KOJI_KERBEROS: [(&str, &str); 3] = [
    ("FEDFLOW_KOJI__AUTH", "kerberos"),
    ("FEDFLOW_KOJI__PRINCIPAL", "bot@FEDORAPROJECT.ORG"),
    ("FEDFLOW_KOJI__KEYTAB", "/etc/fedflow/bot.keytab"),
];

#[cfg(not(feature = "kerberos"))]
#[test]
fn kerberos_is_refused_by_a_build_without_the_feature() {
    for (key, pairs) in [
        ("koji.auth", KOJI_KERBEROS.to_vec()),
        ("bodhi.auth", vec![("FEDFLOW_BODHI__AUTH", "kerberos")]),
    ] {
        let message = load_env(&pairs).expect_err("refused");
        assert!(
            message.contains(key) && message.contains("cargo feature `kerberos`"),
            "{message}"
        );
    }
}

#[cfg(feature = "kerberos")]
#[test]
fn bodhi_logs_in_as_the_koji_identity_unless_told_otherwise() {
    let mut pairs = KOJI_KERBEROS.to_vec();
    pairs.push(("FEDFLOW_BODHI__AUTH", "kerberos"));
    let settings = load_env(&pairs).expect("valid");
    assert_eq!(
        settings.bodhi.auth,
        BodhiAuthSettings::Kerberos {
            principal: "bot@FEDORAPROJECT.ORG".into(),
            keytab: "/etc/fedflow/bot.keytab".into(),
            token_file: None,
        }
    );
    assert_eq!(
        settings.client_keytab(),
        Some(Path::new("/etc/fedflow/bot.keytab"))
    );

    // Another principal from the same keytab, and a token file that keeps the tokens across restarts.
    pairs.push(("FEDFLOW_BODHI__PRINCIPAL", "bodhi-bot@FEDORAPROJECT.ORG"));
    pairs.push(("FEDFLOW_BODHI__TOKEN_FILE", "/var/lib/fedflow/bodhi.json"));
    let settings = load_env(&pairs).expect("valid");
    assert_eq!(
        settings.bodhi.auth,
        BodhiAuthSettings::Kerberos {
            principal: "bodhi-bot@FEDORAPROJECT.ORG".into(),
            keytab: "/etc/fedflow/bot.keytab".into(),
            token_file: Some("/var/lib/fedflow/bodhi.json".into()),
        }
    );
    let printed = toml::to_string(&settings).expect("serialize");
    assert!(
        printed.contains("auth = \"kerberos\"") && printed.contains("bodhi-bot@FEDORAPROJECT.ORG"),
        "{printed}"
    );

    // A second keytab cannot work: GSSAPI reads one per process.
    pairs.push(("FEDFLOW_BODHI__KEYTAB", "/etc/fedflow/other.keytab"));
    let message = load_env(&pairs).expect_err("two keytabs");
    assert!(
        message.contains("bodhi.keytab") && message.contains("one Kerberos keytab"),
        "{message}"
    );
}

#[cfg(feature = "kerberos")]
#[test]
fn bodhi_kerberos_alone_needs_an_identity_and_takes_keytabs_from_systemd_credentials() {
    let message = load_env(&[
        ("FEDFLOW_BODHI__AUTH", "kerberos"),
        ("FEDFLOW_BODHI__PRINCIPAL", "bot@FEDORAPROJECT.ORG"),
    ])
    .expect_err("no keytab");
    assert!(
        message.contains("bodhi.auth") && message.contains("bodhi.keytab or koji.keytab"),
        "{message}"
    );
    let settings = load_env(&[
        ("CREDENTIALS_DIRECTORY", "/run/credentials/fedflow.service"),
        ("FEDFLOW_BODHI__AUTH", "kerberos"),
        ("FEDFLOW_BODHI__PRINCIPAL", "bot@FEDORAPROJECT.ORG"),
        ("FEDFLOW_BODHI__KEYTAB", "bot.keytab"),
    ])
    .expect("valid");
    let keytab = Path::new("/run/credentials/fedflow.service/bot.keytab");
    assert_eq!(settings.client_keytab(), Some(keytab));
    assert_eq!(settings.koji.auth, KojiAuthSettings::None);
}

#[test]
fn koji_kerberos_needs_principal_and_keytab() {
    let message = load_env(&KOJI_KERBEROS[..2]).expect_err("no keytab");
    let expected = if cfg!(feature = "kerberos") {
        "koji.keytab"
    } else {
        "koji.auth"
    };
    assert!(message.contains(expected), "{message}");
}

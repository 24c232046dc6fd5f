//! `fedflow check-config`: the effective settings as TOML, secrets never shown, and whether the credential
//! files they name can be read.

use crate::config::{self, Inputs, Settings};
use anyhow::Context;
use std::process::ExitCode;

pub fn check_config(inputs: &Inputs) -> anyhow::Result<ExitCode> {
    let settings = config::load(inputs).context("invalid configuration")?;
    let problems = credential_problems(&settings);
    // Paths are shown, never the contents of the files they name; the URL's password is masked.
    print!(
        "{}",
        toml::to_string(&settings).context("rendering the settings")?
    );
    if problems.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    Ok(ExitCode::FAILURE)
}

/// Credential files that are missing or unreadable: the bus's (only with `amqps://`, where they are used)
/// Koji's (for the configured login) and Bodhi's token file.
fn credential_problems(settings: &Settings) -> Vec<String> {
    let mut files: Vec<(&str, &std::path::PathBuf)> = Vec::new();
    if settings.bus.url.is_tls() {
        for (key, path) in [
            ("bus.ca_file", &settings.bus.ca_file),
            ("bus.cert_file", &settings.bus.cert_file),
            ("bus.key_file", &settings.bus.key_file),
        ] {
            files.extend(path.as_ref().map(|p| (key, p)));
        }
    }
    match &settings.koji.auth {
        config::KojiAuthSettings::None => {}
        config::KojiAuthSettings::Ssl {
            cert_file,
            key_file,
        } => {
            files.push(("koji.cert_file", cert_file));
            files.push(("koji.key_file", key_file));
        }
        config::KojiAuthSettings::Kerberos { keytab, .. } => files.push(("koji.keytab", keytab)),
    }
    files.extend(settings.koji.ca_file.as_ref().map(|p| ("koji.ca_file", p)));
    match &settings.bodhi.auth {
        config::BodhiAuthSettings::RefreshToken { token_file } => {
            files.push(("bodhi.token_file", token_file));
        }
        // The token file of a Kerberos login is created by the first login.
        config::BodhiAuthSettings::Kerberos { keytab, .. } => files.push(("bodhi.keytab", keytab)),
        config::BodhiAuthSettings::None => {}
    }
    files
        .into_iter()
        .filter_map(|(key, path)| {
            std::fs::File::open(path)
                .err()
                .map(|e| format!("{key}: cannot read {}: {e}", path.display()))
        })
        .collect()
}

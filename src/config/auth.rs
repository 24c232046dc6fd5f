//! How fedflow logs in to Koji and Bodhi: the `auth` keys of `[koji]` and `[bodhi]`, the credentials each
//! needs, and the Kerberos identity the two share. Only names and paths are kept: the clients read the files.
//!
//! Kerberos is one identity per daemon: GSSAPI reads one client keytab per process (`KRB5_CLIENT_KTNAME`),
//! so `bodhi.principal`/`bodhi.keytab` default to `koji.principal`/`koji.keytab`, a Bodhi principal of its
//! own must be in the same keytab, and two different keytabs are refused.

use super::fragment::{BodhiFragment, KojiFragment};
use super::settings::Settings;
use super::workflow::{Checked, rejected};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How fedflow logs in to Koji.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "auth", rename_all = "lowercase")]
pub enum KojiAuthSettings {
    /// No credentials: observe-only mode, builds are logged as "would submit".
    None,
    Ssl {
        cert_file: PathBuf,
        key_file: PathBuf,
    },
    Kerberos {
        principal: String,
        keytab: PathBuf,
    },
}

/// How fedflow logs in to Bodhi.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "auth", rename_all = "kebab-case")]
pub enum BodhiAuthSettings {
    /// No credentials: observe-only, updates are logged as "would create".
    None,
    /// The JSON token file the `bodhi` CLI keeps (refreshed and written back by fedflow).
    RefreshToken { token_file: PathBuf },
    /// The OIDC authorization-code flow with a Kerberos (SPNEGO) login at the identity provider, as
    /// `bodhi-client` does it. `token_file`, when set, keeps the tokens across restarts.
    Kerberos {
        principal: String,
        keytab: PathBuf,
        #[serde(skip_serializing_if = "Option::is_none")]
        token_file: Option<PathBuf>,
    },
}

/// `koji.principal`/`koji.keytab` as written, whatever `koji.auth` is: the defaults of Bodhi's.
pub(super) struct KerberosDefaults {
    principal: Option<String>,
    keytab: Option<PathBuf>,
}

impl KerberosDefaults {
    pub fn of(koji: &KojiFragment) -> KerberosDefaults {
        KerberosDefaults {
            principal: non_empty_name(koji.principal.clone()),
            keytab: non_empty(koji.keytab.clone()),
        }
    }
}

pub(super) fn non_empty(path: Option<PathBuf>) -> Option<PathBuf> {
    path.filter(|p| !p.as_os_str().is_empty())
}

fn non_empty_name(name: Option<String>) -> Option<String> {
    name.filter(|n| !n.trim().is_empty())
}

/// Refuses `auth = "kerberos"` in a fedflow built without the feature.
fn kerberos_built_in(key: &str) -> Checked<()> {
    if cfg!(feature = "kerberos") {
        Ok(())
    } else {
        Err(rejected(
            key,
            "\"kerberos\" needs a fedflow built with the cargo feature `kerberos`",
        ))
    }
}

pub(super) fn koji(fragment: &KojiFragment) -> Checked<KojiAuthSettings> {
    let cert_file = non_empty(fragment.cert_file.clone());
    let key_file = non_empty(fragment.key_file.clone());
    match fragment.auth.as_deref().unwrap_or("none") {
        "none" => Ok(KojiAuthSettings::None),
        "ssl" => match (cert_file, key_file) {
            (Some(cert_file), Some(key_file)) => Ok(KojiAuthSettings::Ssl {
                cert_file,
                key_file,
            }),
            (None, _) => Err(rejected("koji.cert_file", "required with auth = \"ssl\"")),
            (_, None) => Err(rejected("koji.key_file", "required with auth = \"ssl\"")),
        },
        "kerberos" => {
            kerberos_built_in("koji.auth")?;
            let defaults = KerberosDefaults::of(fragment);
            match (defaults.principal, defaults.keytab) {
                (Some(principal), Some(keytab)) => {
                    Ok(KojiAuthSettings::Kerberos { principal, keytab })
                }
                (None, _) => Err(rejected(
                    "koji.principal",
                    "required with auth = \"kerberos\"",
                )),
                (_, None) => Err(rejected("koji.keytab", "required with auth = \"kerberos\"")),
            }
        }
        other => Err(rejected(
            "koji.auth",
            format!("expected \"none\", \"ssl\" or \"kerberos\", got {other:?}"),
        )),
    }
}

pub(super) fn bodhi(
    fragment: &BodhiFragment,
    koji: &KerberosDefaults,
) -> Checked<BodhiAuthSettings> {
    let token_file = non_empty(fragment.token_file.clone());
    match fragment.auth.as_deref().unwrap_or("none") {
        "none" => Ok(BodhiAuthSettings::None),
        "refresh-token" => match token_file {
            Some(token_file) => Ok(BodhiAuthSettings::RefreshToken { token_file }),
            // Named after `auth`, so the error points at the file that asked for a token.
            None => Err(rejected(
                "bodhi.auth",
                "\"refresh-token\" needs bodhi.token_file (the token file the bodhi CLI keeps)",
            )),
        },
        "kerberos" => {
            kerberos_built_in("bodhi.auth")?;
            let principal = non_empty_name(fragment.principal.clone())
                .or_else(|| koji.principal.clone())
                .ok_or_else(|| {
                    rejected(
                        "bodhi.auth",
                        "\"kerberos\" needs bodhi.principal or koji.principal",
                    )
                })?;
            let keytab = non_empty(fragment.keytab.clone())
                .or_else(|| koji.keytab.clone())
                .ok_or_else(|| {
                    rejected(
                        "bodhi.auth",
                        "\"kerberos\" needs bodhi.keytab or koji.keytab",
                    )
                })?;
            Ok(BodhiAuthSettings::Kerberos {
                principal,
                keytab,
                token_file,
            })
        }
        other => Err(rejected(
            "bodhi.auth",
            format!("expected \"none\", \"refresh-token\" or \"kerberos\", got {other:?}"),
        )),
    }
}

/// Koji and Bodhi logging in with Kerberos must share the keytab (principals may differ).
pub(super) fn one_keytab(settings: &Settings) -> Checked<()> {
    if let (
        KojiAuthSettings::Kerberos { keytab: koji, .. },
        BodhiAuthSettings::Kerberos { keytab: bodhi, .. },
    ) = (&settings.koji.auth, &settings.bodhi.auth)
        && koji != bodhi
    {
        return Err(rejected(
            "bodhi.keytab",
            format!(
                "must be koji.keytab ({}): fedflow reads one Kerberos keytab; put both principals in it",
                koji.display()
            ),
        ));
    }
    Ok(())
}

impl Settings {
    /// The keytab Kerberos logins take their keys from, if any login uses Kerberos.
    pub fn client_keytab(&self) -> Option<&Path> {
        match (&self.koji.auth, &self.bodhi.auth) {
            (KojiAuthSettings::Kerberos { keytab, .. }, _)
            | (_, BodhiAuthSettings::Kerberos { keytab, .. }) => Some(keytab),
            _ => None,
        }
    }
}

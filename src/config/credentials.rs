//! systemd credentials: with `LoadCredential=` the unit hands the service its secrets in
//! `$CREDENTIALS_DIRECTORY`, a private read-only directory whose path is only known at start. A secret path
//! in the configuration that is relative (`key_file = "amqp-key"`) names a file there.
//!
//! Keytabs (`koji.keytab`, `bodhi.keytab`) are among them. The Bodhi token file is not: fedflow rewrites it
//! when the identity provider rotates the refresh token, and the credentials directory is read-only.

use super::auth::{BodhiAuthSettings, KojiAuthSettings};
use super::settings::Settings;
use std::path::{Path, PathBuf};

/// Resolves the relative secret paths of `settings` against `credentials_dir`, when systemd set one.
pub(super) fn resolve(settings: &mut Settings, credentials_dir: Option<&str>) {
    let Some(dir) = credentials_dir.filter(|d| !d.is_empty()).map(Path::new) else {
        return;
    };
    for path in [&mut settings.bus.cert_file, &mut settings.bus.key_file]
        .into_iter()
        .flatten()
    {
        in_dir(path, dir);
    }
    match &mut settings.koji.auth {
        KojiAuthSettings::None => {}
        KojiAuthSettings::Ssl {
            cert_file,
            key_file,
        } => {
            in_dir(cert_file, dir);
            in_dir(key_file, dir);
        }
        KojiAuthSettings::Kerberos { keytab, .. } => in_dir(keytab, dir),
    }
    if let BodhiAuthSettings::Kerberos { keytab, .. } = &mut settings.bodhi.auth {
        in_dir(keytab, dir);
    }
}

fn in_dir(path: &mut PathBuf, dir: &Path) {
    if path.is_relative() {
        *path = dir.join(&*path);
    }
}

//! What can go wrong getting a Kerberos ticket to a service, sorted into what an admin has to check: the
//! keytab and principal, the KDC's reachability, the clock, or GSSAPI itself.

use std::path::PathBuf;

/// A Kerberos failure. Messages name the principal, keytab or service and what to check; they never carry
/// a token.
#[derive(Debug, thiserror::Error)]
pub enum KrbError {
    #[error("cannot read the Kerberos keytab {}: {source}", path.display())]
    Keytab {
        path: PathBuf,
        source: std::io::Error,
    },
    /// GSSAPI reads one client keytab per process (`KRB5_CLIENT_KTNAME`).
    #[error(
        "fedflow uses one Kerberos keytab per process: {} is set up, {} was asked for; put both principals in one keytab",
        configured.display(),
        requested.display()
    )]
    KeytabConflict {
        configured: PathBuf,
        requested: PathBuf,
    },
    #[error("Kerberos setup: {reason}")]
    Setup { reason: String },
    /// The keytab holds no usable key for the principal, or the KDC does not know it or refused its key.
    #[error(
        "no Kerberos credentials for {principal} from the keytab {} ({detail}); check that the principal is \
         spelled as in the keytab with its realm (klist -k {}) and that the keytab holds its current keys",
        keytab.display(),
        keytab.display()
    )]
    NoCredentials {
        principal: String,
        keytab: PathBuf,
        detail: String,
    },
    #[error(
        "cannot reach a Kerberos KDC for {principal} ({detail}); check the realm's kdc entries in krb5.conf \
         and that the KDC answers on port 88 (UDP and TCP)"
    )]
    KdcUnreachable { principal: String, detail: String },
    #[error(
        "Kerberos clock skew between this host and the KDC or {target} ({detail}); check that the clock is \
         synchronized (chrony, NTP)"
    )]
    ClockSkew { target: String, detail: String },
    /// The KDC has no principal for the service (`HTTP/<host>`): the URL's host is not the service's name.
    #[error(
        "the Kerberos KDC knows no service principal for {target} ({detail}); check the host name in the URL"
    )]
    UnknownService { target: String, detail: String },
    #[error("Kerberos login of {principal} to {target} failed while {stage}: {detail}")]
    Gssapi {
        stage: &'static str,
        principal: String,
        target: String,
        detail: String,
    },
    /// The server's mutual-authentication token did not verify.
    #[error("{target} did not prove its Kerberos identity (mutual authentication): {detail}")]
    Mutual { target: String, detail: String },
}

// krb5's error codes (krb5/krb5.h, com_err table -1765328384 onwards); GSSAPI passes them on as minor
// status.
const C_PRINCIPAL_UNKNOWN: i32 = -1_765_328_378;
const S_PRINCIPAL_UNKNOWN: i32 = -1_765_328_377;
const CLIENT_REVOKED: i32 = -1_765_328_366;
const KEY_EXPIRED: i32 = -1_765_328_361;
const PREAUTH_FAILED: i32 = -1_765_328_360;
const BAD_INTEGRITY: i32 = -1_765_328_353;
const CLOCK_SKEW: i32 = -1_765_328_347;
const CC_NOTFOUND: i32 = -1_765_328_243;
const REALM_UNKNOWN: i32 = -1_765_328_230;
const KDC_UNREACHABLE: i32 = -1_765_328_228;
const KT_NOTFOUND: i32 = -1_765_328_203;
const REALM_CANT_RESOLVE: i32 = -1_765_328_164;
const KT_KVNO_NOTFOUND: i32 = -1_765_328_154;

impl KrbError {
    /// A stable label for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            KrbError::Keytab { .. } | KrbError::NoCredentials { .. } => "no_credentials",
            KrbError::KdcUnreachable { .. } => "kdc_unreachable",
            KrbError::ClockSkew { .. } => "clock_skew",
            KrbError::KeytabConflict { .. } | KrbError::Setup { .. } => "setup",
            KrbError::UnknownService { .. } => "unknown_service",
            KrbError::Gssapi { .. } | KrbError::Mutual { .. } => "gssapi",
        }
    }

    /// Only an unreachable KDC may fix itself; the rest needs an admin.
    pub fn is_transient(&self) -> bool {
        matches!(self, KrbError::KdcUnreachable { .. })
    }

    /// Sorts a GSSAPI failure by its krb5 minor status, else by the message MIT krb5 gives (SPNEGO sometimes
    /// hides the krb5 code behind its own).
    pub(super) fn classify(
        stage: &'static str,
        principal: &str,
        keytab: &std::path::Path,
        target: &str,
        error: &libgssapi::error::Error,
    ) -> KrbError {
        let detail = error.to_string().trim().to_owned();
        let minor = error.minor as i32;
        let text = detail.to_ascii_lowercase();
        let mentions = |needles: &[&str]| needles.iter().any(|needle| text.contains(needle));
        let no_credentials = || KrbError::NoCredentials {
            principal: principal.to_owned(),
            keytab: keytab.to_owned(),
            detail: detail.clone(),
        };
        match minor {
            KDC_UNREACHABLE | REALM_CANT_RESOLVE => {
                return KrbError::KdcUnreachable {
                    principal: principal.to_owned(),
                    detail,
                };
            }
            CLOCK_SKEW => {
                return KrbError::ClockSkew {
                    target: target.to_owned(),
                    detail,
                };
            }
            S_PRINCIPAL_UNKNOWN => {
                return KrbError::UnknownService {
                    target: target.to_owned(),
                    detail,
                };
            }
            C_PRINCIPAL_UNKNOWN | CLIENT_REVOKED | KEY_EXPIRED | PREAUTH_FAILED | BAD_INTEGRITY
            | CC_NOTFOUND | REALM_UNKNOWN | KT_NOTFOUND | KT_KVNO_NOTFOUND => {
                return no_credentials();
            }
            _ => {}
        }
        if mentions(&[
            "cannot contact any kdc",
            "cannot find kdc",
            "resolve network address",
        ]) {
            KrbError::KdcUnreachable {
                principal: principal.to_owned(),
                detail,
            }
        } else if mentions(&["clock skew"]) {
            KrbError::ClockSkew {
                target: target.to_owned(),
                detail,
            }
        } else if text.starts_with("server ") && text.contains("not found in kerberos database")
            || text.contains("(server ") && text.contains("not found in kerberos database")
        {
            KrbError::UnknownService {
                target: target.to_owned(),
                detail,
            }
        } else if mentions(&[
            "no kerberos credentials",
            "no credentials",
            "not found in kerberos database",
            "key table entry not found",
            "preauthentication failed",
            "keytab",
        ]) {
            no_credentials()
        } else {
            KrbError::Gssapi {
                stage,
                principal: principal.to_owned(),
                target: target.to_owned(),
                detail,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libgssapi::error::{Error, MajorFlags};
    use std::path::Path;

    fn classified(minor: i32) -> KrbError {
        let error = Error {
            major: MajorFlags::GSS_S_FAILURE,
            minor: minor as u32,
        };
        KrbError::classify(
            "making the SPNEGO token",
            "bot@EXAMPLE.ORG",
            Path::new("/etc/fedflow/bot.keytab"),
            "HTTP@koji.example.org",
            &error,
        )
    }

    #[test]
    fn krb5_codes_say_what_the_admin_has_to_check() {
        let skew = classified(CLOCK_SKEW);
        assert_eq!(skew.kind(), "clock_skew");
        assert!(skew.to_string().contains("clock"), "{skew}");
        let unreachable = classified(KDC_UNREACHABLE);
        assert_eq!(unreachable.kind(), "kdc_unreachable");
        assert!(unreachable.is_transient());
        assert!(unreachable.to_string().contains("bot@EXAMPLE.ORG"));
        let unknown = classified(C_PRINCIPAL_UNKNOWN);
        assert_eq!(unknown.kind(), "no_credentials");
        let text = unknown.to_string();
        assert!(
            text.contains("bot@EXAMPLE.ORG") && text.contains("/etc/fedflow/bot.keytab"),
            "{text}"
        );
        assert!(!unknown.is_transient());
        let service = classified(S_PRINCIPAL_UNKNOWN);
        assert_eq!(service.kind(), "unknown_service");
        assert!(service.to_string().contains("HTTP@koji.example.org"));
        assert_eq!(classified(12345).kind(), "gssapi");
    }
}

//! Kerberos on the client side (cargo feature `kerberos`): the process-wide setup that lets GSSAPI take the
//! daemon's tickets from a keytab without `kinit` ([`configure_process`]), and SPNEGO for one HTTP request
//! ([`Negotiator`]): the initiator credential of the configured principal, a context for `HTTP@<host of the
//! URL>`, the `Authorization: Negotiate <base64>` header, and the optional mutual authentication of the
//! server's answer. Koji's `sslLogin` and the Bodhi identity provider's authorization endpoint use it.
//!
//! Every GSSAPI call may talk to the KDC, so each runs in `spawn_blocking`.

mod error;
mod negotiate;

pub use error::KrbError;
pub use negotiate::{Negotiation, Negotiator};

/// The GSSAPI binding fedflow is built with, for the integration tests' fake servers (their acceptor side).
#[doc(hidden)]
pub use libgssapi as gssapi;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The private credential cache: tickets stay in this process's memory, never in a user's cache file, and
/// are fetched again from the keytab after a restart or when they expire.
pub const CREDENTIAL_CACHE: &str = "MEMORY:fedflow";

/// The client keytab [`configure_process`] exported.
static CLIENT_KEYTAB: OnceLock<PathBuf> = OnceLock::new();

/// Points GSSAPI at `keytab` for initial credentials (`KRB5_CLIENT_KTNAME`, read by MIT krb5 ≥ 1.11 whenever
/// it needs a ticket it does not hold) and at a private in-memory credential cache (`KRB5CCNAME`). With both
/// set, acquiring the principal's credential needs no `kinit` and tickets renew themselves from the keytab.
///
/// There is no GSSAPI call that takes a keytab path for an initiator (`gss_acquire_cred_from` is not in the
/// binding), so the environment is the interface, and it is process-wide: one keytab per process, set once.
/// A second call with the same keytab is a no-op; with another keytab it is an error.
///
/// # Safety
///
/// Changes the process environment. No other thread may read or write the environment while it runs
/// (`getenv` in C libraries is not synchronized with `setenv`): call it before starting threads, as
/// `fedflow run` does before it builds its async runtime.
pub unsafe fn configure_process(keytab: &Path) -> Result<(), KrbError> {
    if let Some(configured) = CLIENT_KEYTAB.get() {
        return if configured == keytab {
            Ok(())
        } else {
            Err(KrbError::KeytabConflict {
                configured: configured.clone(),
                requested: keytab.to_owned(),
            })
        };
    }
    let mut name = std::ffi::OsString::from("FILE:");
    name.push(keytab.as_os_str());
    // SAFETY: the caller guarantees that no other thread touches the environment meanwhile.
    unsafe {
        std::env::set_var("KRB5_CLIENT_KTNAME", name);
        std::env::set_var("KRB5CCNAME", CREDENTIAL_CACHE);
    }
    // Set once: a racing caller with another keytab gets the conflict on its next call.
    let _ = CLIENT_KEYTAB.set(keytab.to_owned());
    Ok(())
}

/// The keytab [`configure_process`] set up, if any.
pub fn configured_keytab() -> Option<&'static Path> {
    CLIENT_KEYTAB.get().map(PathBuf::as_path)
}

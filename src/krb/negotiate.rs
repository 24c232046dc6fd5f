//! SPNEGO for one HTTP request (RFC 4559), as requests-gssapi does it for koji and bodhi-client: a fresh
//! context per request for `HTTP@<host>`, the first token in `Authorization: Negotiate`, and mutual
//! authentication when the server offers it (OPTIONAL: a server that sends no token is accepted, one that
//! sends a token that does not verify is not).

use super::error::KrbError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use libgssapi::context::{ClientCtx, CtxFlags};
use libgssapi::credential::{Cred, CredUsage};
use libgssapi::name::Name;
use libgssapi::oid::{GSS_MECH_SPNEGO, GSS_NT_HOSTBASED_SERVICE, GSS_NT_KRB5_PRINCIPAL};
use std::path::{Path, PathBuf};

/// Makes SPNEGO tokens for one principal whose keys are in the process's client keytab.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Negotiator {
    principal: String,
    keytab: PathBuf,
}

/// A context after its first token: the header to send, and what is needed to check the server's answer.
pub struct Negotiation {
    context: ClientCtx,
    authorization: String,
    principal: String,
    target: String,
}

impl std::fmt::Debug for Negotiation {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is a credential: only who and where.
        formatter
            .debug_struct("Negotiation")
            .field("principal", &self.principal)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Negotiator {
    /// Checks what can be checked without the KDC: the principal is given, the keytab is readable, and it is
    /// the keytab [`super::configure_process`] exported (GSSAPI reads no other).
    pub fn new(principal: &str, keytab: &Path) -> Result<Negotiator, KrbError> {
        if principal.trim().is_empty() {
            return Err(KrbError::Setup {
                reason: "no Kerberos principal configured".to_owned(),
            });
        }
        std::fs::File::open(keytab).map_err(|source| KrbError::Keytab {
            path: keytab.to_owned(),
            source,
        })?;
        match super::configured_keytab() {
            Some(configured) if configured == keytab => {}
            Some(configured) => {
                return Err(KrbError::KeytabConflict {
                    configured: configured.to_owned(),
                    requested: keytab.to_owned(),
                });
            }
            None => {
                return Err(KrbError::Setup {
                    reason: format!(
                        "the process was not set up for the keytab {} (krb::configure_process)",
                        keytab.display()
                    ),
                });
            }
        }
        Ok(Negotiator {
            principal: principal.to_owned(),
            keytab: keytab.to_owned(),
        })
    }

    pub fn principal(&self) -> &str {
        &self.principal
    }

    /// Acquires the principal's credential (a KDC round trip when no valid ticket is cached) and makes the
    /// first token for `HTTP@<host of url>`.
    pub async fn start(&self, url: &reqwest::Url) -> Result<Negotiation, KrbError> {
        let host = url
            .host_str()
            .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
            .filter(|host| !host.is_empty())
            .ok_or_else(|| KrbError::Setup {
                reason: format!("{url} has no host to name the Kerberos service after"),
            })?;
        let target = format!("HTTP@{host}");
        let negotiator = self.clone();
        tokio::task::spawn_blocking(move || negotiator.first_token(target))
            .await
            .map_err(|error| KrbError::Setup {
                reason: format!("the GSSAPI task failed: {error}"),
            })?
    }

    fn first_token(&self, target: String) -> Result<Negotiation, KrbError> {
        // Error texts are rendered here, on the thread that made the call (GSSAPI keeps some error
        // details per thread).
        let fail = |stage: &'static str, error: libgssapi::error::Error| {
            KrbError::classify(stage, &self.principal, &self.keytab, &target, &error)
        };
        let principal = Name::new(self.principal.as_bytes(), Some(GSS_NT_KRB5_PRINCIPAL))
            .map_err(|error| fail("parsing the principal", error))?;
        let credential = Cred::acquire(Some(&principal), None, CredUsage::Initiate, None)
            .map_err(|error| fail("acquiring the credential", error))?;
        let service = Name::new(target.as_bytes(), Some(GSS_NT_HOSTBASED_SERVICE))
            .map_err(|error| fail("naming the service", error))?;
        let mut context = ClientCtx::new(
            Some(credential),
            service,
            CtxFlags::GSS_C_MUTUAL_FLAG,
            Some(GSS_MECH_SPNEGO),
        );
        let token = context
            .step(None, None)
            .map_err(|error| fail("making the SPNEGO token", error))?
            .ok_or_else(|| KrbError::Gssapi {
                stage: "making the SPNEGO token",
                principal: self.principal.clone(),
                target: target.clone(),
                detail: "GSSAPI produced no token".to_owned(),
            })?;
        Ok(Negotiation {
            authorization: format!("Negotiate {}", BASE64.encode(&*token)),
            context,
            principal: self.principal.clone(),
            target,
        })
    }
}

impl Negotiation {
    /// The `Authorization` header value: `Negotiate <base64 token>`.
    pub fn authorization(&self) -> &str {
        &self.authorization
    }

    /// `HTTP@<host>`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Mutual authentication, optional as requests-gssapi's OPTIONAL: `www_authenticate` is the answer's
    /// `WWW-Authenticate` header. Without a `Negotiate <token>` in it there is nothing to check; with one,
    /// the token must complete the context (else the answer did not come from the service we asked for).
    pub async fn finish(mut self, www_authenticate: Option<&str>) -> Result<(), KrbError> {
        let Some(token) = www_authenticate.and_then(server_token) else {
            return Ok(());
        };
        let token = BASE64.decode(token).map_err(|error| KrbError::Mutual {
            target: self.target.clone(),
            detail: format!("the server's token is not base64: {error}"),
        })?;
        tokio::task::spawn_blocking(move || {
            let target = self.target.clone();
            match self.context.step(Some(&token), None) {
                Ok(None) => Ok(()),
                Ok(Some(_)) => Err(KrbError::Mutual {
                    target,
                    detail: "the context wants another round trip".to_owned(),
                }),
                Err(error) => Err(KrbError::Mutual {
                    target,
                    detail: error.to_string(),
                }),
            }
        })
        .await
        .map_err(|error| KrbError::Setup {
            reason: format!("the GSSAPI task failed: {error}"),
        })?
    }
}

/// The token of a `WWW-Authenticate: Negotiate <token>` value (several challenges may be comma-separated).
fn server_token(header: &str) -> Option<&str> {
    header.split(',').find_map(|challenge| {
        let (scheme, token) = challenge.trim().split_once(' ')?;
        let token = token.trim();
        (scheme.eq_ignore_ascii_case("negotiate") && !token.is_empty()).then_some(token)
    })
}

#[cfg(test)]
mod tests {
    use super::server_token;

    #[test]
    fn the_server_token_is_found_among_challenges() {
        assert_eq!(server_token("Negotiate oRQw"), Some("oRQw"));
        assert_eq!(
            server_token("Basic realm=x, negotiate  oRQw "),
            Some("oRQw")
        );
        assert_eq!(server_token("Negotiate"), None);
        assert_eq!(server_token("Basic realm=x"), None);
    }
}

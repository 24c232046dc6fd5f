//! The Koji client's error taxonomy: what failed (transport, HTTP, decoding, a hub fault, credentials),
//! a stable `kind()` label for metrics, and `is_transient()` for the caller's retry policy.

use std::path::PathBuf;
use std::time::Duration;

/// Koji's fault codes (koji `koji/__init__.py`, the `faultCode` of each `GenericError` subclass).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FaultCode {
    GenericError,
    LockError,
    AuthError,
    TagError,
    ActionNotAllowed,
    BuildError,
    AuthLockError,
    AuthExpired,
    SequenceError,
    RetryError,
    PreBuildError,
    PostBuildError,
    BuildrootError,
    FunctionDeprecated,
    ServerOffline,
    LiveCDError,
    PluginError,
    CallbackError,
    ApplianceError,
    ParameterError,
    ImportError,
    ConfigurationError,
    LiveMediaError,
    GSSAPIAuthError,
    NameValidationError,
    /// Code 1 (an unexpected exception on the hub) or a code this client does not know.
    Other(i64),
}

impl FaultCode {
    const KNOWN: [(i64, FaultCode, &'static str); 25] = [
        (1000, FaultCode::GenericError, "GenericError"),
        (1001, FaultCode::LockError, "LockError"),
        (1002, FaultCode::AuthError, "AuthError"),
        (1003, FaultCode::TagError, "TagError"),
        (1004, FaultCode::ActionNotAllowed, "ActionNotAllowed"),
        (1005, FaultCode::BuildError, "BuildError"),
        (1006, FaultCode::AuthLockError, "AuthLockError"),
        (1007, FaultCode::AuthExpired, "AuthExpired"),
        (1008, FaultCode::SequenceError, "SequenceError"),
        (1009, FaultCode::RetryError, "RetryError"),
        (1010, FaultCode::PreBuildError, "PreBuildError"),
        (1011, FaultCode::PostBuildError, "PostBuildError"),
        (1012, FaultCode::BuildrootError, "BuildrootError"),
        (1013, FaultCode::FunctionDeprecated, "FunctionDeprecated"),
        (1014, FaultCode::ServerOffline, "ServerOffline"),
        (1015, FaultCode::LiveCDError, "LiveCDError"),
        (1016, FaultCode::PluginError, "PluginError"),
        (1017, FaultCode::CallbackError, "CallbackError"),
        (1018, FaultCode::ApplianceError, "ApplianceError"),
        (1019, FaultCode::ParameterError, "ParameterError"),
        (1020, FaultCode::ImportError, "ImportError"),
        (1021, FaultCode::ConfigurationError, "ConfigurationError"),
        (1022, FaultCode::LiveMediaError, "LiveMediaError"),
        (1023, FaultCode::GSSAPIAuthError, "GSSAPIAuthError"),
        (1024, FaultCode::NameValidationError, "NameValidationError"),
    ];

    pub fn from_code(code: i64) -> FaultCode {
        Self::KNOWN
            .iter()
            .find(|(known, _, _)| *known == code)
            .map_or(FaultCode::Other(code), |(_, fault, _)| *fault)
    }

    pub fn code(self) -> i64 {
        match self {
            FaultCode::Other(code) => code,
            known => Self::KNOWN
                .iter()
                .find(|(_, fault, _)| *fault == known)
                .map_or(0, |(code, _, _)| *code),
        }
    }

    /// Koji's exception class name; `"Other"` for unknown codes.
    pub fn name(self) -> &'static str {
        Self::KNOWN
            .iter()
            .find(|(_, fault, _)| *fault == self)
            .map_or("Other", |(_, _, name)| name)
    }
}

impl std::fmt::Display for FaultCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code(), self.name())
    }
}

/// Everything that can go wrong talking to a Koji hub. Messages name the method and URL; they never
/// contain session keys.
#[derive(Debug, thiserror::Error)]
pub enum KojiError {
    /// A certificate, key or CA file could not be read (at construction).
    #[error("cannot read Koji {role} file {}: {source}", path.display())]
    ReadFile {
        role: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A certificate, key or CA file has no usable PEM content (at construction).
    #[error("invalid Koji {role} file {}: {reason}", path.display())]
    InvalidFile {
        role: &'static str,
        path: PathBuf,
        reason: String,
    },
    /// The hub URL is unusable or the HTTP client could not be built (at construction).
    #[error("cannot set up the Koji client for {hub_url}: {reason}")]
    Setup { hub_url: String, reason: String },
    /// A write was asked of a client without credentials; nothing was sent.
    #[error("Koji {method} needs a login, but this client is anonymous (observe-only)")]
    NotAuthenticated { method: String },
    /// Connecting, TLS, or the connection dropped mid-call.
    #[error("Koji {method} at {url}: {}", super::transport::error_chain(source))]
    Transport {
        method: String,
        url: String,
        source: reqwest::Error,
    },
    /// No complete answer within the configured per-request timeout. A write may have been processed.
    #[error("Koji {method} at {url}: no complete answer within {timeout:?}")]
    Timeout {
        method: String,
        url: String,
        timeout: Duration,
    },
    #[error("Koji {method} at {url}: HTTP status {status}")]
    HttpStatus {
        method: String,
        url: String,
        status: u16,
    },
    /// The body is not an XML-RPC response of the expected shape, or exceeds the size limit.
    #[error("Koji {method} at {url}: undecodable response: {reason}")]
    Decode {
        method: String,
        url: String,
        reason: String,
    },
    /// The hub answered with an XML-RPC fault.
    #[error("Koji {method}: fault {code}: {string}")]
    Fault {
        method: String,
        code: FaultCode,
        string: String,
    },
    /// No Kerberos token for the login: no ticket for the principal, the KDC unreachable, clock skew; or the
    /// hub's answer failed mutual authentication.
    #[cfg(feature = "kerberos")]
    #[error("Koji {method} at {url}: {error}")]
    Kerberos {
        method: String,
        url: String,
        error: Box<crate::krb::KrbError>,
    },
    /// The hub refused our credentials: the login failed, or a call failed with `AuthError` right after a
    /// fresh login. Retrying will not help until the credentials are fixed.
    #[error("Koji {method}: credentials refused at {url}: {reason}")]
    Auth {
        method: String,
        url: String,
        reason: String,
    },
}

impl KojiError {
    /// A stable label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            KojiError::ReadFile { .. }
            | KojiError::InvalidFile { .. }
            | KojiError::Setup { .. } => "config",
            KojiError::NotAuthenticated { .. } => "not_authenticated",
            KojiError::Transport { .. } => "transport",
            KojiError::Timeout { .. } => "timeout",
            KojiError::HttpStatus { .. } => "http_status",
            KojiError::Decode { .. } => "decode",
            KojiError::Fault { .. } => "fault",
            KojiError::Auth { .. } => "auth",
            #[cfg(feature = "kerberos")]
            KojiError::Kerberos { .. } => "kerberos",
        }
    }

    /// True when the same call may succeed later without any change on our side: network errors,
    /// timeouts, HTTP 5xx (and 408/429), and `ServerOffline`.
    pub fn is_transient(&self) -> bool {
        match self {
            KojiError::Transport { .. } | KojiError::Timeout { .. } => true,
            KojiError::HttpStatus { status, .. } => {
                *status >= 500 || *status == 408 || *status == 429
            }
            KojiError::Fault { code, .. } => *code == FaultCode::ServerOffline,
            #[cfg(feature = "kerberos")]
            KojiError::Kerberos { error, .. } => error.is_transient(),
            _ => false,
        }
    }

    /// The fault code, when the hub answered with a fault.
    pub fn fault_code(&self) -> Option<FaultCode> {
        match self {
            KojiError::Fault { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True for the hub's refusal to build an NVR that already exists: `GenericError: Build already
    /// exists (id=…, state=…): {…}` (kojihub `recycle_build`/`new_build`), as it arrives from the task's
    /// result or a fault.
    pub fn is_already_built(&self) -> bool {
        match self {
            KojiError::Fault { code, string, .. } => {
                matches!(code, FaultCode::GenericError | FaultCode::BuildError)
                    && string.to_ascii_lowercase().contains("build already exists")
            }
            _ => false,
        }
    }
}

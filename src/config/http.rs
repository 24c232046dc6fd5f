//! The `[http]` settings: where the status page, JSON API and `/metrics` listen, or that they are off.

use super::fragment::HttpFragment;
use super::workflow::{Checked, rejected};
use serde::{Serialize, Serializer};
use std::net::SocketAddr;

/// Loopback only by default: the page is read-only but shows what fedflow does; expose it on purpose.
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:9465";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HttpSettings {
    /// `None`: no HTTP server (configured as an empty string).
    #[serde(serialize_with = "as_listen")]
    pub listen: Option<SocketAddr>,
}

pub(super) fn http(fragment: HttpFragment) -> Checked<HttpSettings> {
    let listen = fragment
        .listen
        .unwrap_or_else(|| DEFAULT_HTTP_LISTEN.to_owned());
    let listen = listen.trim();
    if listen.is_empty() {
        return Ok(HttpSettings { listen: None });
    }
    match listen.parse::<SocketAddr>() {
        Ok(address) => Ok(HttpSettings {
            listen: Some(address),
        }),
        Err(_) => Err(rejected(
            "http.listen",
            format!(
                "expected an IP address and port such as \"127.0.0.1:9465\" or \"[::1]:9465\", \
                 or \"\" to disable the HTTP server; got {listen:?}"
            ),
        )),
    }
}

/// Written back the way it is configured: the address, or `""` when disabled.
fn as_listen<S: Serializer>(value: &Option<SocketAddr>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(address) => serializer.collect_str(address),
        None => serializer.serialize_str(""),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Inputs, load};

    fn with_file(text: &str) -> (tempfile::TempDir, Inputs) {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("http.toml");
        std::fs::write(&path, text).expect("write config");
        let inputs = Inputs {
            config_files: vec![path],
            ..Inputs::default()
        };
        (dir, inputs)
    }

    #[test]
    fn listens_on_loopback_by_default_and_an_empty_string_disables_it() {
        let settings = load(&Inputs::default()).expect("defaults");
        assert_eq!(
            settings.http.listen.map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:9465")
        );
        let (_dir, inputs) = with_file("[http]\nlisten = \"\"\n");
        let settings = load(&inputs).expect("disabled");
        assert_eq!(settings.http.listen, None);
        let printed = toml::to_string(&settings).expect("render");
        assert!(printed.contains("[http]\nlisten = \"\""), "{printed}");
        let (_dir, inputs) = with_file("[http]\nlisten = \"[::1]:8080\"\n");
        let settings = load(&inputs).expect("IPv6");
        assert_eq!(
            settings.http.listen.map(|a| a.to_string()).as_deref(),
            Some("[::1]:8080")
        );
    }

    #[test]
    fn a_listen_value_that_is_no_socket_address_names_the_file_and_key() {
        let (dir, inputs) = with_file("[http]\nlisten = \"localhost\"\n");
        let error = load(&inputs)
            .expect_err("a host name without port")
            .to_string();
        assert!(error.contains("http.listen"), "{error}");
        assert!(
            error.contains(&dir.path().join("http.toml").display().to_string()),
            "{error}"
        );
        assert!(error.contains("\"localhost\""), "{error}");
        let (_dir, inputs) = with_file("[http]\nport = 80\n");
        let error = load(&inputs).expect_err("unknown key").to_string();
        assert!(error.contains("port"), "{error}");
    }
}

//! Throwaway X.509 material for one private broker node: a test CA, a server certificate for
//! `localhost`/`127.0.0.1`, a client certificate whose CN is the broker user `fedflow-test`, and
//! a two-CA bundle shaped like Fedora's `cacert.pem`. Generated with the `openssl` CLI.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The user name the broker derives from the client certificate (`ssl_cert_login_from = common_name`).
pub const CLIENT_COMMON_NAME: &str = "fedflow-test";

/// ECDSA P-256 keys take milliseconds where RSA-2048 takes ~0.4 s of CPU each; the CAs and the
/// server key only need to be valid, so they use it.
const FAST_KEY: &[&str] = &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
/// The client key is what fedflow itself loads: RSA in PKCS#8 PEM, the most common shape of a
/// broker client key, so the client's RSA path is the one under test.
const CLIENT_KEY: &[&str] = &["-newkey", "rsa:2048"];

/// Paths of the PEM files of one node. Keys are PKCS#8 (`BEGIN PRIVATE KEY`), as OpenSSL 3 writes them.
#[derive(Debug, Clone)]
pub struct Certs {
    /// The CA that signed the server and client certificates.
    pub ca_file: PathBuf,
    /// An unrelated CA first, then the real one: a client that only loads the first
    /// certificate of a bundle fails against this file.
    pub ca_bundle_file: PathBuf,
    /// Only the unrelated CA: trusting it alone must make the TLS handshake fail.
    pub unrelated_ca_file: PathBuf,
    pub server_cert_file: PathBuf,
    pub server_key_file: PathBuf,
    pub client_cert_file: PathBuf,
    pub client_key_file: PathBuf,
}

impl Certs {
    /// Creates `dir` and writes all certificates into it (valid for two days).
    pub fn generate(dir: &Path) -> Certs {
        fs::create_dir_all(dir).expect("create the certificate directory");
        let certs = Certs {
            ca_file: dir.join("ca.pem"),
            ca_bundle_file: dir.join("ca-bundle.pem"),
            unrelated_ca_file: dir.join("unrelated-ca.pem"),
            server_cert_file: dir.join("server.pem"),
            server_key_file: dir.join("server.key"),
            client_cert_file: dir.join("client.pem"),
            client_key_file: dir.join("client.key"),
        };

        create_ca(dir, "fedflow-test-ca", "ca");
        create_ca(dir, "fedflow-test-unrelated-ca", "unrelated-ca");
        let server_extensions =
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n";
        create_signed_cert(dir, "localhost", "server", FAST_KEY, server_extensions);
        let client_extensions = "extendedKeyUsage=clientAuth\n";
        create_signed_cert(
            dir,
            CLIENT_COMMON_NAME,
            "client",
            CLIENT_KEY,
            client_extensions,
        );

        let unrelated =
            fs::read_to_string(&certs.unrelated_ca_file).expect("read the unrelated CA");
        let real = fs::read_to_string(&certs.ca_file).expect("read the test CA");
        fs::write(&certs.ca_bundle_file, format!("{unrelated}{real}"))
            .expect("write the CA bundle");
        certs
    }
}

fn create_ca(dir: &Path, common_name: &str, file_stem: &str) {
    let subject = format!("/CN={common_name}");
    let (key, cert) = (format!("{file_stem}.key"), format!("{file_stem}.pem"));
    let mut args = vec!["req", "-x509", "-nodes", "-days", "2", "-subj", &subject];
    args.extend_from_slice(FAST_KEY);
    args.extend_from_slice(&["-keyout", &key, "-out", &cert]);
    args.extend_from_slice(&["-addext", "basicConstraints=critical,CA:TRUE"]);
    args.extend_from_slice(&["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    run_openssl(dir, &args);
}

fn create_signed_cert(
    dir: &Path,
    common_name: &str,
    file_stem: &str,
    new_key: &[&str],
    extensions: &str,
) {
    let subject = format!("/CN={common_name}");
    let (key, csr) = (format!("{file_stem}.key"), format!("{file_stem}.csr"));
    let (cert, extensions_file) = (format!("{file_stem}.pem"), format!("{file_stem}.ext"));
    fs::write(dir.join(&extensions_file), extensions).expect("write the extensions file");
    let mut request = vec![
        "req", "-nodes", "-subj", &subject, "-keyout", &key, "-out", &csr,
    ];
    request.extend_from_slice(new_key);
    run_openssl(dir, &request);
    run_openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &cert,
            "-extfile",
            &extensions_file,
        ],
    );
}

fn run_openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|error| {
            panic!("cannot run `openssl` ({error}): install the openssl command-line tool")
        });
    assert!(
        output.status.success(),
        "openssl {args:?} failed with {}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

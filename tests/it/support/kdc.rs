//! A private MIT KDC for the Kerberos tests (koji.md §10): realm `TEST.LOCAL` in its own temporary directory,
//! on a free port, with the principals `bot` (fedflow's identity) and `HTTP/localhost` (the fake hub's and
//! the fake IdP's service), their keytabs, and the acceptor side the fakes check `Negotiate` tokens with.
//!
//! GSSAPI is configured through the process environment, which every test thread shares. So there is one
//! KDC per test binary, started by the first Kerberos test ([`shared`]); that first call also sets the
//! environment, once, for everything that follows: `KRB5_CONFIG` (the realm), `KRB5_KTNAME` (the fakes'
//! service keytab) and, through fedflow's own setup, the client keytab and private cache of `bot`. Daemons
//! started afterwards inherit it (and re-point the client keytab from their configuration).

use super::process::{POLL_INTERVAL, spawn_dying_with_test_binary};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use fedflow::krb::gssapi::context::{SecurityContext, ServerCtx};
use fedflow::krb::gssapi::credential::{Cred, CredUsage};
use fedflow::krb::gssapi::oid::{GSS_MECH_SPNEGO, OidSet};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const REALM: &str = "TEST.LOCAL";
/// fedflow's principal; its keys are in [`Kdc::bot_keytab`].
pub const BOT: &str = "bot@TEST.LOCAL";
/// The host the fakes are reached at in Kerberos tests: their service principal is `HTTP/localhost`.
pub const SERVICE_HOST: &str = "localhost";

pub struct Kdc {
    dir: tempfile::TempDir,
    /// Keys of [`BOT`], also the test process's client keytab.
    pub bot_keytab: PathBuf,
    _kdc: Mutex<Child>,
}

/// The test binary's KDC, started and wired into the environment on first use; `None` (after saying why)
/// when the MIT KDC is not installed.
pub fn shared() -> Option<&'static Kdc> {
    static KDC: OnceLock<Option<Kdc>> = OnceLock::new();
    KDC.get_or_init(|| {
        let Some(krb5kdc) = tool("krb5kdc") else {
            eprintln!(
                "skipping: krb5kdc is not installed (Debian: krb5-kdc krb5-admin-server; Fedora: krb5-server)"
            );
            return None;
        };
        Some(Kdc::start(&krb5kdc))
    })
    .as_ref()
}

/// `name` on the PATH or in the sbin directories, where Debian and Fedora put the KDC's tools.
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

impl Kdc {
    fn start(krb5kdc: &Path) -> Kdc {
        let dir = tempfile::Builder::new()
            .prefix("fedflow-kdc-")
            .tempdir()
            .expect("KDC temp dir");
        let root = dir.path().to_path_buf();
        let (port, child) = (0..5)
            .find_map(|_| {
                let port = free_port();
                write_configuration(&root, port);
                if !root.join("principal").exists() {
                    create_database(&root);
                }
                launch(krb5kdc, &root, port).map(|child| (port, child))
            })
            .expect("the KDC did not start on any of 5 free ports");
        let kdc = Kdc {
            bot_keytab: root.join("bot.keytab"),
            dir,
            _kdc: Mutex::new(child),
        };
        eprintln!("private KDC for {REALM} on 127.0.0.1:{port}");
        // SAFETY: environment writes race with reads on other threads. This runs once, inside the
        // OnceLock, before any Kerberos test proceeds; the variables are read by libkrb5 only, which only
        // Kerberos tests (all behind this OnceLock) and their child processes use.
        unsafe {
            std::env::set_var("KRB5_CONFIG", root.join("krb5.conf"));
            std::env::set_var(
                "KRB5_KTNAME",
                format!("FILE:{}", root.join("http.keytab").display()),
            );
            std::env::set_var("KRB5RCACHEDIR", &root);
            fedflow::krb::configure_process(&kdc.bot_keytab).expect("client keytab");
        }
        kdc
    }

    /// A principal of the realm with its keys in a keytab of its own, `<name>.keytab`.
    pub fn add_principal(&self, name: &str) -> PathBuf {
        let keytab = self.dir.path().join(format!("{name}.keytab"));
        kadmin(
            self.dir.path(),
            &format!("addprinc -randkey {name}@{REALM}"),
        );
        kadmin(
            self.dir.path(),
            &format!("ktadd -k {} {name}@{REALM}", keytab.display()),
        );
        keytab
    }

    /// Gives `name` new keys (as an admin re-keying it would), leaving its keytab with the old ones.
    pub fn rekey(&self, name: &str) {
        let elsewhere = self.dir.path().join(format!("{name}-new.keytab"));
        kadmin(
            self.dir.path(),
            &format!("ktadd -k {} {name}@{REALM}", elsewhere.display()),
        );
    }
}

/// A port free on 127.0.0.1 for both TCP and UDP (the KDC listens on both).
fn free_port() -> u16 {
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind a TCP port");
        let port = tcp.local_addr().expect("address").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn write_configuration(root: &Path, port: u16) {
    let krb5 = format!(
        "[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n \
         rdns = false\n dns_canonicalize_hostname = false\n udp_preference_limit = 1\n\n\
         [realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n\n\
         [domain_realm]\n {SERVICE_HOST} = {REALM}\n"
    );
    let root_text = root.display();
    let kdc = format!(
        "[kdcdefaults]\n kdc_listen = 127.0.0.1:{port}\n kdc_tcp_listen = 127.0.0.1:{port}\n\n\
         [realms]\n {REALM} = {{\n  database_name = {root_text}/principal\n  key_stash_file = {root_text}/stash\n  \
         acl_file = {root_text}/kadm5.acl\n }}\n\n[logging]\n kdc = FILE:{root_text}/kdc.log\n"
    );
    std::fs::write(root.join("krb5.conf"), krb5).expect("write krb5.conf");
    std::fs::write(root.join("kdc.conf"), kdc).expect("write kdc.conf");
}

/// The KDC's own tools, pointed at this directory's configuration.
fn admin_command(root: &Path, tool_name: &str) -> Command {
    let path = tool(tool_name).unwrap_or_else(|| panic!("{tool_name} is not installed"));
    let mut command = Command::new(path);
    command
        .env("KRB5_CONFIG", root.join("krb5.conf"))
        .env("KRB5_KDC_PROFILE", root.join("kdc.conf"))
        .current_dir(root);
    command
}

fn run(mut command: Command, what: &str) {
    let output = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn kadmin(root: &Path, query: &str) {
    let mut command = admin_command(root, "kadmin.local");
    command.args(["-q", query]);
    run(command, &format!("kadmin.local -q {query:?}"));
}

fn create_database(root: &Path) {
    let mut command = admin_command(root, "kdb5_util");
    command.args(["create", "-s", "-r", REALM, "-P", "fedflow-test-master"]);
    run(command, "kdb5_util create");
    for principal in ["bot", "HTTP/localhost"] {
        kadmin(root, &format!("addprinc -randkey {principal}@{REALM}"));
    }
    let keytab = |name: &str| root.join(name).display().to_string();
    kadmin(root, &format!("ktadd -k {} {BOT}", keytab("bot.keytab")));
    kadmin(
        root,
        &format!("ktadd -k {} HTTP/localhost@{REALM}", keytab("http.keytab")),
    );
}

/// Runs `krb5kdc -n` (in the foreground, dying with the test binary) and waits until it answers on TCP;
/// `None` when it exits first (the port was taken meanwhile).
fn launch(krb5kdc: &Path, root: &Path, port: u16) -> Option<Child> {
    let mut command = Command::new(krb5kdc);
    command
        .arg("-n")
        .env("KRB5_CONFIG", root.join("krb5.conf"))
        .env("KRB5_KDC_PROFILE", root.join("kdc.conf"))
        .current_dir(root);
    let mut child = spawn_dying_with_test_binary(command).expect("spawn krb5kdc");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(child);
        }
        if let Ok(Some(status)) = child.try_wait() {
            eprintln!("krb5kdc on port {port} exited with {status}; trying another port");
            return None;
        }
        std::thread::sleep(POLL_INTERVAL);
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("krb5kdc did not listen on 127.0.0.1:{port} within 20 s");
}

/// What a service learns from an `Authorization: Negotiate <token>` header: the client's principal, and the
/// token for `WWW-Authenticate: Negotiate <token>` that proves the service to it (mutual authentication).
pub struct Accepted {
    pub principal: String,
    pub reply: Option<String>,
}

/// Checks a `Negotiate` header as mod_auth_gssapi does, with the `HTTP/localhost` keytab; the error says
/// why the token was refused.
pub fn accept(authorization: &str) -> Result<Accepted, String> {
    let token = authorization
        .strip_prefix("Negotiate ")
        .ok_or("not a Negotiate header")?;
    let token = BASE64
        .decode(token.trim())
        .map_err(|e| format!("not base64: {e}"))?;
    let mechanisms = OidSet::singleton(GSS_MECH_SPNEGO).map_err(|e| e.to_string())?;
    let credential = Cred::acquire(None, None, CredUsage::Accept, Some(&mechanisms))
        .map_err(|e| format!("acceptor credential: {e}"))?;
    let mut context = ServerCtx::new(Some(credential));
    let reply = context.step(&token, None).map_err(|e| e.to_string())?;
    if !context.is_complete() {
        return Err("the context needs another round trip".to_owned());
    }
    let principal = context
        .source_name()
        .map_err(|e| e.to_string())?
        .to_string();
    Ok(Accepted {
        principal,
        reply: reply.map(|token| BASE64.encode(&*token)),
    })
}

//! The Koji client against the fake hub: the exact wire shape of each call and its decoded results
//! ([`calls`]), the session protocol ([`session`]), and failures: faults, HTTP errors, timeouts and
//! refused credentials ([`failures`]), and the tag and changelog reads ([`tags`]).

mod calls;
mod failures;
mod session;
mod tags;

use std::time::Duration;

use fedflow::koji::{FaultCode, KojiAuth, KojiClient, KojiClientConfig, KojiError};

use crate::support::fake_koji::FakeKoji;

pub const SRC: &str =
    "git+https://src.fedoraproject.org/rpms/hello.git#0123456789abcdef0123456789abcdef01234567";
pub const WAIT: Duration = Duration::from_secs(10);

pub fn config(fake: &FakeKoji, auth: KojiAuth, timeout: Duration) -> KojiClientConfig {
    KojiClientConfig {
        hub_url: fake.hub_url(),
        ca_file: Some(fake.ca_file()),
        auth,
        timeout,
    }
}

pub fn ssl_auth(fake: &FakeKoji) -> KojiAuth {
    KojiAuth::Ssl {
        cert_file: fake.client_cert_file(),
        key_file: fake.client_key_file(),
    }
}

pub fn ssl_client(fake: &FakeKoji) -> KojiClient {
    KojiClient::new(config(fake, ssl_auth(fake), WAIT)).expect("client")
}

pub fn fault_code(result: Result<impl std::fmt::Debug, KojiError>) -> (FaultCode, KojiError) {
    let error = result.expect_err("expected a fault");
    match error.fault_code() {
        Some(code) => (code, error),
        None => panic!("expected a fault, got {error:?}"),
    }
}

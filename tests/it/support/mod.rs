//! Shared support for the `it` integration-test binary: private RabbitMQ nodes ([`broker`]) with
//! their definition ([`node_spec`]) and certificates ([`certs`]), AMQP client helpers ([`amqp`]),
//! the message fixtures ([`fixtures`]), the process plumbing that makes sure no node outlives
//! the test binary ([`process`]), the fedflow daemon under test ([`daemon`]), the fake Koji hub
//! ([`fake_koji`]), fake dist-git and Bodhi HTTP servers ([`fake_distgit`], [`fake_bodhi`], on [`fake_http`]),
//! the end-to-end pipeline setup that combines them ([`pipeline_env`]), the fakes' probabilistic fault mode
//! ([`chaos`], for the soak in `tests/soak`), and, with the feature `kerberos`, a private MIT KDC and the
//! acceptor side of `Negotiate` ([`kdc`]).

pub mod amqp;
pub mod broker;
pub mod certs;
// Only the soak (tests/soak) switches chaos on; the fakes carry it for that.
#[allow(dead_code)]
pub mod chaos;
pub mod daemon;
pub mod fake_bodhi;
pub mod fake_distgit;
pub mod fake_http;
pub mod fake_idp;
pub mod fake_koji;
pub mod fixtures;
#[cfg(feature = "kerberos")]
pub mod kdc;
pub mod node_spec;
pub mod pipeline_env;
pub mod process;

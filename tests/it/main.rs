mod bodhi_pipeline;
mod bodhi_releases;
mod bodhi_updates;
mod broker_smoke;
mod cli;
mod consume;
mod copr;
mod distgit_client;
mod http;
#[cfg(feature = "kerberos")]
mod kerberos;
mod koji_client;
mod lifecycle;
mod outage;
mod packaging;
mod pipeline;
mod replay;
mod support;

//! fedflow: carries Fedora packages from dist-git commits to Koji builds and Bodhi updates, driven by the
//! Fedora message bus. This crate holds the daemon's parts; `main.rs` only calls [`cli::main`].

pub mod bodhi;
pub mod bus;
pub mod changelog;
pub mod cli;
pub mod config;
pub mod copr;
pub mod daemon;
pub mod distgit;
pub mod http;
pub mod journal;
pub mod koji;
#[cfg(feature = "kerberos")]
pub mod krb;
pub mod logging;
pub mod message;
pub mod metrics;
pub mod net;
pub mod packit;
pub mod pipeline;
pub mod status;
pub mod store;

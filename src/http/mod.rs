//! The read-only HTTP surface of a running daemon: the status page (`/`, `/pipelines/{id}`, `/copr`), the JSON API
//! (`/api/v1/...`), `/healthz` for load balancers and systemd-style probes, and `/metrics` for Prometheus.
//!
//! Only GET and HEAD are served; every other method gets 405. Everything shown is read from the store and the
//! live status the other tasks share, never from a copy of its own.

mod api;
mod copr;
mod error;
mod health;
mod metrics;
mod pages;
mod server;

pub use server::{HttpState, Running, start};

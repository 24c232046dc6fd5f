
mod bodhi_releases;
mod broker_smoke;
mod cli;
mod consume;
mod distgit_client;
mod koji_client;
mod lifecycle;
mod outage;
mod pipeline;
mod support;

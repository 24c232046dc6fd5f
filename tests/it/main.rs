mod broker_smoke;
mod cli;
mod consume;
mod koji_client;
mod lifecycle;
mod outage;
mod support;

mod broker_smoke;
mod cli;
mod consume;
mod lifecycle;
mod outage;
mod support;

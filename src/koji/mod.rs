//! The Koji hub client: XML-RPC over HTTPS (koji.md), anonymous reads and certificate-authenticated
//! builds with Koji's session protocol, typed results, and errors a retry policy can act on.
//!
//! The client never retries on its own except where the session protocol demands it (renewing an
//! expired session, one fresh login after `AuthError`); the pipeline owns backoff and reconciliation.

mod client;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod session;
mod tags;
mod transport;
mod types;
mod wire;

#[cfg(test)]
mod tag_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_hostile;

pub use client::{KojiAuth, KojiClient, KojiClientConfig};
pub use error::{FaultCode, KojiError};
pub use transport::MAX_RESPONSE_BYTES;
pub use types::{BuildInfo, BuildTarget, ChangelogEntry, TagInfo, TaskInfo};

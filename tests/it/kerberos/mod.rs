//! Kerberos for real (feature `kerberos`): a private MIT KDC ([`crate::support::kdc`]), fedflow's
//! initiator with the `bot` keytab, and fake servers that verify its `Negotiate` tokens with an acceptor
//! context. Koji's `sslLogin` ([`koji`]), Bodhi's token source at the identity provider ([`bodhi`]), and
//! the daemon doing both from its configuration ([`pipeline`]). Every test skips (with a note on stderr)
//! when the KDC is not installed.

mod bodhi;
mod koji;
mod pipeline;

use crate::support::kdc::{self, Kdc};

/// The shared KDC, or `None` when this machine has none (the test then returns early).
fn kdc() -> Option<&'static Kdc> {
    kdc::shared()
}

//! Bodhi REST client (placeholder)

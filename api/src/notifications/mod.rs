//! Notifications: what each ledger event means to each user it concerns (`model`), kept
//! per user (`repo`) and read over HTTP (`routes`). `crate::worker` writes them from the
//! events it consumes.

pub mod model;
pub mod repo;
pub mod routes;

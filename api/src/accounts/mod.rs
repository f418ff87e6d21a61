//! Bank accounts: currencies (`currency`), domain types (`model`), SQL (`repo`) and HTTP
//! handlers (`routes`). Money moves between accounts in `crate::transfers`.

pub mod currency;
pub mod model;
pub mod repo;
pub mod routes;
pub mod schema;

//! User management: domain types and their validation (`model`), password hashing
//! (`password`), SQL (`repo`) and HTTP handlers (`routes`).

pub mod model;
pub mod pagination;
pub mod password;
pub mod repo;
pub mod routes;
pub mod schema;

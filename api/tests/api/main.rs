//! Integration tests: the real server over real HTTP, each test on a fresh PostgreSQL
//! database created by `#[sqlx::test]` from `DATABASE_URL` (`cargo xtask test` provides one).
#![allow(clippy::unwrap_used)]

mod accounts;
mod app_role;
mod auth;
mod browser;
mod cli;
mod errors;
mod health;
mod helpers;
mod ledger_invariants;
mod limits;
mod memory;
mod metrics;
mod movements;
mod openapi;
mod query_plans;
mod sessions;
mod smoke;
mod tls;
mod users;
mod web_app;
mod worker;

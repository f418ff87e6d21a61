//! Moving money: deposits, withdrawals and transfers (`model`), the double-entry ledger
//! that records them (`ledger`), the event each leaves (`event`), idempotency keys (`idempotency`), account statements
//! (`statement`) and the HTTP handlers (`routes`).

pub mod event;
pub mod idempotency;
pub mod ledger;
pub mod model;
pub mod routes;
pub mod schema;
pub mod statement;

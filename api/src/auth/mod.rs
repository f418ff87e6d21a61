//! Sign-in and access control: signed access tokens (`token`), who is calling
//! (`caller`), the sign-in and sign-out routes (`routes`; their attempt limits are in `crate::limits`), and
//! the first administrator (`admin`).

pub mod admin;
pub mod caller;
pub mod routes;
pub mod token;

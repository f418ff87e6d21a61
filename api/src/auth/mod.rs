//! Sign-in and access control: signed access tokens (`token`), who is calling
//! (`caller`), the sign-in route with its brute-force limits (`routes`, `throttle`), and
//! the first administrator (`admin`).

pub mod admin;
pub mod caller;
pub mod routes;
pub mod throttle;
pub mod token;

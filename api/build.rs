//! Rebuilds the binary when a migration is added or changed: `sqlx::migrate!` embeds the
//! folder at compile time, and cargo does not watch it by itself, so a build after a new
//! migration could ship without it.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}

//! Rebuilds the binary when what it embeds at compile time changes, which cargo does not
//! watch by itself: the migrations (`sqlx::migrate!`) and the web app's built files
//! (`web/dist`, embedded by `web_app::assets`). Without this, a build after a new
//! migration or a new `npm run build` could ship the old ones.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    // Cargo scans a folder for any change. Before the first web build there is no
    // `dist` to watch (a missing path would rebuild every time): watch `web`, where it
    // will appear.
    for candidate in ["../web/dist", "../web"] {
        if Path::new(candidate).exists() {
            println!("cargo:rerun-if-changed={candidate}");
            break;
        }
    }
}

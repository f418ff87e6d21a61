//! Where things are: the repository root, the build output folder, the chart, the image
//! build context; and the one line a task prints per step.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// The chart, relative to the repository root.
pub const CHART: &str = "charts/api-platform";

/// The repository root, whatever folder `cargo xtask` was started from. `XTASK_ROOT`
/// points xtask at another copy of the repository (the deploy tests use a scratch copy
/// whose git state and overlays they control).
pub fn root() -> PathBuf {
    if let Some(root) = std::env::var_os("XTASK_ROOT").filter(|r| !r.is_empty()) {
        return PathBuf::from(root);
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Cargo's target folder (honours `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// Where the image's files are staged: `target/image/` of the repository, the path the
/// Dockerfile copies from, even when cargo's target folder is elsewhere.
pub fn image_context() -> PathBuf {
    root().join("target").join("image")
}

pub fn chart_dir() -> PathBuf {
    root().join(CHART)
}

/// A path relative to the repository root, for messages.
pub fn display_path(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// A port nothing listens on right now, on loopback.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Prints a step heading, plainly so CI logs stay readable.
pub fn step(message: &str) {
    eprintln!("==> {message}");
}

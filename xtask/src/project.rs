//! Where things are: the repository root and the build output folder.

use std::path::{Path, PathBuf};

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

/// Prints a step heading, plainly so CI logs stay readable.
pub fn step(message: &str) {
    eprintln!("==> {message}");
}

/// Records Ctrl-C (and SIGTERM) instead of dying, so tasks can stop what they started.
/// Child processes in the same process group get the signal too and wind down themselves.
pub fn trap_interrupts() -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = flag.clone();
    // Failing to install (already installed) leaves the default behaviour, which is fine.
    let _ = ctrlc::set_handler(move || seen.store(true, std::sync::atomic::Ordering::SeqCst));
    flag
}

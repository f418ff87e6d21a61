//! The real helm and kubectl this workspace's tests drive against the server: the pinned
//! versions `scripts/install-tools.sh --pinned` installs, never others from PATH.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The workspace's `.tools` folder (its `bin/` holds helm and kubectl), installed once
/// per process; or why it could not be.
pub fn pinned() -> Result<&'static Path, String> {
    static TOOLS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let root = Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap_or(Path::new("."));
            let output = std::process::Command::new("bash")
                .arg(root.join("scripts/install-tools.sh"))
                .arg("--pinned")
                .output()
                .map_err(|err| format!("running scripts/install-tools.sh: {err}"))?;
            if !output.status.success() {
                return Err(format!(
                    "scripts/install-tools.sh --pinned failed: {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
            }
            Ok(root.join(".tools"))
        })
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

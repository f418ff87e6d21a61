//! scripts/build.sh and scripts/deploy.sh hand every argument to `cargo xtask` (checked
//! with a stand-in `cargo` that prints what it was given) and print usage on --help.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A folder with a stand-in `cargo` that prints its arguments, written once: writing an
/// executable while another test thread forks can make running it fail with "text file
/// busy", so it is never written again once tests run it.
fn stand_in_bin() -> &'static PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let bin =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("scripts-{}", std::process::id()));
        std::fs::create_dir_all(&bin).unwrap();
        let cargo = bin.join("cargo");
        std::fs::write(&cargo, "#!/usr/bin/env bash\necho \"cargo $*\"\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    })
}

/// Runs a script with the stand-in `cargo` first on PATH.
fn run(script: &str, args: &[&str]) -> Output {
    let path = format!(
        "{}:{}",
        stand_in_bin().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new("bash")
        .arg(root().join("scripts").join(script))
        .args(args)
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
fn the_wrappers_pass_every_argument_to_cargo_xtask() {
    let build = run(
        "build.sh",
        &["--push", "--tag", "v 1", "--registry", "r.example.com/p"],
    );
    assert!(build.status.success());
    assert_eq!(
        String::from_utf8_lossy(&build.stdout).trim(),
        "cargo xtask build --push --tag v 1 --registry r.example.com/p"
    );
    let deploy = run("deploy.sh", &["staging", "--tag", "abc", "--dry-run"]);
    assert_eq!(
        String::from_utf8_lossy(&deploy.stdout).trim(),
        "cargo xtask deploy staging --tag abc --dry-run"
    );
}

#[test]
fn the_wrappers_explain_themselves() {
    for (script, args) in [
        ("build.sh", vec!["--help"]),
        ("deploy.sh", vec![]),
        ("deploy.sh", vec!["-h"]),
    ] {
        let output = run(script, &args);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{script}");
        assert!(
            stdout.starts_with("Builds the api image")
                || stdout.starts_with("Deploys to an environment"),
            "{stdout}"
        );
        assert!(
            stdout.contains(&format!("Usage: scripts/{script}")),
            "{stdout}"
        );
        assert!(!stdout.contains("set -euo"), "{stdout}");
        assert!(
            stdout.contains("--help"),
            "then the full flag list from cargo xtask: {stdout}"
        );
    }
}

//! `cargo xtask test` refuses, with one line saying how to fix it, when it cannot get a
//! database; it never skips the database tests.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn xtask_test(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["test", "--no-lint"])
        .envs(env.iter().copied())
        .output()
        .expect("xtask runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn an_unreachable_database_url_is_refused_with_the_fix() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://app:secret@127.0.0.1:{port}/app");
    let (code, stderr) = xtask_test(&[("DATABASE_URL", &url)]);
    assert_eq!(code, Some(1), "{stderr}");
    let error = stderr
        .lines()
        .find(|l| l.starts_with("xtask: error:"))
        .expect(&stderr);
    assert!(error.contains(&format!("127.0.0.1:{port}")), "{error}");
    assert!(error.contains("unset DATABASE_URL"), "{error}");
    assert!(
        !stderr.contains("secret"),
        "the password is never printed: {stderr}"
    );
    assert!(
        !stderr.contains("cargo test --workspace"),
        "tests must not run: {stderr}"
    );
}

#[test]
fn a_wrong_pg_bin_dir_is_named() {
    let empty = std::env::temp_dir();
    let (code, stderr) = xtask_test(&[
        ("DATABASE_URL", ""),
        ("PG_BIN_DIR", empty.to_str().unwrap()),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("PG_BIN_DIR=") && stderr.contains("initdb"),
        "{stderr}"
    );
}

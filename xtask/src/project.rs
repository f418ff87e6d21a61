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

/// `host` and `port` of a URL's authority (`user:password@host:port`, `[v6]:port`),
/// `default_port` when it names none; `None` when there is no host or the port is not a
/// number.
pub fn host_and_port(authority: &str, default_port: u16) -> Option<(String, u16)> {
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    if host_port.is_empty() {
        return None;
    }
    let (host, port) = match host_port.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']')?;
            (host, after.strip_prefix(':'))
        }
        None => match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        },
    };
    let port = match port {
        Some(port) => port.parse().ok()?,
        None => default_port,
    };
    Some((host.to_owned(), port))
}

/// The URL of a service in the environment variable `variable` (`REDIS_URL`,
/// `AMQP_URL`) when it is set, after checking that something accepts connections where
/// it points: `address_of` reads its address, `form` says what a valid one looks like and
/// `service` what should listen there. `None` when it is not set.
pub fn external_service_url(
    variable: &str,
    form: &str,
    service: &str,
    address_of: fn(&str) -> Option<std::net::SocketAddr>,
) -> anyhow::Result<Option<String>> {
    let Some(url) = std::env::var(variable)
        .ok()
        .filter(|url| !url.trim().is_empty())
    else {
        return Ok(None);
    };
    let address = address_of(&url).with_context(|| {
        format!("{variable} is not {form}; fix it or unset it to use a throwaway server")
    })?;
    if std::net::TcpStream::connect_timeout(&address, std::time::Duration::from_secs(3)).is_err() {
        anyhow::bail!(
            "{variable} points at {address}, where nothing accepts connections; start \
             {service} there, or unset {variable} to use a throwaway server"
        );
    }
    Ok(Some(url))
}

/// Prints a step heading, plainly so CI logs stay readable.
/// `program` in a folder of PATH.
pub fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

pub fn step(message: &str) {
    eprintln!("==> {message}");
}

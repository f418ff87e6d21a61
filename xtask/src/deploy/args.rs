//! What `cargo xtask deploy` is asked, checked before anything touches the cluster, and
//! how it ends: each failure kind has its exit code.

use std::time::Duration;

use crate::overlay;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Environment: a folder under overlays/ (dev, staging, prod).
    pub env: String,
    /// Image tag to deploy [default: the git revision of HEAD; protected environments need it].
    #[arg(long, conflicts_with = "build")]
    pub tag: Option<String>,
    /// Build and push the image first (`cargo xtask build --push` to the overlay's
    /// repository), then deploy it by digest.
    #[arg(long)]
    pub build: bool,
    /// With --build: package this already built static api binary instead of compiling.
    #[arg(long, requires = "build")]
    pub binary: Option<std::path::PathBuf>,
    /// Image digest (sha256:...); deployed by digest when given.
    #[arg(long, default_value = "")]
    pub digest: String,
    /// Check and render, then `helm upgrade --install --dry-run`: nothing in the cluster changes.
    #[arg(long)]
    pub dry_run: bool,
    /// Confirm a protected environment without the typed prompt (for CI).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How long the rollout may take, e.g. 5m [default: the overlay's timeouts.rollout].
    #[arg(long, value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// How long to wait for another deploy of the same release to finish before giving up.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub lock_wait: Duration,
    /// Take over the deploy lock from a holder that stopped renewing it (a deploy that was
    /// killed). A lock that is still renewed is never taken.
    #[arg(long)]
    pub break_lock: bool,
    /// Container engine for the image check [default: podman or docker, whichever is present].
    #[arg(long)]
    pub engine: Option<String>,
    /// `json` prints the deploy record on stdout at the end (progress stays on stderr).
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// How often to poll the rollout.
    #[arg(long, default_value = "2s", value_parser = parse_duration, hide = true)]
    pub poll_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// A duration flag: `90s`, `5m`, `1h` (and `50ms`, `0s` where a zero makes sense).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Some(ms) = text.strip_suffix("ms") {
        return ms
            .parse()
            .map(Duration::from_millis)
            .map_err(|_| "expected a duration such as 90s, 5m or 1h".to_owned());
    }
    if text == "0s" {
        return Ok(Duration::ZERO);
    }
    overlay::parse_timeout(text)
        .map(Duration::from_secs)
        .map_err(|e| e.to_string())
}

/// A duration as people write it back: `90s`, `5m`.
pub fn show(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0 => format!("{}ms", duration.as_millis()),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// How a deploy ended badly; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("refused before changing anything:\n  - {}", .0.join("\n  - "))]
    Preflight(Vec<String>),
    #[error("building the image failed: {0}")]
    Build(String),
    #[error("deploy failed: {0}")]
    Deploy(String),
    #[error("smoke tests failed: {0}")]
    Smoke(String),
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Build(_) => 1,
            Self::Preflight(_) => 3,
            Self::Deploy(_) => 4,
            Self::Smoke(_) => 5,
            Self::Interrupted(_) => 130,
        }
    }

    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Preflight(_) => "preflight_refused",
            Self::Build(_) => "build_failed",
            Self::Deploy(_) => "deploy_failed",
            Self::Smoke(_) => "smoke_failed",
            Self::Interrupted(_) => "interrupted",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("50ms"), Ok(Duration::from_millis(50)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(
            parse_duration("five-minutes")
                .unwrap_err()
                .contains("90s, 5m or 1h")
        );
        assert_eq!(show(Duration::from_secs(90)), "90s");
        assert_eq!(show(Duration::from_secs(300)), "5m");
    }
}

//! Overlays: `overlays/<env>/deploy.yaml` (where and how an environment is deployed) and
//! `overlays/<env>/values.yaml.j2` (its Helm values, a minijinja template).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;

pub const SETTINGS_FILE: &str = "deploy.yaml";
pub const VALUES_TEMPLATE: &str = "values.yaml.j2";

/// The deploy target of one environment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OverlaySettings {
    /// Helm release name.
    pub release: String,
    pub namespace: String,
    /// The kube context a deploy must run against; anything else is refused.
    pub kube_context: String,
    pub image: ImageSettings,
    pub timeouts: Timeouts,
    /// Protected environments need an immutable tag, a clean tree and a confirmation.
    #[serde(default)]
    pub protected: bool,
    /// What to do when the very first install fails: keep it for inspection, or uninstall.
    #[serde(default)]
    pub on_failed_install: FailedInstall,
    /// Create the namespace when it is missing (dev, kind). Elsewhere it must exist: it
    /// holds Secrets made beforehand, and creating it needs cluster-wide rights.
    #[serde(default)]
    pub create_namespace: bool,
    /// Public URL for smoke tests; empty means through `kubectl port-forward`.
    #[serde(default)]
    pub smoke_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageSettings {
    pub repository: String,
    /// Deploy only by digest (staging, prod): the same bytes on every node and after
    /// every rollback, whatever happens to the tag in the registry.
    #[serde(default)]
    pub require_digest: bool,
}

impl ImageSettings {
    /// Why `env` cannot deploy an image without a digest, when it deploys only by digest.
    pub fn digest_refusal(&self, env: &str, digest: &str) -> Option<String> {
        (self.require_digest && digest.is_empty()).then(|| {
            format!(
                "{env} deploys images by digest only (image.requireDigest in overlays/{env}/deploy.yaml): pass --digest sha256:..., or --build, which pushes the image and reads its digest"
            )
        })
    }
}

/// Durations in helm's style: `90s`, `5m`, `1h`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Timeouts {
    pub deploy: String,
    pub rollout: String,
    pub smoke: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FailedInstall {
    #[default]
    Keep,
    Uninstall,
}

/// One environment's overlay folder.
#[derive(Debug, Clone)]
pub struct Overlay {
    pub env: String,
    pub dir: PathBuf,
    pub settings: OverlaySettings,
}

impl Overlay {
    pub fn values_template(&self) -> PathBuf {
        self.dir.join(VALUES_TEMPLATE)
    }
}

pub fn overlays_dir() -> PathBuf {
    crate::project::root().join("overlays")
}

/// The environments that have an overlay, sorted.
pub fn environments(root: &Path) -> anyhow::Result<Vec<String>> {
    let mut envs: Vec<String> = std::fs::read_dir(root)
        .with_context(|| format!("reading {}", root.display()))?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join(SETTINGS_FILE).is_file())
        .filter_map(|entry| entry.file_name().to_str().map(str::to_owned))
        .collect();
    envs.sort();
    Ok(envs)
}

/// Loads and checks `overlays/<env>`.
pub fn load(root: &Path, env: &str) -> anyhow::Result<Overlay> {
    let dir = root.join(env);
    let settings_path = dir.join(SETTINGS_FILE);
    if !settings_path.is_file() {
        let known = environments(root).unwrap_or_default();
        bail!(
            "unknown environment '{env}': no {}; known environments: {}",
            settings_path.display(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        );
    }
    let text = std::fs::read_to_string(&settings_path)
        .with_context(|| format!("reading {}", settings_path.display()))?;
    let settings =
        parse_settings(&text).with_context(|| format!("in {}", settings_path.display()))?;
    Ok(Overlay {
        env: env.to_owned(),
        dir,
        settings,
    })
}

/// Parses and validates a settings file's text.
pub fn parse_settings(text: &str) -> anyhow::Result<OverlaySettings> {
    let settings: OverlaySettings = serde_yaml::from_str(text)?;
    check_dns_name("release", &settings.release, 53)?;
    check_dns_name("namespace", &settings.namespace, 63)?;
    if settings.kube_context.trim().is_empty() {
        bail!("kubeContext must name the kube context to deploy to");
    }
    let repository = settings.image.repository.trim();
    let last_segment = repository.rsplit('/').next().unwrap_or_default();
    if repository.is_empty() || last_segment.contains(':') || repository.contains('@') {
        bail!(
            "image.repository must be an image name without a tag, e.g. registry.example.com/team/api"
        );
    }
    for (name, value) in [
        ("timeouts.deploy", &settings.timeouts.deploy),
        ("timeouts.rollout", &settings.timeouts.rollout),
        ("timeouts.smoke", &settings.timeouts.smoke),
    ] {
        parse_timeout(value).with_context(|| format!("{name}: {value:?}"))?;
    }
    Ok(settings)
}

/// Seconds in a helm-style duration: a whole number followed by `s`, `m` or `h`.
pub fn parse_timeout(text: &str) -> anyhow::Result<u64> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let value: u64 = number
        .parse()
        .map_err(|_| anyhow::anyhow!("expected a duration such as 90s, 5m or 1h"))?;
    let seconds = match unit {
        "s" => value,
        "m" => value * 60,
        "h" => value * 3600,
        _ => bail!("expected a duration such as 90s, 5m or 1h (unit s, m or h)"),
    };
    if seconds == 0 {
        bail!("a timeout must be longer than zero");
    }
    Ok(seconds)
}

/// Kubernetes names: lowercase letters, digits and '-', starting and ending alphanumeric.
fn check_dns_name(field: &str, value: &str, max: usize) -> anyhow::Result<()> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if !ok {
        bail!(
            "{field} {value:?} must be 1-{max} lowercase letters, digits or '-', starting and ending with a letter or digit"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "release: api\nnamespace: api-dev\nkubeContext: kind-api-dev\nimage:\n  repository: localhost:5001/api\ntimeouts:\n  deploy: 10m\n  rollout: 5m\n  smoke: 90s\n";

    #[test]
    fn a_valid_file_parses_with_defaults() {
        let settings = parse_settings(VALID).unwrap();
        assert_eq!(settings.release, "api");
        assert!(!settings.protected);
        assert_eq!(settings.on_failed_install, FailedInstall::Keep);
        assert_eq!(settings.smoke_url, "");
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            (VALID.replace("release: api", "release: Api_1"), "release"),
            (
                VALID.replace("namespace: api-dev", "namespace: -dev"),
                "namespace",
            ),
            (
                VALID.replace("deploy: 10m", "deploy: soon"),
                "timeouts.deploy",
            ),
            (VALID.replace("smoke: 90s", "smoke: 0s"), "timeouts.smoke"),
            (format!("{VALID}replicas: 3\n"), "unknown field `replicas`"),
            (
                VALID.replace("kubeContext: kind-api-dev\n", ""),
                "missing field `kubeContext`",
            ),
            (
                VALID.replace("kubeContext: kind-api-dev", "kubeContext: ' '"),
                "kubeContext",
            ),
            (
                VALID.replace("localhost:5001/api", "localhost:5001/api:v1"),
                "without a tag",
            ),
        ];
        for (text, expected) in cases {
            let err = format!("{:#}", parse_settings(&text).unwrap_err());
            assert!(err.contains(expected), "{expected}: {err}");
        }
    }

    #[test]
    fn timeouts() {
        assert_eq!(parse_timeout("90s").unwrap(), 90);
        assert_eq!(parse_timeout("5m").unwrap(), 300);
        assert_eq!(parse_timeout("1h").unwrap(), 3600);
        assert!(parse_timeout("5").is_err());
        assert!(parse_timeout("m").is_err());
    }
}

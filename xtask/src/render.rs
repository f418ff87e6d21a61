//! `cargo xtask render <env>`: an overlay's values template rendered with minijinja
//! (strict: an undefined variable is an error naming the file and line), then the full
//! manifests through `helm template`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};

use crate::helm::{Helm, Release};
use crate::overlay::{self, Overlay};
use crate::project;
use crate::tools::Tools;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Environment: the name of a folder under overlays/ (dev, staging, prod).
    pub env: String,
    /// Image tag [default: the git revision of HEAD].
    #[arg(long)]
    pub tag: Option<String>,
    /// Image digest (sha256:...), when known.
    #[arg(long, default_value = "")]
    pub digest: String,
    /// Where to write values.yaml and manifests.yaml [default: target/deploy/<env>].
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

/// The variables a values template may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderVars {
    pub env: String,
    pub release: String,
    pub namespace: String,
    pub image_repository: String,
    pub image_tag: String,
    pub image_digest: String,
    /// The overlay deploys only by digest (`image.requireDigest` in deploy.yaml).
    pub image_require_digest: bool,
    pub git_revision: String,
}

/// What `render` produced.
pub struct Rendered {
    pub values: PathBuf,
    pub manifests: PathBuf,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let tools = Tools::ensure()?;
    let rendered = render(
        &tools,
        &args.env,
        args.tag.clone(),
        &args.digest,
        args.out_dir.clone(),
    )?;
    eprintln!("xtask: values    {}", rendered.values.display());
    eprintln!("xtask: manifests {}", rendered.manifests.display());
    Ok(())
}

/// Renders the overlay of `env` and its manifests into `out_dir`.
pub fn render(
    tools: &Tools,
    env: &str,
    tag: Option<String>,
    digest: &str,
    out_dir: Option<PathBuf>,
) -> anyhow::Result<Rendered> {
    let overlay = overlay::load(&overlay::overlays_dir(), env)?;
    if let Some(refusal) = overlay.settings.image.digest_refusal(env, digest) {
        bail!(refusal);
    }
    let git_revision = crate::git::revision().unwrap_or_else(|_| "unknown".to_owned());
    let image_tag = match tag {
        Some(tag) => tag,
        None if git_revision != "unknown" => crate::git::short(&git_revision),
        None => bail!("no git revision to tag the image with; pass --tag"),
    };
    let vars = vars_for(&overlay, image_tag, digest, git_revision);
    let template_path = overlay.values_template();
    let source = std::fs::read_to_string(&template_path)
        .with_context(|| format!("reading {}", template_path.display()))?;
    let shown = project::display_path(&template_path);
    let values = render_values(&source, &shown, &vars)?;

    let out_dir = out_dir.unwrap_or_else(|| project::target_dir().join("deploy").join(env));
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let values_path = out_dir.join("values.yaml");
    std::fs::write(&values_path, &values)
        .with_context(|| format!("writing {}", values_path.display()))?;

    let chart = project::chart_dir();
    let manifests = Helm::new(tools.helm.clone()).template(&Release {
        name: &overlay.settings.release,
        namespace: &overlay.settings.namespace,
        chart: &chart,
        values: &values_path,
    })?;
    let manifests_path = out_dir.join("manifests.yaml");
    std::fs::write(&manifests_path, manifests)
        .with_context(|| format!("writing {}", manifests_path.display()))?;
    Ok(Rendered {
        values: values_path,
        manifests: manifests_path,
    })
}

pub fn vars_for(
    overlay: &Overlay,
    image_tag: String,
    digest: &str,
    git_revision: String,
) -> RenderVars {
    RenderVars {
        env: overlay.env.clone(),
        release: overlay.settings.release.clone(),
        namespace: overlay.settings.namespace.clone(),
        image_repository: overlay.settings.image.repository.clone(),
        image_tag,
        image_digest: digest.to_owned(),
        image_require_digest: overlay.settings.image.require_digest,
        git_revision,
    }
}

/// Renders a values template strictly and checks the result is a YAML mapping.
pub fn render_values(source: &str, name: &str, vars: &RenderVars) -> anyhow::Result<String> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Every `{{ value }}` comes out as a quoted JSON scalar, which is valid YAML: a tag
    // like `1.10` stays a string and no value can inject YAML structure.
    env.set_auto_escape_callback(|_| AutoEscape::Json);
    let template = env
        .template_from_named_str(name, source)
        .map_err(|err| template_error(name, &err))?;
    let rendered = template
        .render(context! {
            env => &vars.env,
            release => &vars.release,
            namespace => &vars.namespace,
            image => context! {
                repository => &vars.image_repository,
                tag => &vars.image_tag,
                digest => &vars.image_digest,
                require_digest => vars.image_require_digest,
            },
            git => context! { revision =>  &vars.git_revision },
        })
        .map_err(|err| template_error(name, &err))?;
    match serde_yaml::from_str::<serde_yaml::Value>(&rendered) {
        Ok(serde_yaml::Value::Mapping(_)) => Ok(rendered),
        Ok(_) => bail!("{name} rendered to something other than a YAML mapping of values"),
        Err(err) => bail!("{name} rendered to invalid YAML: {err}"),
    }
}

fn template_error(name: &str, err: &minijinja::Error) -> anyhow::Error {
    let line = err
        .line()
        .map(|line| format!(" line {line}"))
        .unwrap_or_default();
    let detail = err.detail().map(|d| format!(": {d}")).unwrap_or_default();
    anyhow::anyhow!("{name}{line}: {}{detail}", err.kind())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> RenderVars {
        RenderVars {
            env: "dev".into(),
            release: "api".into(),
            namespace: "api-dev".into(),
            image_repository: "registry.local/api".into(),
            image_tag: "abc123".into(),
            image_digest: String::new(),
            image_require_digest: false,
            git_revision: "abc123def456".into(),
        }
    }

    #[test]
    fn renders_the_documented_variables() {
        let source = "app:\n  env: {{ env }}\nimage:\n  repository: {{ image.repository }}\n  tag: {{ image.tag }}\n  digest: {{ image.digest }}\npodAnnotations:\n  rev: {{ git.revision }}\n  where: {{ release ~ '.' ~ namespace }}\n";
        let out = render_values(source, "t.j2", &vars()).unwrap();
        let parsed: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
        assert_eq!(parsed["image"]["tag"], "abc123");
        assert_eq!(parsed["image"]["digest"], "");
        assert_eq!(parsed["podAnnotations"]["where"], "api.api-dev");
        let tricky = RenderVars {
            image_tag: "1.10".into(),
            ..vars()
        };
        let out = render_values("tag: {{ image.tag }}\n", "t.j2", &tricky).unwrap();
        let parsed: serde_yaml::Value = serde_yaml::from_str(&out).unwrap();
        assert_eq!(parsed["tag"], "1.10", "a version-like tag stays a string");
    }

    #[test]
    fn an_undefined_variable_names_the_file_and_line() {
        let err = render_values(
            "a: 1\nb: {{ image.tga }}\n",
            "overlays/dev/values.yaml.j2",
            &vars(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("overlays/dev/values.yaml.j2 line 2:"),
            "{err}"
        );
        assert!(err.contains("undefined"), "{err}");
        let err = render_values("{{ nope }}", "x.j2", &vars())
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.j2 line 1"), "{err}");
    }

    #[test]
    fn output_must_be_a_yaml_mapping() {
        assert!(
            render_values("- a\n- b\n", "x.j2", &vars())
                .unwrap_err()
                .to_string()
                .contains("mapping")
        );
        assert!(
            render_values("a: [\n", "x.j2", &vars())
                .unwrap_err()
                .to_string()
                .contains("invalid YAML")
        );
    }
}

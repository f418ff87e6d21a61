//! `cargo xtask status <env>` and `cargo xtask rollback <env>`: an environment's release
//! as it is now, and the way back to an earlier revision.

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use crate::deploy::{self, Failure, preflight};
use crate::helm::{Helm, Target};
use crate::kubectl::{Kubectl, Scope, release_selector};
use crate::overlay::{self, Overlay};
use crate::tools::Tools;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// Environment: a folder under overlays/.
    pub env: String,
    /// `json` for machines.
    #[arg(long, value_enum, default_value_t = deploy::Output::Text)]
    pub output: deploy::Output,
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// Environment: a folder under overlays/.
    pub env: String,
    /// Revision to return to [default: the last one that was live before the current one].
    #[arg(long)]
    pub revision: Option<u32>,
    /// Confirm a protected environment without the typed prompt (for CI).
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// What `status` reports.
#[derive(Debug, Serialize)]
pub struct Status {
    pub env: String,
    pub kube_context: String,
    pub namespace: String,
    pub release: String,
    pub revision: Option<u32>,
    pub release_status: String,
    pub chart: String,
    pub images: Vec<String>,
    pub pods_ready: u64,
    pub pods_desired: u64,
}

pub fn status(args: &StatusArgs) -> anyhow::Result<()> {
    let (overlay, tools) = load(&args.env)?;
    let settings = &overlay.settings;
    let target = Target {
        release: &settings.release,
        namespace: &settings.namespace,
        context: &settings.kube_context,
    };
    let history = Helm::new(tools.helm.clone())
        .history(&target)
        .map_err(anyhow::Error::new)?;
    let latest = history.last();
    let deployments = Kubectl::new(tools.kubectl.clone())
        .get_json(
            &Scope {
                context: &settings.kube_context,
                namespace: &settings.namespace,
            },
            &[
                "deployments",
                "-l",
                &release_selector(&settings.release, Some("api")),
            ],
        )
        .map_err(anyhow::Error::new)?;
    let (images, ready, desired) = deployment_summary(&deployments);
    let status = Status {
        env: overlay.env.clone(),
        kube_context: settings.kube_context.clone(),
        namespace: settings.namespace.clone(),
        release: settings.release.clone(),
        revision: latest.map(|r| r.revision),
        release_status: latest.map_or("not installed".to_owned(), |r| r.status.clone()),
        chart: latest.map(|r| r.chart.clone()).unwrap_or_default(),
        images,
        pods_ready: ready,
        pods_desired: desired,
    };
    #[allow(clippy::print_stdout)] // the status is this command's output
    if args.output == deploy::Output::Json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        println!(
            "{} ({} / {}): release {} revision {} {} ({})\nimage {}\npods ready {}/{}",
            status.env,
            status.kube_context,
            status.namespace,
            status.release,
            status.revision.map_or("-".to_owned(), |r| r.to_string()),
            status.release_status,
            status.chart,
            if status.images.is_empty() {
                "-".to_owned()
            } else {
                status.images.join(", ")
            },
            status.pods_ready,
            status.pods_desired
        );
    }
    Ok(())
}

/// Images, ready and desired replicas of the api Deployment in a `kubectl get -o json` list.
fn deployment_summary(deployments: &Value) -> (Vec<String>, u64, u64) {
    let Some(deployment) = deployments["items"]
        .as_array()
        .and_then(|items| items.first())
    else {
        return (vec![], 0, 0);
    };
    let images = deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["image"].as_str().map(str::to_owned))
        .collect();
    (
        images,
        deployment["status"]["readyReplicas"].as_u64().unwrap_or(0),
        deployment["spec"]["replicas"].as_u64().unwrap_or(0),
    )
}

pub fn rollback(args: &RollbackArgs) -> anyhow::Result<()> {
    let interrupt = crate::interrupt::Interrupt::trap();
    let (overlay, tools) = load(&args.env)?;
    let settings = &overlay.settings;
    let kubectl = Kubectl::new(tools.kubectl.clone());
    let scope = Scope {
        context: &settings.kube_context,
        namespace: &settings.namespace,
    };
    let current_context = kubectl.current_context()?;
    if let Some(refusal) =
        preflight::context_refusal(&overlay.env, &current_context, &settings.kube_context)
    {
        return Err(Failure::Preflight(vec![refusal]).into());
    }
    let helm = Helm::new(tools.helm.clone());
    let target = Target {
        release: &settings.release,
        namespace: &settings.namespace,
        context: &settings.kube_context,
    };
    let history = helm.history(&target).map_err(anyhow::Error::new)?;
    let current = history
        .last()
        .context("the release is not installed: nothing to roll back")?;
    let revision = match args.revision {
        Some(revision) if history.iter().any(|r| r.revision == revision) => revision,
        Some(revision) => return Err(Failure::Preflight(vec![format!("revision {revision} is not in the release history (see `helm history {} -n {}`)", settings.release, settings.namespace)]).into()),
        None => deploy::default_rollback_target(&kubectl, &scope, &settings.release, &history, current.revision).ok_or_else(|| {
            Failure::Preflight(vec![format!(
                "no earlier live revision to return to (the release has only revision {}, {}); remove it with `helm uninstall {} -n {} --kube-context {}`",
                current.revision, current.status, settings.release, settings.namespace, settings.kube_context
            )])
        })?,
    };
    let confirmation = deploy::confirm(
        &overlay,
        args.yes,
        &format!(
            "Roll {} back from revision {} to {revision}",
            settings.release, current.revision
        ),
        &interrupt,
    );
    if let Some(refusal) =
        preflight::confirmation_refusal(&overlay.env, settings.protected, &confirmation)
    {
        return Err(Failure::Preflight(vec![refusal]).into());
    }
    let major = helm.major_version()?;
    eprintln!(
        "xtask: rolling {} back from revision {} ({}) to {revision}",
        settings.release, current.revision, current.status
    );
    let rolled = helm.rollback(&target, revision, &settings.timeouts.rollout, major);
    // The new revision's verdict, so a later deploy knows whether it may return to it.
    if let Some(newest) = helm
        .history(&target)
        .ok()
        .and_then(|h| h.last().map(|r| r.revision))
        && newest > current.revision
        && let Err(err) =
            deploy::mark_rollback(&kubectl, &scope, &settings.release, newest, rolled.is_ok())
    {
        eprintln!("xtask: could not record the verdict on revision {newest}: {err}");
    }
    rolled.map_err(|err| {
        Failure::Deploy(format!(
            "helm rollback failed: {err}; to retry by hand: {}",
            Helm::rollback_by_hand(&target, revision, major)
        ))
    })?;
    eprintln!(
        "xtask: {} is back at revision {revision}'s configuration (as a new revision)",
        overlay.env
    );
    Ok(())
}

fn load(env: &str) -> anyhow::Result<(Overlay, Tools)> {
    let overlay = overlay::load(&overlay::overlays_dir(), env)?;
    Ok((overlay, Tools::ensure()?))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_deployment_summary_reads_images_and_counts() {
        let list = json!({"items": [{"spec": {"replicas": 3, "template": {"spec": {"containers": [{"image": "r/api:1"}]}}}, "status": {"readyReplicas": 2}}]});
        assert_eq!(
            deployment_summary(&list),
            (vec!["r/api:1".to_owned()], 2, 3)
        );
        assert_eq!(deployment_summary(&json!({"items": []})), (vec![], 0, 0));
    }
}

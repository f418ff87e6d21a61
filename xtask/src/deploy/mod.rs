//! `cargo xtask deploy <env>`: preflight, render, `helm upgrade --install`, watch the
//! rollout, diagnose failures, smoke-test, roll back on failure, record what happened.
//!
//! helm is run without `--wait`/`--atomic`/`--rollback-on-failure`: xtask watches the
//! rollout itself so that, when it fails, the failing pods' state, events and logs are
//! read and printed *before* the rollback removes them.

mod diagnosis;
pub mod image;
pub mod preflight;
mod record;

pub use record::now;
mod report;
mod rollout;

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use self::diagnosis::JobState;
use self::preflight::{Confirmation, Facts, Request, Verdict};
use self::record::{DeployRecord, StepRecord};
use self::report::Reporter;
use crate::helm::{Helm, HelmMajor, Release, Target, previous_good_revision};
use crate::kubectl::{Kubectl, Scope, release_selector};
use crate::overlay::{self, FailedInstall, Overlay};
use crate::tools::Tools;
use crate::{project, render};

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
    #[arg(long)]
    pub timeout: Option<String>,
    /// Container engine for the image check [default: podman or docker, whichever is present].
    #[arg(long)]
    pub engine: Option<String>,
    /// `json` prints the deploy record on stdout at the end (progress stays on stderr).
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// How often to poll the rollout.
    #[arg(long, default_value = "2s", value_parser = parse_interval, hide = true)]
    pub poll_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// How a deploy ended badly; each kind has its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("refused before changing anything:\n  - {}", .0.join("\n  - "))]
    Preflight(Vec<String>),
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
            Self::Preflight(_) => 3,
            Self::Deploy(_) => 4,
            Self::Smoke(_) => 5,
            Self::Interrupted(_) => 130,
        }
    }

    fn outcome(&self) -> &'static str {
        match self {
            Self::Preflight(_) => "preflight_refused",
            Self::Deploy(_) => "deploy_failed",
            Self::Smoke(_) => "smoke_failed",
            Self::Interrupted(_) => "interrupted",
        }
    }
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    match text.strip_suffix("ms") {
        Some(ms) => ms
            .parse()
            .map(Duration::from_millis)
            .map_err(|e| e.to_string()),
        None => overlay::parse_timeout(text)
            .map(Duration::from_secs)
            .map_err(|e| e.to_string()),
    }
}

/// Everything one deploy run works with.
struct Deploy<'a> {
    args: &'a Args,
    overlay: Overlay,
    tools: Tools,
    helm: Helm,
    kubectl: Kubectl,
    reporter: Reporter,
    record: DeployRecord,
    interrupted: Arc<AtomicBool>,
    helm_major: HelmMajor,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let interrupted = project::trap_interrupts();
    let overlay = overlay::load(&overlay::overlays_dir(), &args.env)
        .map_err(|err| Failure::Preflight(vec![format!("{err:#}")]))?;
    let tools = Tools::ensure().map_err(|err| Failure::Preflight(vec![format!("{err:#}")]))?;
    let git_revision = render::git_revision().unwrap_or_else(|_| "unknown".to_owned());
    let (tag, digest) = if args.build {
        let built = build_first(args, &overlay, &tools)?;
        (built.tag, built.digest.unwrap_or_default())
    } else {
        (
            args.tag
                .clone()
                .unwrap_or_else(|| render::short(&git_revision)),
            args.digest.clone(),
        )
    };
    let image = image_reference(&overlay.settings.image.repository, &tag, &digest);
    let record = DeployRecord {
        env: overlay.env.clone(),
        release: overlay.settings.release.clone(),
        namespace: overlay.settings.namespace.clone(),
        kube_context: overlay.settings.kube_context.clone(),
        revision: None,
        image: image.clone(),
        image_digest: digest.clone(),
        git_revision,
        who: record::who(),
        started_at: record::now(),
        finished_at: String::new(),
        dry_run: args.dry_run,
        outcome: "running".to_owned(),
        recovery: None,
        reasons: vec![],
        steps: vec![],
    };
    let mut deploy = Deploy {
        args,
        helm: Helm::new(tools.helm.clone()),
        kubectl: Kubectl::new(tools.kubectl.clone()),
        tools,
        overlay,
        reporter: Reporter::new(),
        record,
        interrupted,
        helm_major: HelmMajor::V4,
    };
    let result = deploy.execute(&tag, &digest, &image);
    deploy.finish(result)
}

/// `--build`: after a quick context check (no point building for the wrong cluster),
/// builds and pushes the image to the overlay's repository.
fn build_first(
    args: &Args,
    overlay: &Overlay,
    tools: &Tools,
) -> Result<crate::build::Built, Failure> {
    let current = Kubectl::new(tools.kubectl.clone())
        .current_context()
        .map_err(|e| Failure::Preflight(vec![format!("{e:#}")]))?;
    if let Some(refusal) =
        preflight::context_refusal(&overlay.env, &current, &overlay.settings.kube_context)
    {
        return Err(Failure::Preflight(vec![refusal]));
    }
    crate::build::build(&crate::build::Args {
        push: true,
        tag: None,
        registry: None,
        repository: Some(overlay.settings.image.repository.clone()),
        engine: args.engine.clone(),
        allow_dirty: false,
        binary: args.binary.clone(),
    })
    .map_err(|err| Failure::Preflight(vec![format!("building the image failed: {err:#}")]))
}

impl Deploy<'_> {
    fn execute(&mut self, tag: &str, digest: &str, image: &str) -> Result<(), Failure> {
        let settings = self.overlay.settings.clone();
        let target = Target {
            release: &settings.release,
            namespace: &settings.namespace,
            context: &settings.kube_context,
        };

        self.reporter.step(
            1,
            &format!(
                "preflight: {} -> {} ({}/{})",
                image, settings.kube_context, settings.namespace, settings.release
            ),
        );
        let started = Instant::now();
        let facts = self.gather_facts(image, &target)?;
        self.helm_major = facts.helm_major;
        let request = Request {
            env: &self.overlay.env,
            settings: &settings,
            tag,
            tag_explicit: self.args.tag.is_some() || self.args.build || !digest.is_empty(),
            dry_run: self.args.dry_run,
        };
        match preflight::decide(&request, &facts) {
            Verdict::Refuse(reasons) => {
                self.record_step("preflight", started, "refused");
                return Err(Failure::Preflight(reasons));
            }
            Verdict::Go { warnings } => {
                for warning in warnings {
                    self.reporter.line(&format!("warning: {warning}"));
                }
            }
        }
        if !self.args.dry_run {
            let confirmation = confirm(&self.overlay, self.args.yes, &format!("Deploy {image}"));
            if let Some(refusal) = preflight::confirmation_refusal(
                &self.overlay.env,
                settings.protected,
                &confirmation,
            ) {
                self.record_step("preflight", started, "refused");
                return Err(Failure::Preflight(vec![refusal]));
            }
        }
        self.reporter.line(&format!(
            "ok: context {}, helm {:?}",
            facts.current_context, facts.helm_major
        ));
        self.record_step("preflight", started, "ok");

        self.reporter.step(2, "render values");
        let started = Instant::now();
        let rendered = render::render(
            &self.tools,
            &self.overlay.env,
            Some(tag.to_owned()),
            digest,
            None,
        )
        .map_err(|err| Failure::Preflight(vec![format!("{err:#}")]))?;
        self.reporter.line(&render::display_path(&rendered.values));
        self.record_step("render", started, "ok");
        let chart = project::root().join(render::CHART);
        let release = Release {
            name: &settings.release,
            namespace: &settings.namespace,
            chart: &chart,
            values: &rendered.values,
        };

        if self.args.dry_run {
            self.reporter
                .step(3, "helm upgrade --install --dry-run (nothing changes)");
            let started = Instant::now();
            let output = match facts.history {
                Ok(_) => self
                    .helm
                    .upgrade_dry_run(&release, &settings.kube_context)
                    .map_err(|e| e.to_string()),
                Err(_) => self
                    .helm
                    .install_dry_run_offline(&release)
                    .map_err(|e| format!("{e:#}")),
            };
            let output = output.map_err(|err| {
                self.record_step("dry-run", started, "failed");
                Failure::Deploy(err)
            })?;
            let objects = output.matches("\nkind: ").count();
            self.reporter.line(&format!(
                "dry run ok: {objects} objects rendered; nothing was applied"
            ));
            self.record_step("dry-run", started, "ok");
            return Ok(());
        }

        self.reporter.step(
            3,
            &format!(
                "helm upgrade --install {} (timeout {})",
                settings.release, settings.timeouts.deploy
            ),
        );
        let started = Instant::now();
        let applied =
            self.helm
                .upgrade_install(&release, &settings.kube_context, &settings.timeouts.deploy);
        let revision = self.current_revision(&target);
        self.record.revision = revision;
        if let Err(err) = applied {
            self.record_step("helm upgrade", started, "failed");
            self.reporter.line(&format!("helm failed: {err}"));
            self.diagnose(&target);
            self.recover(&target, revision);
            return Err(Failure::Deploy(format!(
                "helm upgrade --install failed: {err}"
            )));
        }
        self.reporter.line(&format!(
            "applied as revision {}",
            revision.map_or("?".to_owned(), |r| r.to_string())
        ));
        self.record_step("helm upgrade", started, "ok");

        self.reporter.step(4, "rollout");
        let started = Instant::now();
        if let Err(reason) = self.watch_rollout(&target) {
            self.record_step("rollout", started, "failed");
            if self.interrupted.load(Ordering::SeqCst) {
                return Err(Failure::Interrupted(format!(
                    "stopped watching; revision {} stays applied and its rollout goes on in the cluster. Check it with `cargo xtask status {}`",
                    revision.map_or("?".to_owned(), |r| r.to_string()),
                    self.overlay.env
                )));
            }
            self.reporter.step(5, &format!("diagnosis: {reason}"));
            self.diagnose(&target);
            self.reporter.step(7, "roll back");
            self.recover(&target, revision);
            return Err(Failure::Deploy(reason));
        }
        self.record_step("rollout", started, "ok");

        self.reporter.step(6, "smoke tests");
        let started = Instant::now();
        if let Err(reason) = self.smoke(&target, &rendered.values) {
            self.record_step("smoke", started, "failed");
            self.reporter.step(7, "roll back");
            self.recover(&target, revision);
            return Err(Failure::Smoke(reason));
        }
        self.record_step("smoke", started, "ok");
        Ok(())
    }

    fn gather_facts(&mut self, image: &str, target: &Target) -> Result<Facts, Failure> {
        let preflight_error = |err: anyhow::Error| Failure::Preflight(vec![format!("{err:#}")]);
        let helm_major = self.helm.major_version().map_err(preflight_error)?;
        let current_context = self.kubectl.current_context().map_err(preflight_error)?;
        // Ask the cluster only when it is the right one.
        let history = if current_context == target.context {
            self.helm.history(target).map_err(|err| err.to_string())
        } else {
            Ok(vec![])
        };
        let engine = image::engine(self.args.engine.as_deref());
        Ok(Facts {
            current_context,
            helm_major,
            history,
            git_dirty: git_dirty(),
            image: image::check(engine.as_deref(), image),
        })
    }

    fn current_revision(&self, target: &Target) -> Option<u32> {
        self.helm.history(target).ok()?.last().map(|r| r.revision)
    }

    fn scope<'s>(&self, target: &Target<'s>) -> Scope<'s> {
        Scope {
            context: target.context,
            namespace: target.namespace,
        }
    }

    /// Polls the api Deployment, the migration Job and the pods until the rollout
    /// completes, fails for good, or times out. Errors carry a one-line reason.
    fn watch_rollout(&mut self, target: &Target) -> Result<(), String> {
        let timeout_text = self
            .args
            .timeout
            .clone()
            .unwrap_or_else(|| self.overlay.settings.timeouts.rollout.clone());
        let timeout = Duration::from_secs(
            overlay::parse_timeout(&timeout_text)
                .map_err(|e| format!("--timeout {timeout_text:?}: {e}"))?,
        );
        let scope = self.scope(target);
        let instance = release_selector(target.release, None);
        let api = release_selector(target.release, Some("api"));
        let migrate = release_selector(target.release, Some("migrate"));
        let started = Instant::now();
        loop {
            if self.interrupted.load(Ordering::SeqCst) {
                return Err("interrupted".into());
            }
            let elapsed = started.elapsed().as_secs();
            let read = self
                .kubectl
                .get_json(&scope, &["deployments", "-l", &api])
                .and_then(|d| Ok((d, self.kubectl.get_json(&scope, &["jobs", "-l", &migrate])?)))
                .and_then(|(d, j)| {
                    Ok((
                        d,
                        j,
                        self.kubectl.get_json(&scope, &["pods", "-l", &instance])?,
                    ))
                });
            match read {
                Ok((deployments, jobs, pods)) => {
                    if self.evaluate(&deployments, &jobs, &pods, elapsed)? {
                        return Ok(());
                    }
                }
                // A blip talking to the API server is not a failed rollout: keep watching.
                Err(err) => self
                    .reporter
                    .progress(format!("cannot read the rollout: {err:#} ({elapsed}s)")),
            }
            if started.elapsed() >= timeout {
                return Err(format!(
                    "the rollout did not complete within {timeout_text}"
                ));
            }
            std::thread::sleep(self.args.poll_interval);
        }
    }

    /// `Ok(true)` when done, `Ok(false)` to keep waiting, `Err` on a failure no wait fixes.
    fn evaluate(
        &mut self,
        deployments: &Value,
        jobs: &Value,
        pods: &Value,
        elapsed: u64,
    ) -> Result<bool, String> {
        let job = diagnosis::newest_job(jobs);
        if let JobState::Failed { name, reason } = &job {
            return Err(format!("the migration Job {name} failed ({reason})"));
        }
        let Some(state) = rollout::rollout_state(deployments) else {
            self.reporter.progress(format!(
                "waiting for the api Deployment to appear ({elapsed}s)"
            ));
            return Ok(false);
        };
        if state.deadline_exceeded {
            return Err(format!(
                "Kubernetes reports ProgressDeadlineExceeded ({})",
                state.summary()
            ));
        }
        if let Some(fatal) = diagnosis::fatal_reason(&diagnosis::pod_problems(pods)) {
            return Err(fatal);
        }
        let migration = match &job {
            JobState::Running { name } => format!(", migration {name} running"),
            JobState::Succeeded { name } => format!(", migration {name} done"),
            _ => String::new(),
        };
        self.reporter
            .progress(format!("{}{migration} ({elapsed}s)", state.summary()));
        let migrations_done = !matches!(job, JobState::Running { .. });
        if state.complete() && migrations_done {
            self.reporter.line(&format!(
                "rollout complete: {} in {elapsed}s",
                state.summary()
            ));
            return Ok(true);
        }
        Ok(false)
    }

    /// Prints why pods are not ready: phase, reasons, warning events, log tails, and the
    /// migration Job's log when it failed. Best effort: a read error is said, not fatal.
    fn diagnose(&mut self, target: &Target) {
        let scope = self.scope(target);
        let pods = self.kubectl.get_json(
            &scope,
            &["pods", "-l", &release_selector(target.release, None)],
        );
        let events = self.kubectl.get_json(&scope, &["events"]);
        let jobs = self.kubectl.get_json(
            &scope,
            &[
                "jobs",
                "-l",
                &release_selector(target.release, Some("migrate")),
            ],
        );
        let (pods, events) = match (pods, events) {
            (Ok(pods), Ok(events)) => (pods, events),
            (pods, events) => {
                let err = pods
                    .err()
                    .or(events.err())
                    .map(|e| format!("{e:#}"))
                    .unwrap_or_default();
                self.reporter.line(&format!(
                    "could not read pods or events for a diagnosis: {err}"
                ));
                return;
            }
        };
        let problems = diagnosis::pod_problems(&pods);
        if problems.is_empty() {
            self.reporter.line("no pod reports a problem");
        }
        for pod in problems.iter().filter(|p| !p.pod.contains("-migrate-")) {
            self.reporter
                .line(&format!("pod {} ({})", pod.pod, pod.phase));
            for c in &pod.containers {
                let kind = if c.init {
                    "init container"
                } else {
                    "container"
                };
                let message = if c.message.is_empty() {
                    String::new()
                } else {
                    format!(": {}", c.message)
                };
                self.reporter.line(&format!(
                    "  {kind} {}: {}{message}, {} restarts",
                    c.container, c.reason, c.restarts
                ));
            }
            for event in diagnosis::warning_events(&events, &pod.pod, 5) {
                self.reporter.line(&format!("  event {event}"));
            }
            if let Some(c) = pod.containers.iter().find(|c| {
                !c.reason.starts_with("ImagePull") && !c.reason.starts_with("ErrImagePull")
            }) {
                match self
                    .kubectl
                    .logs(&scope, &pod.pod, &c.container, 20, c.crashed_before)
                {
                    Ok(log) if !log.trim().is_empty() => {
                        self.reporter
                            .line(&format!("  last log lines of {}:", c.container));
                        for line in log.lines() {
                            self.reporter.line(&format!("    | {line}"));
                        }
                    }
                    Ok(_) => {}
                    Err(err) => self.reporter.line(&format!("  (no log: {err:#})")),
                }
            }
        }
        if let Ok(jobs) = jobs
            && let JobState::Failed { name, reason } = diagnosis::newest_job(&jobs)
        {
            self.reporter
                .line(&format!("migration Job {name} failed: {reason}"));
            match self
                .kubectl
                .logs(&scope, &format!("job/{name}"), "migrate", 30, false)
            {
                Ok(log) => {
                    for line in log.lines() {
                        self.reporter.line(&format!("    | {line}"));
                    }
                }
                Err(err) => self.reporter.line(&format!("  (no log: {err:#})")),
            }
        }
    }

    /// Rolls back to the last good revision, or handles a failed first install as the
    /// overlay says.
    fn recover(&mut self, target: &Target, failed_revision: Option<u32>) {
        let history = self.helm.history(target).unwrap_or_default();
        let current = failed_revision
            .or(history.last().map(|r| r.revision))
            .unwrap_or(0);
        let timeout = self.overlay.settings.timeouts.rollout.clone();
        let recovery = match previous_good_revision(&history, current) {
            Some(good) => match self.helm.rollback(target, good, &timeout, self.helm_major) {
                Ok(_) => format!("rolled back to revision {good}"),
                Err(err) => format!(
                    "rollback to revision {good} FAILED: {err}; roll back by hand: helm rollback {} {good} -n {} --kube-context {}",
                    target.release, target.namespace, target.context
                ),
            },
            None => match self.overlay.settings.on_failed_install {
                FailedInstall::Uninstall => match self.helm.uninstall(target) {
                    Ok(_) => "uninstalled the failed first install".to_owned(),
                    Err(err) => format!("uninstalling the failed first install FAILED: {err}"),
                },
                FailedInstall::Keep => format!(
                    "left the failed first install in place for inspection; remove it with `helm uninstall {} -n {} --kube-context {}`",
                    target.release, target.namespace, target.context
                ),
            },
        };
        self.reporter.line(&recovery);
        self.record.recovery = Some(recovery);
    }

    fn smoke(&mut self, target: &Target, values: &std::path::Path) -> Result<(), String> {
        let deadline = Duration::from_secs(
            overlay::parse_timeout(&self.overlay.settings.timeouts.smoke).unwrap_or(60),
        );
        let smoke_url = self.overlay.settings.smoke_url.clone();
        let (_forward, url) = if smoke_url.is_empty() {
            let port = service_port(values);
            let local = crate::postgres::free_port().map_err(|e| format!("{e:#}"))?;
            let forward = self
                .kubectl
                .port_forward(
                    &self.scope(target),
                    &format!("service/{}", target.release),
                    local,
                    port,
                )
                .map_err(|e| format!("{e:#}"))?;
            self.reporter.line(&format!(
                "through kubectl port-forward service/{} {local}:{port}",
                target.release
            ));
            (Some(forward), format!("http://127.0.0.1:{local}"))
        } else {
            (None, smoke_url)
        };
        let report = smoke::run_blocking(&smoke::SmokeOptions {
            base_url: url,
            ready_deadline: deadline,
            request_timeout: Duration::from_secs(10),
        })
        .map_err(|e| e.to_string())?;
        self.reporter.line(report.to_table().trim_end());
        if report.passed {
            Ok(())
        } else {
            let failed: Vec<&str> = report
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.name)
                .collect();
            Err(format!("failed checks: {}", failed.join(", ")))
        }
    }

    fn record_step(&mut self, step: &'static str, started: Instant, outcome: &str) {
        self.record.steps.push(StepRecord {
            step,
            outcome: outcome.to_owned(),
            duration_ms: started.elapsed().as_millis(),
        });
    }

    /// Step 8: the record, the verdict, the exit code.
    fn finish(mut self, result: Result<(), Failure>) -> anyhow::Result<()> {
        self.record.finished_at = record::now();
        match &result {
            Ok(()) => {
                self.record.outcome = if self.args.dry_run {
                    "dry_run_ok"
                } else {
                    "succeeded"
                }
                .to_owned()
            }
            Err(failure) => {
                self.record.outcome = failure.outcome().to_owned();
                self.record.reasons = match failure {
                    Failure::Preflight(reasons) => reasons.clone(),
                    other => vec![other.to_string()],
                };
            }
        }
        self.reporter.step(8, "deploy record");
        let dir = project::target_dir().join("deploy").join(&self.overlay.env);
        match record::write(&dir, &self.record) {
            Ok(path) => self.reporter.line(&render::display_path(&path)),
            Err(err) => self
                .reporter
                .line(&format!("could not write the deploy record: {err:#}")),
        }
        if self.args.output == Output::Json {
            #[allow(clippy::print_stdout)] // the record is the machine-readable output
            {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&self.record).unwrap_or_default()
                );
            }
        }
        match result {
            Ok(()) => {
                let verdict = if self.args.dry_run {
                    "dry run passed; nothing was changed"
                } else {
                    "deployed"
                };
                eprintln!(
                    "xtask: {} {verdict}: {} ({})",
                    self.overlay.env,
                    self.record.image,
                    revision_text(self.record.revision)
                );
                Ok(())
            }
            Err(failure) => Err(anyhow::Error::new(failure)),
        }
    }
}

/// Asks for the environment's name on a terminal before changing a protected
/// environment (`action` says what will happen); `--yes` answers for CI.
pub fn confirm(overlay: &Overlay, yes: bool, action: &str) -> Confirmation {
    if yes || !overlay.settings.protected {
        return Confirmation::Given;
    }
    if !std::io::stdin().is_terminal() {
        return Confirmation::Impossible;
    }
    eprintln!(
        "      {} is protected. {action} in context {}? Type '{}' to confirm:",
        overlay.env, overlay.settings.kube_context, overlay.env
    );
    let mut answer = String::new();
    match std::io::stdin().read_line(&mut answer) {
        Ok(_) => Confirmation::Typed(answer),
        Err(_) => Confirmation::Impossible,
    }
}

fn revision_text(revision: Option<u32>) -> String {
    revision.map_or("no revision".to_owned(), |r| format!("revision {r}"))
}

/// `repository@digest` when a digest is known (immutable), else `repository:tag`.
pub fn image_reference(repository: &str, tag: &str, digest: &str) -> String {
    if digest.is_empty() {
        format!("{repository}:{tag}")
    } else {
        format!("{repository}@{digest}")
    }
}

/// The api Service's port from rendered values (80 unless set).
fn service_port(values: &std::path::Path) -> u16 {
    std::fs::read_to_string(values)
        .ok()
        .and_then(|text| serde_yaml::from_str::<serde_yaml::Value>(&text).ok())
        .and_then(|v| v["service"]["port"].as_u64())
        .and_then(|p| u16::try_from(p).ok())
        .unwrap_or(80)
}

fn git_dirty() -> bool {
    std::process::Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(project::root())
        .output()
        .map(|o| !o.stdout.is_empty())
        .unwrap_or(true)
}

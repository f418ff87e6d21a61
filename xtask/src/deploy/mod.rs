//! `cargo xtask deploy <env>`: the steps in order, each in its own module with its
//! effects, every decision a pure function there:
//!
//! 1. preflight: facts gathered, then judged (`preflight::decide`); the confirmation
//! 2. lock: a Lease held for the whole deploy (`lock::judge`)
//! 3. render: the overlay's values
//! 4. helm upgrade: bounded and stoppable; did it store a revision (`upgrade::stored_revision`)
//! 5. rollout: the new revision's pods and Job (`rollout::judge`)
//! 6. diagnosis: pods, events and logs, read before anything is rolled back
//! 7. smoke: the smoke suite over HTTP
//! 8. rollback: to the newest revision known good, or nothing (`recovery::decide`)
//! 9. record: target/deploy/<env>/
//!
//! helm is run without `--wait`/`--atomic`/`--rollback-on-failure`: xtask watches the
//! rollout itself so that, when it fails, the evidence is read before a rollback removes
//! it. Ctrl-C never triggers a rollback: before the upgrade nothing is applied; during
//! it helm is stopped; after it the applied revision is left as it is, and said.

mod args;
mod diagnosis;
mod drift;
mod lock;
pub mod preflight;
mod prompt;
mod record;
mod recovery;
mod report;
mod rollout;
mod smoke;
mod step;
mod upgrade;
mod verdict;

use std::time::{Duration, Instant};

pub use self::args::{Args, Failure, Output};
use self::preflight::{Facts, NamespaceState, Request, Verdict};
pub use self::prompt::confirm;
use self::record::{DeployRecord, StepRecord};
use self::recovery::Recovery;
use self::report::Reporter;
use self::rollout::Watched;
use self::smoke::Smoked;
use self::step::Step;
use self::upgrade::Upgraded;
use crate::container_engine::Engine;
use crate::helm::{Helm, HelmMajor, Release, Target, UpgradeOptions};
use crate::interrupt::Interrupt;
use crate::kubectl::{Kubectl, Scope};
use crate::overlay::{self, Overlay};
use crate::tools::Tools;
use crate::{git, project, render, timestamp};

/// Everything one deploy run works with.
struct Deploy<'a> {
    args: &'a Args,
    overlay: Overlay,
    tools: Tools,
    helm: Helm,
    kubectl: Kubectl,
    reporter: Reporter,
    record: DeployRecord,
    interrupt: Interrupt,
    major: HelmMajor,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let interrupt = Interrupt::trap();
    let overlay = overlay::load(&overlay::overlays_dir(), &args.env)
        .map_err(|err| Failure::Preflight(vec![format!("{err:#}")]))?;
    let tools = Tools::ensure().map_err(|err| Failure::Preflight(vec![format!("{err:#}")]))?;
    let git_revision = git::revision().unwrap_or_else(|_| "unknown".to_owned());
    let (tag, digest) = if args.build {
        let built = build_first(args, &overlay, &tools)?;
        (built.tag, built.digest.unwrap_or_default())
    } else {
        (
            args.tag
                .clone()
                .unwrap_or_else(|| git::short(&git_revision)),
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
        started_at: timestamp::now(),
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
        interrupt,
        major: HelmMajor::V4,
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
        digest_file: None,
        tag: None,
        registry: None,
        repository: Some(overlay.settings.image.repository.clone()),
        engine: args.engine.clone(),
        allow_dirty: false,
        binary: args.binary.clone(),
    })
    .map_err(|err| Failure::Build(format!("{err:#}")))
}

impl Deploy<'_> {
    fn execute(&mut self, tag: &str, digest: &str, image: &str) -> Result<(), Failure> {
        let settings = self.overlay.settings.clone();
        let target = Target {
            release: &settings.release,
            namespace: &settings.namespace,
            context: &settings.kube_context,
        };
        let scope = Scope {
            context: &settings.kube_context,
            namespace: &settings.namespace,
        };

        self.reporter.step(
            Step::Preflight,
            &format!(
                "preflight: {image} -> {} ({}/{})",
                settings.kube_context, settings.namespace, settings.release
            ),
        );
        let started = Instant::now();
        let facts = self.gather_facts(image, &target, &scope)?;
        self.major = facts.helm_major;
        let request = Request {
            env: &self.overlay.env,
            settings: &settings,
            tag,
            tag_explicit: self.args.tag.is_some() || self.args.build || !digest.is_empty(),
            digest,
            dry_run: self.args.dry_run,
        };
        match preflight::decide(&request, &facts) {
            Verdict::Refuse(reasons) => {
                self.record_step(Step::Preflight, started, "refused");
                return Err(Failure::Preflight(reasons));
            }
            Verdict::Go { warnings } => {
                for warning in warnings {
                    self.reporter.line(&format!("warning: {warning}"));
                }
            }
        }
        self.stop_if_interrupted(Step::Preflight)?;
        if !self.args.dry_run {
            let confirmation = confirm(
                &self.overlay,
                self.args.yes,
                &format!("Deploy {image}"),
                &self.interrupt,
            );
            if confirmation == preflight::Confirmation::Abandoned {
                self.record_step(Step::Preflight, started, "interrupted");
                return Err(Failure::Interrupted(
                    "abandoned at the confirmation prompt; nothing was applied".to_owned(),
                ));
            }
            if let Some(refusal) = preflight::confirmation_refusal(
                &self.overlay.env,
                settings.protected,
                &confirmation,
            ) {
                self.record_step(Step::Preflight, started, "refused");
                return Err(Failure::Preflight(vec![refusal]));
            }
            if facts.namespace == NamespaceState::Missing && settings.create_namespace {
                self.kubectl.create_namespace(&scope).map_err(|e| {
                    Failure::Preflight(vec![format!(
                        "creating namespace {}: {e}",
                        settings.namespace
                    )])
                })?;
                self.reporter
                    .line(&format!("created namespace {}", settings.namespace));
            }
        }
        self.reporter.line(&format!(
            "ok: context {}, helm {:?}",
            facts.current_context, facts.helm_major
        ));
        self.record_step(Step::Preflight, started, "ok");

        let _lock = if self.args.dry_run {
            None
        } else {
            self.reporter.step(
                Step::Lock,
                &format!(
                    "lock: lease {} in {}",
                    lock::lease_name(&settings.release),
                    settings.namespace
                ),
            );
            let started = Instant::now();
            let holder = format!(
                "deploy {} by {} on {} (git {})",
                self.overlay.env,
                self.record.who,
                record::host(),
                git::short(&self.record.git_revision)
            );
            let request = lock::Request {
                release: &settings.release,
                holder: &holder,
                wait: self.args.lock_wait,
                break_lock: self.args.break_lock,
            };
            let taken = lock::acquire(
                &self.kubectl,
                &scope,
                &request,
                &self.interrupt,
                &mut self.reporter,
            );
            match taken {
                Ok(lock) => {
                    self.record_step(Step::Lock, started, "ok");
                    Some(lock)
                }
                Err(reason) => {
                    self.record_step(Step::Lock, started, "refused");
                    self.stop_if_interrupted(Step::Lock)?;
                    return Err(Failure::Preflight(vec![reason]));
                }
            }
        };

        self.reporter.step(Step::Render, "render values");
        let started = Instant::now();
        let rendered = render::render(
            &self.tools,
            &self.overlay.env,
            Some(tag.to_owned()),
            digest,
            None,
        )
        .map_err(|err| Failure::Preflight(vec![format!("{err:#}")]))?;
        self.reporter.line(&project::display_path(&rendered.values));
        self.record_step(Step::Render, started, "ok");
        let chart = project::chart_dir();
        let release = Release {
            name: &settings.release,
            namespace: &settings.namespace,
            chart: &chart,
            values: &rendered.values,
        };

        if self.args.dry_run {
            return self.dry_run(&release, &settings.kube_context, facts.history.is_ok());
        }
        self.stop_if_interrupted(Step::Render)?;

        let before = facts.history.unwrap_or_default();
        self.reporter.step(
            Step::Upgrade,
            &format!(
                "helm upgrade --install {} (timeout {})",
                settings.release, settings.timeouts.deploy
            ),
        );
        if self.major == HelmMajor::V4 {
            self.say_what_is_taken_back(&scope, &rendered.manifests);
        }
        let started = Instant::now();
        let options = UpgradeOptions {
            major: self.major,
            create_namespace: settings.create_namespace,
            // Stored with the revision, so it never inherits the last one's verdict (helm
            // has had release labels since 3.13; xtask accepts helm 3.14 and later).
            labels: vec![(
                verdict::LABEL.to_owned(),
                verdict::Verdict::Pending.as_str().to_owned(),
            )],
            timeout: settings.timeouts.deploy.clone(),
        };
        let deadline =
            Duration::from_secs(overlay::parse_timeout(&settings.timeouts.deploy).unwrap_or(600));
        let upgraded = upgrade::run(
            &self.helm,
            &release,
            &target,
            &options,
            deadline,
            &self.interrupt,
        );
        let after = self.helm.history(&target);
        let stored = after
            .as_ref()
            .ok()
            .and_then(|after| upgrade::stored_revision(&before, after));
        self.record.revision = stored;
        let failure = match upgraded {
            Upgraded::Applied => None,
            Upgraded::Interrupted(said) => {
                self.record_step(Step::Upgrade, started, "interrupted");
                self.say(&said);
                let state = match stored {
                    Some(revision) => format!(
                        "helm had stored revision {revision}, left as helm left it; check it with `cargo xtask status {}`",
                        self.overlay.env
                    ),
                    None => "nothing was applied".to_owned(),
                };
                return Err(Failure::Interrupted(format!(
                    "stopped helm upgrade; {state}"
                )));
            }
            Upgraded::TimedOut(said) => Some(format!(
                "helm upgrade did not finish within {}; stopped it{}",
                settings.timeouts.deploy,
                if said.is_empty() {
                    String::new()
                } else {
                    format!(": {said}")
                }
            )),
            Upgraded::Failed(message) => Some(format!("helm upgrade --install failed: {message}")),
        };
        if let Some(reason) = failure {
            self.record_step(Step::Upgrade, started, "failed");
            self.reporter.line(&reason);
            if after.is_err() {
                self.reporter.line("could not read the release history after the failure; check it with `helm history` before deploying again");
                self.record.recovery =
                    Some("none: the release history could not be read".to_owned());
                return Err(Failure::Deploy(reason));
            }
            if stored.is_none() {
                self.reporter
                    .line("helm stored no new revision: nothing changed, nothing to undo");
            } else {
                self.mark(&scope, stored, verdict::Verdict::Failed);
                if let Ok(reading) = rollout::read(&self.kubectl, &scope, &settings.release) {
                    self.diagnose(&scope, &reading);
                }
            }
            self.recover(&target, &scope, stored);
            return Err(Failure::Deploy(reason));
        }
        self.reporter.line(&format!(
            "applied as revision {}",
            stored.map_or("?".to_owned(), |r| r.to_string())
        ));
        self.record_step(Step::Upgrade, started, "ok");

        self.reporter.step(Step::Rollout, "rollout");
        let started = Instant::now();
        let timeout = self.args.timeout.unwrap_or_else(|| {
            Duration::from_secs(overlay::parse_timeout(&settings.timeouts.rollout).unwrap_or(300))
        });
        let (watched, reading) = rollout::watch(
            &self.kubectl,
            &scope,
            &settings.release,
            timeout,
            self.args.poll_interval,
            &self.interrupt,
            &mut self.reporter,
        );
        match watched {
            Watched::Done => self.record_step(Step::Rollout, started, "ok"),
            Watched::Interrupted => {
                self.record_step(Step::Rollout, started, "interrupted");
                return Err(Failure::Interrupted(
                    self.stays_applied("stopped watching", stored),
                ));
            }
            Watched::CannotSee(message) => {
                self.record_step(Step::Rollout, started, "failed");
                self.record.recovery =
                    Some("none: the rollout could not be seen, so it was not judged".to_owned());
                return Err(Failure::Deploy(format!(
                    "cannot watch the rollout: {message}; {}",
                    self.stays_applied("not judged and not rolled back", stored)
                )));
            }
            Watched::Failed(reason) => {
                self.record_step(Step::Rollout, started, "failed");
                self.mark(&scope, stored, verdict::Verdict::Failed);
                self.reporter
                    .step(Step::Diagnosis, &format!("diagnosis: {reason}"));
                match reading {
                    Some(reading) => self.diagnose(&scope, &reading),
                    None => self.reporter.line("no reading of the rollout to diagnose"),
                }
                self.reporter.step(Step::Rollback, "roll back");
                self.recover(&target, &scope, stored);
                return Err(Failure::Deploy(reason));
            }
        }

        self.reporter.step(Step::Smoke, "smoke tests");
        let started = Instant::now();
        let smoked = smoke::run(
            &self.kubectl,
            &scope,
            &settings,
            &rendered.values,
            &self.interrupt,
            &mut self.reporter,
        );
        match smoked {
            Smoked::Passed => {}
            // A Ctrl-C during the smoke tests (which also stops the port-forward) says
            // nothing about the revision: it is left as it is.
            Smoked::Interrupted => {
                self.record_step(Step::Smoke, started, "interrupted");
                return Err(Failure::Interrupted(
                    self.stays_applied("stopped the smoke tests", stored),
                ));
            }
            Smoked::Failed(reason) => {
                self.record_step(Step::Smoke, started, "failed");
                self.mark(&scope, stored, verdict::Verdict::Failed);
                self.reporter.step(Step::Rollback, "roll back");
                self.recover(&target, &scope, stored);
                return Err(Failure::Smoke(reason));
            }
        }
        self.record_step(Step::Smoke, started, "ok");
        self.mark(&scope, stored, verdict::Verdict::Verified);
        Ok(())
    }

    fn dry_run(
        &mut self,
        release: &Release,
        context: &str,
        reachable: bool,
    ) -> Result<(), Failure> {
        self.reporter.step(
            Step::Upgrade,
            "helm upgrade --install --dry-run (nothing changes)",
        );
        let started = Instant::now();
        let output = if reachable {
            self.helm
                .upgrade_dry_run(release, context)
                .map_err(|e| e.to_string())
        } else {
            self.helm
                .install_dry_run_offline(release)
                .map_err(|e| format!("{e:#}"))
        };
        let output = output.map_err(|err| {
            self.record_step(Step::Upgrade, started, "failed");
            Failure::Deploy(err)
        })?;
        let objects = output.matches("\nkind: ").count();
        self.reporter.line(&format!(
            "dry run ok: {objects} objects rendered; nothing was applied"
        ));
        self.reporter.line(
            "not checked by a dry run: server-side apply conflicts, admission webhooks, RBAC and quotas (helm stops before applying anything)",
        );
        self.record_step(Step::Upgrade, started, "ok");
        Ok(())
    }

    fn gather_facts(
        &mut self,
        image: &str,
        target: &Target,
        scope: &Scope,
    ) -> Result<Facts, Failure> {
        let preflight_error = |err: anyhow::Error| Failure::Preflight(vec![format!("{err:#}")]);
        let helm_major = self.helm.major_version().map_err(preflight_error)?;
        let current_context = self.kubectl.current_context().map_err(preflight_error)?;
        // Ask the cluster only when it is the right one.
        let right = current_context == target.context;
        let history = if right {
            self.helm.history(target).map_err(|err| err.to_string())
        } else {
            Ok(vec![])
        };
        let verdicts = if right && history.is_ok() {
            verdict::read(&self.kubectl, scope, target.release).unwrap_or_default()
        } else {
            Default::default()
        };
        let namespace = if !right {
            NamespaceState::Exists
        } else if let Err(reason) = &history {
            NamespaceState::Unknown(reason.clone())
        } else {
            match self.kubectl.namespace_exists(scope) {
                Ok(true) => NamespaceState::Exists,
                Ok(false) => NamespaceState::Missing,
                Err(err) => NamespaceState::Unknown(err.message),
            }
        };
        let image = match Engine::find(self.args.engine.as_deref()) {
            Some(engine) => engine.image_check(image),
            None => crate::container_engine::ImageCheck::Unknown(
                "neither podman nor docker is installed".into(),
            ),
        };
        Ok(Facts {
            current_context,
            helm_major,
            history,
            verdicts,
            namespace,
            git_dirty: git::is_dirty(),
            image,
        })
    }

    /// Before anything is applied, a Ctrl-C ends the deploy with nothing changed.
    fn stop_if_interrupted(&self, during: Step) -> Result<(), Failure> {
        if self.interrupt.happened() && !during.may_have_applied() {
            return Err(Failure::Interrupted(format!(
                "during {}: nothing was applied",
                during.name()
            )));
        }
        Ok(())
    }

    /// Names the fields other field managers set that this upgrade takes back.
    fn say_what_is_taken_back(&mut self, scope: &Scope, manifests: &std::path::Path) {
        let Ok(manifests) = std::fs::read_to_string(manifests) else {
            return;
        };
        match drift::read_live(&self.kubectl, scope, &self.overlay.settings.release) {
            Ok(live) => {
                for line in drift::taken_back(&manifests, &live) {
                    self.reporter.line(&line);
                }
            }
            Err(err) => self.reporter.line(&format!(
                "could not read the live objects' field managers: {err}"
            )),
        }
    }

    fn stays_applied(&self, what: &str, revision: Option<u32>) -> String {
        format!(
            "{what}; revision {} stays applied and its rollout goes on in the cluster. Check it with `cargo xtask status {env}`; roll back with `cargo xtask rollback {env}`",
            revision.map_or("?".to_owned(), |r| r.to_string()),
            env = self.overlay.env
        )
    }

    fn say(&mut self, text: &str) {
        if !text.trim().is_empty() {
            self.reporter.line(text.trim());
        }
    }

    /// Records xtask's verdict on `revision` in Helm's release record.
    fn mark(&mut self, scope: &Scope, revision: Option<u32>, verdict: verdict::Verdict) {
        let Some(revision) = revision else { return };
        if let Err(err) = verdict::write(
            &self.kubectl,
            scope,
            &self.overlay.settings.release,
            revision,
            verdict,
        ) {
            self.reporter.line(&format!(
                "could not record the verdict on revision {revision}: {err}"
            ));
        }
    }

    fn diagnose(&mut self, scope: &Scope, reading: &rollout::Reading) {
        let job = diagnosis::newest_job(&reading.jobs);
        let job_pods = match &job {
            diagnosis::JobState::Failed { name, .. } => rollout::job_pods(reading, name),
            _ => serde_json::json!({"items": []}),
        };
        diagnosis::run(
            &self.kubectl,
            scope,
            &rollout::new_pods(reading),
            &job,
            &job_pods,
            &mut self.reporter,
        );
    }

    /// Undoes a failed deploy as `recovery::decide` says, and says what was done.
    fn recover(&mut self, target: &Target, scope: &Scope, stored: Option<u32>) {
        let history = self.helm.history(target).unwrap_or_default();
        let verdicts = verdict::read(&self.kubectl, scope, target.release).unwrap_or_default();
        let settings = self.overlay.settings.clone();
        let decision = recovery::decide(&history, &verdicts, stored, settings.on_failed_install);
        let timeout = settings.timeouts.rollout.clone();
        let text = match decision {
            Recovery::RollBack { to } => {
                let rolled = self.helm.rollback(target, to, &timeout, self.major);
                let newest = self
                    .helm
                    .history(target)
                    .ok()
                    .and_then(|h| h.last().map(|r| r.revision))
                    .filter(|r| Some(*r) != stored);
                match rolled {
                    Ok(_) => {
                        self.mark(scope, newest, verdict::Verdict::Verified);
                        format!("rolled back to revision {to}")
                    }
                    Err(err) => {
                        self.mark(scope, newest, verdict::Verdict::Failed);
                        format!(
                            "rollback to revision {to} FAILED: {err}; roll back by hand: {}",
                            Helm::rollback_by_hand(target, to, self.major)
                        )
                    }
                }
            }
            Recovery::Uninstall => match self.helm.uninstall(target, &timeout, self.major) {
                Ok(_) => "uninstalled the failed first install".to_owned(),
                Err(err) => format!("uninstalling the failed first install FAILED: {err}"),
            },
            other => recovery::advice(
                &other,
                &self.overlay.env,
                target.release,
                target.namespace,
                target.context,
            ),
        };
        self.reporter.line(&text);
        self.record.recovery = Some(text);
    }

    fn record_step(&mut self, step: Step, started: Instant, outcome: &str) {
        self.record.steps.push(StepRecord {
            step: step.name(),
            outcome: outcome.to_owned(),
            duration_ms: started.elapsed().as_millis(),
        });
    }

    /// The record, the verdict, the exit code.
    fn finish(mut self, result: Result<(), Failure>) -> anyhow::Result<()> {
        self.record.finished_at = timestamp::now();
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
        self.reporter.step(Step::Record, "deploy record");
        let dir = project::target_dir().join("deploy").join(&self.overlay.env);
        match record::write(&dir, &self.record) {
            Ok(path) => self.reporter.line(&project::display_path(&path)),
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
                    self.record
                        .revision
                        .map_or("no revision".to_owned(), |r| format!("revision {r}"))
                );
                Ok(())
            }
            Err(failure) => Err(anyhow::Error::new(failure)),
        }
    }
}

/// `repository@digest` when a digest is known (immutable), else `repository:tag`.
pub fn image_reference(repository: &str, tag: &str, digest: &str) -> String {
    if digest.is_empty() {
        format!("{repository}:{tag}")
    } else {
        format!("{repository}@{digest}")
    }
}

/// The rollback target `cargo xtask rollback` picks by default, with the same rule a
/// failed deploy uses.
pub fn default_rollback_target(
    kubectl: &Kubectl,
    scope: &Scope,
    release: &str,
    history: &[crate::helm::Revision],
    current: u32,
) -> Option<u32> {
    let verdicts = verdict::read(kubectl, scope, release).unwrap_or_default();
    recovery::good_revision(history, &verdicts, current)
}

/// Records the outcome of a rollback made by `cargo xtask rollback` on its new revision.
pub fn mark_rollback(
    kubectl: &Kubectl,
    scope: &Scope,
    release: &str,
    revision: u32,
    ok: bool,
) -> Result<(), crate::kubectl::CallError> {
    let verdict = if ok {
        verdict::Verdict::Verified
    } else {
        verdict::Verdict::Failed
    };
    verdict::write(kubectl, scope, release, revision, verdict)
}

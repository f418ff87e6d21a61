//! What the cluster's controllers and kubelet will do, scripted per test: which pods
//! become ready, crash, fail to pull their image or never pass readiness, which Jobs
//! succeed or fail, with the container logs each one leaves.

use std::time::Duration;

use serde_json::Value;

/// How a pod's containers behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Running, then ready after the script's delay.
    Ready,
    /// Running, its readiness probe failing for ever.
    NeverReady,
    /// The main containers exit and restart with back-off; `reason` (`OOMKilled`,
    /// `Error`) and `exit_code` are what the last exit shows.
    CrashLoop { reason: String, exit_code: i64 },
    /// The first init container cannot pull its image; the others wait in `PodInitializing`.
    InitImagePullBackOff,
    /// The first init container runs and never finishes (waiting for the database or for
    /// migrations); the main containers wait in `PodInitializing`.
    StuckInInit,
    /// The first init container exits with `exit_code` (a Job pod's `wait-for-database`
    /// timing out): the pod fails without its main containers ever starting.
    InitFails { exit_code: i64 },
    /// No node fits: the pod stays `Pending`, and the scheduler says why.
    Unschedulable,
    /// Runs to completion (Job pods).
    Succeed,
    /// Exits with `exit_code` (Job pods).
    Fail { exit_code: i64 },
}

/// Which pods a script applies to, and what they do.
#[derive(Debug, Clone)]
pub struct Pods {
    owner: Option<&'static str>,
    image: Option<String>,
    pub(crate) outcome: Outcome,
    pub(crate) after: Duration,
    pub(crate) logs: Vec<(String, String)>,
}

impl Pods {
    /// Pods whose owner (through its ReplicaSet) is a `Deployment`, a `Job` or a `StatefulSet`.
    pub fn of(owner: &'static str) -> Self {
        Self {
            owner: Some(owner),
            image: None,
            outcome: Outcome::Ready,
            after: Duration::from_millis(200),
            logs: Vec::new(),
        }
    }

    /// Every pod, unless a more specific script matches first.
    pub fn any() -> Self {
        Self {
            owner: None,
            ..Self::of("")
        }
    }

    /// Only pods with a container whose image contains `fragment` (a tag, say).
    pub fn with_image(mut self, fragment: &str) -> Self {
        self.image = Some(fragment.to_owned());
        self
    }

    pub fn ready_after(mut self, after: Duration) -> Self {
        self.outcome = Outcome::Ready;
        self.after = after;
        self
    }

    pub fn never_ready(mut self) -> Self {
        self.outcome = Outcome::NeverReady;
        self
    }

    pub fn crash_loop(mut self, reason: &str, exit_code: i64) -> Self {
        self.outcome = Outcome::CrashLoop {
            reason: reason.to_owned(),
            exit_code,
        };
        self
    }

    pub fn init_image_pull_backoff(mut self) -> Self {
        self.outcome = Outcome::InitImagePullBackOff;
        self
    }

    pub fn stuck_in_init(mut self) -> Self {
        self.outcome = Outcome::StuckInInit;
        self
    }

    pub fn init_fails(mut self, exit_code: i64) -> Self {
        self.outcome = Outcome::InitFails { exit_code };
        self
    }

    pub fn unschedulable(mut self) -> Self {
        self.outcome = Outcome::Unschedulable;
        self
    }

    pub fn succeed_after(mut self, after: Duration) -> Self {
        self.outcome = Outcome::Succeed;
        self.after = after;
        self
    }

    pub fn fail(mut self, exit_code: i64) -> Self {
        self.outcome = Outcome::Fail { exit_code };
        self
    }

    /// What `container` writes to its log (each run of it, for a crash loop).
    pub fn log(mut self, container: &str, text: &str) -> Self {
        self.logs.push((container.to_owned(), text.to_owned()));
        self
    }

    fn matches(&self, owner: &str, pod: &Value) -> bool {
        let owner_ok = self.owner.is_none_or(|o| o == owner);
        let image_ok = self.image.as_deref().is_none_or(|fragment| {
            ["initContainers", "containers"].iter().any(|list| {
                pod["spec"][list]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["image"].as_str().is_some_and(|i| i.contains(fragment)))
            })
        });
        owner_ok && image_ok
    }
}

/// A request the server answers differently: refused as RBAC would refuse it, or
/// answered late.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestRule {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`.
    pub verb: String,
    /// `pods`, `namespaces`, `pods/log`, ...
    pub resource: String,
    pub answer: Answer,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    Forbidden,
    After(Duration),
}

/// The script of one test's cluster.
#[derive(Debug, Clone)]
pub struct Scenario {
    pods: Vec<Pods>,
    pub(crate) requests: Vec<RequestRule>,
    /// How long a container takes from one crash to the next.
    pub(crate) restart_period: Duration,
    /// How long the deployment controller takes to notice a new generation.
    pub(crate) deployment_delay: Duration,
}

impl Default for Scenario {
    fn default() -> Self {
        Self::new()
    }
}

impl Scenario {
    /// Every workload's pods become ready, every Job succeeds.
    pub fn new() -> Self {
        Self {
            pods: Vec::new(),
            requests: Vec::new(),
            restart_period: Duration::from_millis(150),
            deployment_delay: Duration::ZERO,
        }
    }

    /// Adds a pod script; earlier scripts win where several match.
    pub fn pods(mut self, pods: Pods) -> Self {
        self.pods.push(pods);
        self
    }

    /// The deployment controller sees a new generation only after `delay`, so status
    /// from before the change (say a stale `ProgressDeadlineExceeded`) stays visible.
    pub fn deployment_controller_delay(mut self, delay: Duration) -> Self {
        self.deployment_delay = delay;
        self
    }

    /// Refuses `verb` on `resource` (a plural such as `pods`, or `pods/log`) as the API
    /// server refuses an identity without the right: 403 Forbidden, naming the user.
    pub fn forbid(mut self, verb: &str, resource: &str) -> Self {
        self.requests.push(RequestRule {
            verb: verb.to_owned(),
            resource: resource.to_owned(),
            answer: Answer::Forbidden,
        });
        self
    }

    /// Answers `verb` on `resource` only after `delay` (a hung API server, a slow webhook).
    pub fn delay(mut self, verb: &str, resource: &str, delay: Duration) -> Self {
        self.requests.push(RequestRule {
            verb: verb.to_owned(),
            resource: resource.to_owned(),
            answer: Answer::After(delay),
        });
        self
    }

    pub(crate) fn answer_for(&self, verb: &str, resource: &str) -> Option<&Answer> {
        self.requests
            .iter()
            .find(|r| r.verb == verb && r.resource == resource)
            .map(|r| &r.answer)
    }

    /// The script for a pod owned (through its ReplicaSet) by a workload of `owner` kind.
    pub(crate) fn script_for(&self, owner: &str, pod: &Value) -> Pods {
        self.pods
            .iter()
            .find(|p| p.matches(owner, pod))
            .cloned()
            .unwrap_or_else(|| match owner {
                "Job" => Pods::of("Job").succeed_after(Duration::from_millis(200)),
                _ => Pods::any(),
            })
    }
}

//! The preflight step: everything checked before anything changes. The decision is a
//! pure function of gathered facts, so each refusal is tested without a cluster.

use std::collections::BTreeMap;

use super::recovery::good_revision;
use super::verdict::Verdict as RevisionVerdict;
use crate::container_engine::ImageCheck;
use crate::helm::{HelmMajor, Revision};
use crate::overlay::OverlaySettings;

/// What xtask found out about the world before deploying.
#[derive(Debug, Clone)]
pub struct Facts {
    pub current_context: String,
    pub helm_major: HelmMajor,
    /// The release's history, or why the cluster could not be asked.
    pub history: Result<Vec<Revision>, String>,
    /// xtask's verdict on each revision it deployed.
    pub verdicts: BTreeMap<u32, RevisionVerdict>,
    pub namespace: NamespaceState,
    pub git_dirty: bool,
    pub image: ImageCheck,
}

/// Whether the release's namespace exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceState {
    Exists,
    Missing,
    /// The deploy identity may not read namespaces (namespace-scoped rights): helm will
    /// find out.
    Unknown(String),
}

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub env: &'a str,
    pub settings: &'a OverlaySettings,
    pub tag: &'a str,
    /// The tag came from `--tag` or `--build`, not from the git revision default.
    pub tag_explicit: bool,
    /// `--digest`, or the one `--build` pushed; empty when unknown.
    pub digest: &'a str,
    pub dry_run: bool,
}

/// The outcome: go (with warnings), or refuse with every reason at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Go { warnings: Vec<String> },
    Refuse(Vec<String>),
}

/// Tags that move: deploying one makes a rollback redeploy something else.
const MOVING_TAGS: &[&str] = &[
    "latest", "main", "master", "stable", "dev", "staging", "prod",
];

pub fn decide(request: &Request, facts: &Facts) -> Verdict {
    let settings = request.settings;
    let mut refusals = Vec::new();
    let mut warnings = Vec::new();

    refusals.extend(context_refusal(
        request.env,
        &facts.current_context,
        &settings.kube_context,
    ));

    match &facts.history {
        Ok(history) => {
            if let Some(stuck) = history.last().filter(|r| r.status.starts_with("pending-")) {
                let fix = match good_revision(history, &facts.verdicts, stuck.revision) {
                    Some(good) => format!(
                        "`cargo xtask rollback {}` rolls it back to revision {good}",
                        request.env
                    ),
                    None => format!(
                        "it never deployed; remove it with `helm uninstall {} -n {} --kube-context {}`",
                        settings.release, settings.namespace, settings.kube_context
                    ),
                };
                refusals.push(format!(
                    "release {} is stuck in {} (revision {}), probably from an interrupted run; {fix}",
                    settings.release, stuck.status, stuck.revision
                ));
            }
        }
        Err(reason) if request.dry_run => {
            warnings.push(format!(
                "cannot reach the cluster ({reason}); the dry run checks the chart client-side only"
            ));
        }
        Err(reason) => refusals.push(format!(
            "cannot read the release from the cluster: {reason}"
        )),
    }

    if facts.namespace == NamespaceState::Missing && !settings.create_namespace {
        refusals.push(format!(
            "namespace {ns} does not exist; it holds Secrets made beforehand, so an administrator creates it: `kubectl --context {} create namespace {ns}` (or set createNamespace: true in overlays/{}/deploy.yaml)",
            settings.kube_context,
            request.env,
            ns = settings.namespace
        ));
    }

    if settings.protected {
        if !request.tag_explicit {
            refusals.push(format!(
                "{} is protected: name the image with --tag <immutable tag> (or --build)",
                request.env
            ));
        }
        if facts.git_dirty {
            refusals.push(format!(
                "{} is protected: the git tree has uncommitted changes; commit or stash them",
                request.env
            ));
        }
    }
    refusals.extend(settings.image.digest_refusal(request.env, request.digest));
    if MOVING_TAGS.contains(&request.tag) || request.tag.is_empty() {
        let message = format!(
            "the tag '{}' moves; deploy an immutable tag such as the git revision",
            request.tag
        );
        if settings.protected {
            refusals.push(format!("{} is protected: {message}", request.env));
        } else {
            warnings.push(message);
        }
    }

    match &facts.image {
        ImageCheck::Exists(_) => {}
        ImageCheck::Missing(reason) => refusals.push(format!("the image does not exist: {reason}; build and push it first (`cargo xtask build --push`)")),
        ImageCheck::Unknown(reason) => warnings.push(format!("could not check that the image exists: {reason}")),
    }

    if refusals.is_empty() {
        Verdict::Go { warnings }
    } else {
        Verdict::Refuse(refusals)
    }
}

/// Why `current` is the wrong kube context for `env`, naming both; `None` when it is right.
/// Every command that changes a cluster (deploy, deploy --build, rollback) asks this.
pub fn context_refusal(env: &str, current: &str, expected: &str) -> Option<String> {
    (current != expected).then(|| {
        format!(
            "the current kube context is '{current}' but overlays/{env}/deploy.yaml deploys to '{expected}'; switch with `kubectl config use-context {expected}`"
        )
    })
}

/// How a protected deploy gets its go-ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// `--yes`.
    Given,
    /// What the person typed at the prompt.
    Typed(String),
    /// Neither `--yes` nor a terminal to ask on.
    Impossible,
    /// Ctrl-C at the prompt.
    Abandoned,
}

pub fn confirmation_refusal(
    env: &str,
    protected: bool,
    confirmation: &Confirmation,
) -> Option<String> {
    if !protected {
        return None;
    }
    match confirmation {
        Confirmation::Given => None,
        Confirmation::Typed(text) if text.trim() == env => None,
        Confirmation::Typed(text) => Some(format!(
            "confirmation '{}' does not match '{env}'; nothing was changed",
            text.trim()
        )),
        Confirmation::Impossible => Some(format!(
            "{env} is protected and there is no terminal to confirm on; pass --yes (e.g. in CI) to deploy"
        )),
        Confirmation::Abandoned => {
            Some("abandoned at the confirmation prompt; nothing was changed".to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::overlay::parse_settings;

    fn settings(protected: bool) -> OverlaySettings {
        parse_settings(&format!(
            "release: api\nnamespace: api-prod\nkubeContext: prod\nimage:\n  repository: r/api\ntimeouts:\n  deploy: 10m\n  rollout: 5m\n  smoke: 1m\nprotected: {protected}\n"
        ))
        .unwrap()
    }

    fn facts() -> Facts {
        Facts {
            current_context: "prod".into(),
            helm_major: HelmMajor::V4,
            history: Ok(vec![]),
            verdicts: BTreeMap::new(),
            namespace: NamespaceState::Exists,
            git_dirty: false,
            image: ImageCheck::Exists("r/api:abc".into()),
        }
    }

    fn rev(revision: u32, status: &str) -> Revision {
        Revision::new(revision, status)
    }

    fn request<'a>(settings: &'a OverlaySettings, tag: &'a str, explicit: bool) -> Request<'a> {
        Request {
            env: "prod",
            settings,
            tag,
            tag_explicit: explicit,
            digest: "",
            dry_run: false,
        }
    }

    #[test]
    fn a_digest_only_overlay_refuses_a_deploy_by_tag() {
        let mut settings = settings(true);
        settings.image.require_digest = true;
        let by_tag = request(&settings, "0123456789ab", true);
        let reasons = refusals(decide(&by_tag, &facts()));
        assert_eq!(reasons.len(), 1, "{reasons:?}");
        assert!(
            reasons[0].contains("prod deploys images by digest only")
                && reasons[0].contains("--build"),
            "{reasons:?}"
        );
        let digest = format!("sha256:{}", "a".repeat(64));
        let by_digest = Request {
            digest: &digest,
            ..by_tag
        };
        assert_eq!(
            decide(&by_digest, &facts()),
            Verdict::Go { warnings: vec![] }
        );
    }

    fn refusals(verdict: Verdict) -> Vec<String> {
        match verdict {
            Verdict::Refuse(reasons) => reasons,
            Verdict::Go { .. } => panic!("expected a refusal"),
        }
    }

    #[test]
    fn a_clean_protected_deploy_goes() {
        let settings = settings(true);
        let request = Request {
            env: "prod",
            settings: &settings,
            tag: "0123456789ab",
            tag_explicit: true,
            digest: "",
            dry_run: false,
        };
        assert_eq!(decide(&request, &facts()), Verdict::Go { warnings: vec![] });
    }

    #[test]
    fn the_wrong_context_is_refused_naming_both() {
        let settings = settings(false);
        let request = Request {
            env: "prod",
            settings: &settings,
            tag: "abc",
            tag_explicit: false,
            digest: "",
            dry_run: false,
        };
        let reasons = refusals(decide(
            &request,
            &Facts {
                current_context: "kind-api-dev".into(),
                ..facts()
            },
        ));
        assert!(
            reasons[0].contains("'kind-api-dev'") && reasons[0].contains("'prod'"),
            "{reasons:?}"
        );
    }

    #[test]
    fn a_stuck_release_is_refused_with_the_fix() {
        let settings = settings(false);
        let request = Request {
            env: "prod",
            settings: &settings,
            tag: "abc",
            tag_explicit: true,
            digest: "",
            dry_run: false,
        };
        let history = vec![
            rev(5, "superseded"),
            rev(6, "deployed"),
            rev(7, "pending-upgrade"),
        ];
        let reasons = refusals(decide(
            &request,
            &Facts {
                history: Ok(history),
                ..facts()
            },
        ));
        assert!(
            reasons[0].contains("pending-upgrade")
                && reasons[0].contains("cargo xtask rollback prod")
                && reasons[0].contains("revision 6"),
            "{reasons:?}"
        );
        let reasons = refusals(decide(
            &request,
            &Facts {
                history: Ok(vec![rev(1, "pending-install")]),
                ..facts()
            },
        ));
        assert!(
            reasons[0].contains("helm uninstall api -n api-prod"),
            "{reasons:?}"
        );
    }

    #[test]
    fn protected_environments_need_an_immutable_explicit_tag_and_a_clean_tree() {
        let settings = settings(true);
        let implicit = Request {
            env: "prod",
            settings: &settings,
            tag: "0123456789ab",
            tag_explicit: false,
            digest: "",
            dry_run: false,
        };
        assert!(refusals(decide(&implicit, &facts()))[0].contains("--tag"));
        let latest = Request {
            tag: "latest",
            tag_explicit: true,
            digest: "",
            ..implicit.clone()
        };
        assert!(refusals(decide(&latest, &facts()))[0].contains("moves"));
        let ok_tag = Request {
            tag_explicit: true,
            digest: "",
            ..implicit.clone()
        };
        assert!(
            refusals(decide(
                &ok_tag,
                &Facts {
                    git_dirty: true,
                    ..facts()
                }
            ))[0]
                .contains("uncommitted")
        );
    }

    #[test]
    fn unprotected_environments_only_warn_about_moving_tags() {
        let settings = settings(false);
        let request = Request {
            env: "dev",
            settings: &settings,
            tag: "latest",
            tag_explicit: true,
            digest: "",
            dry_run: false,
        };
        let facts = Facts {
            current_context: "prod".into(),
            git_dirty: true,
            ..facts()
        };
        assert!(
            matches!(decide(&request, &facts), Verdict::Go { warnings } if warnings[0].contains("moves"))
        );
    }

    #[test]
    fn image_and_cluster_problems() {
        let settings = settings(false);
        let request = Request {
            env: "dev",
            settings: &settings,
            tag: "abc",
            tag_explicit: true,
            digest: "",
            dry_run: false,
        };
        let missing = Facts {
            image: ImageCheck::Missing("manifest unknown".into()),
            ..facts()
        };
        assert!(refusals(decide(&request, &missing))[0].contains("build and push"));
        let unknown = Facts {
            image: ImageCheck::Unknown("no docker or podman".into()),
            ..facts()
        };
        assert!(
            matches!(decide(&request, &unknown), Verdict::Go { warnings } if warnings[0].contains("no docker"))
        );
        let offline = Facts {
            history: Err("connection refused".into()),
            ..facts()
        };
        assert!(refusals(decide(&request, &offline))[0].contains("connection refused"));
        let dry = Request {
            dry_run: true,
            ..request
        };
        assert!(
            matches!(decide(&dry, &offline), Verdict::Go { warnings } if warnings[0].contains("client-side"))
        );
    }

    #[test]
    fn a_missing_namespace_is_refused_unless_the_overlay_creates_it() {
        let mut f = facts();
        f.namespace = NamespaceState::Missing;
        let s = settings(false);
        let reasons = refusals(decide(&request(&s, "abc", true), &f));
        assert!(
            reasons[0].contains("namespace api-prod does not exist")
                && reasons[0].contains("kubectl --context prod create namespace api-prod"),
            "{reasons:?}"
        );
        let mut creating = settings(false);
        creating.create_namespace = true;
        assert!(matches!(
            decide(&request(&creating, "abc", true), &f),
            Verdict::Go { .. }
        ));
        f.namespace = NamespaceState::Unknown("forbidden".into());
        assert!(
            matches!(decide(&request(&s, "abc", true), &f), Verdict::Go { .. }),
            "namespace-scoped rights cannot tell"
        );
    }

    #[test]
    fn confirmations() {
        assert_eq!(
            confirmation_refusal("dev", false, &Confirmation::Impossible),
            None
        );
        assert_eq!(
            confirmation_refusal("prod", true, &Confirmation::Given),
            None
        );
        assert_eq!(
            confirmation_refusal("prod", true, &Confirmation::Typed("prod\n".into())),
            None
        );
        assert!(
            confirmation_refusal("prod", true, &Confirmation::Typed("yes".into()))
                .unwrap()
                .contains("does not match")
        );
        assert!(
            confirmation_refusal("prod", true, &Confirmation::Impossible)
                .unwrap()
                .contains("--yes")
        );
    }
}

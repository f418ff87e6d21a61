//! The Helm chart with each overlay, using the real helm binary and the Kubernetes schema
//! validator (found or installed by scripts/install-tools.sh). No cluster is involved.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_yaml::Value;

const ENVS: [&str; 3] = ["dev", "staging", "prod"];

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn chart() -> PathBuf {
    root().join("charts/api-platform")
}

fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|err| panic!("running {command:?}: {err}"))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// helm, as the installer reports it.
fn helm() -> &'static PathBuf {
    static HELM: OnceLock<PathBuf> = OnceLock::new();
    HELM.get_or_init(|| {
        let output = run(Command::new("bash")
            .arg(root().join("scripts/install-tools.sh"))
            .arg("--print-paths"));
        assert!(
            output.status.success(),
            "install-tools.sh: {}",
            text(&output)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        let path = stdout
            .lines()
            .find_map(|l| l.strip_prefix("helm="))
            .expect("a helm path");
        PathBuf::from(path)
    })
}

struct Rendered {
    values: PathBuf,
    docs: Vec<Value>,
    text: String,
}

/// Every overlay rendered once by `cargo xtask render`, into a folder of this test run.
fn rendered(env: &str) -> &'static Rendered {
    static ALL: OnceLock<HashMap<&'static str, Rendered>> = OnceLock::new();
    let all = ALL.get_or_init(|| {
        helm();
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("chart-tests-{}", std::process::id()));
        ENVS.iter()
            .map(|env| {
                let out_dir = base.join(env);
                let mut render = Command::new(env!("CARGO_BIN_EXE_xtask"));
                render.args(["render", env, "--tag", "0123456789ab"]);
                if *env != "dev" {
                    render.args(["--digest", DIGEST]); // they deploy only by digest
                }
                let output = run(render.arg("--out-dir").arg(&out_dir));
                assert!(output.status.success(), "render {env}: {}", text(&output));
                let manifests = std::fs::read_to_string(out_dir.join("manifests.yaml")).unwrap();
                let docs = serde_yaml::Deserializer::from_str(&manifests)
                    .map(|doc| Value::deserialize(doc).unwrap())
                    .filter(|doc| !doc.is_null())
                    .collect();
                (
                    *env,
                    Rendered {
                        values: out_dir.join("values.yaml"),
                        docs,
                        text: manifests,
                    },
                )
            })
            .collect()
    });
    &all[env]
}

fn kind(env: &str, kind: &str) -> Vec<&'static Value> {
    rendered(env)
        .docs
        .iter()
        .filter(|d| d["kind"] == kind)
        .collect()
}

fn one(env: &str, kind_name: &str, name: &str) -> &'static Value {
    kind(env, kind_name)
        .into_iter()
        .find(|d| d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{env}: no {kind_name} named {name}"))
}

/// Pod specs of every workload, with where they come from.
fn pod_specs(env: &str) -> Vec<(String, &'static Value, &'static Value)> {
    rendered(env)
        .docs
        .iter()
        .filter_map(|doc| {
            let name = format!(
                "{}/{}",
                doc["kind"].as_str()?,
                doc["metadata"]["name"].as_str()?
            );
            match doc["kind"].as_str()? {
                "Deployment" | "StatefulSet" | "Job" => Some((
                    name,
                    &doc["spec"]["template"]["spec"],
                    &doc["spec"]["template"]["metadata"]["labels"],
                )),
                "Pod" => Some((name, &doc["spec"], &doc["metadata"]["labels"])),
                _ => None,
            }
        })
        .collect()
}

fn containers(spec: &Value) -> Vec<(&Value, bool)> {
    let main = spec["containers"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|c| (c, false));
    let init = spec["initContainers"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|c| (c, true));
    main.chain(init).collect()
}

fn matches(selector: &Value, labels: &Value) -> bool {
    selector
        .as_mapping()
        .is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

#[test]
fn xtask_lint_passes_helm_lint_strict_schema_validation_and_the_security_scan_for_every_overlay() {
    helm(); // installs the tools once, before xtask looks them up too
    let output = run(Command::new(env!("CARGO_BIN_EXE_xtask")).arg("lint"));
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    for env in ENVS {
        assert!(
            out.contains(&format!(
                "{env}: helm lint, schema validation, security scan: ok"
            )),
            "{out}"
        );
    }
}

#[test]
fn every_overlay_installs_with_a_client_side_dry_run() {
    for env in ENVS {
        let namespace = format!("api-{env}");
        let output = run(Command::new(helm())
            .args(["install", "api"])
            .arg(chart())
            .args(["--dry-run=client", "--namespace", &namespace, "--values"])
            .arg(&rendered(env).values));
        assert!(output.status.success(), "{env}: {}", text(&output));
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("STATUS: pending-install"),
            "{env}: {}",
            text(&output)
        );
    }
}

#[test]
fn every_pod_meets_the_restricted_pod_security_standard() {
    for env in ENVS {
        for (name, spec, _) in pod_specs(env) {
            let pod = &spec["securityContext"];
            assert_eq!(pod["runAsNonRoot"], true, "{env} {name}");
            assert_eq!(
                pod["seccompProfile"]["type"], "RuntimeDefault",
                "{env} {name}"
            );
            assert!(
                pod["runAsUser"].as_u64().unwrap() >= 10000,
                "{env} {name}: uid below 10000"
            );
            assert_eq!(spec["automountServiceAccountToken"], false, "{env} {name}");
            for (container, _) in containers(spec) {
                let what = format!("{env} {name} {}", container["name"].as_str().unwrap());
                let sc = &container["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}");
                assert_eq!(
                    sc["capabilities"]["drop"],
                    Value::Sequence(vec!["ALL".into()]),
                    "{what}"
                );
                assert!(sc["capabilities"].get("add").is_none(), "{what}");
                assert_ne!(sc["privileged"], true, "{what}");
            }
        }
    }
}

#[test]
fn every_container_has_resources_and_every_server_has_probes() {
    for env in ENVS {
        for (name, spec, _) in pod_specs(env) {
            for (container, init) in containers(spec) {
                let what = format!("{env} {name} {}", container["name"].as_str().unwrap());
                for bound in ["requests", "limits"] {
                    for resource in ["cpu", "memory"] {
                        assert!(
                            !container["resources"][bound][resource].is_null(),
                            "{what}: {bound}.{resource}"
                        );
                    }
                }
                if !init && (name.starts_with("Deployment/") || name.starts_with("StatefulSet/")) {
                    for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
                        assert!(container[probe].is_mapping(), "{what}: {probe}");
                    }
                }
            }
        }
        let api = one(env, "Deployment", "api");
        let probes = &api["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            probes["livenessProbe"]["httpGet"]["path"], "/healthz",
            "{env}"
        );
        assert_eq!(
            probes["readinessProbe"]["httpGet"]["path"], "/readyz",
            "{env}"
        );
    }
}

#[test]
fn selectors_match_the_labels_of_what_they_select() {
    for env in ENVS {
        let pods = pod_specs(env);
        for kind_name in ["Deployment", "StatefulSet"] {
            for doc in kind(env, kind_name) {
                let selector = &doc["spec"]["selector"]["matchLabels"];
                assert!(
                    matches(selector, &doc["spec"]["template"]["metadata"]["labels"]),
                    "{env} {kind_name}"
                );
            }
        }
        for service in kind(env, "Service") {
            let name = service["metadata"]["name"].as_str().unwrap();
            let selected = pods
                .iter()
                .filter(|(_, _, labels)| matches(&service["spec"]["selector"], labels))
                .count();
            assert!(
                selected >= 1,
                "{env}: Service {name} selects no pod template"
            );
            for port in service["spec"]["ports"].as_sequence().unwrap() {
                if let Some(target) = port["targetPort"].as_str() {
                    let named = pods.iter().any(|(_, spec, labels)| {
                        matches(&service["spec"]["selector"], labels)
                            && containers(spec).iter().any(|(c, _)| {
                                c["ports"]
                                    .as_sequence()
                                    .into_iter()
                                    .flatten()
                                    .any(|p| p["name"] == target)
                            })
                    });
                    assert!(
                        named,
                        "{env}: Service {name} targets port {target} no selected container names"
                    );
                }
            }
        }
        for pdb in kind(env, "PodDisruptionBudget") {
            let name = pdb["metadata"]["name"].as_str().unwrap();
            let budgeted = one(env, "Deployment", name);
            assert!(
                matches(
                    &pdb["spec"]["selector"]["matchLabels"],
                    &budgeted["spec"]["template"]["metadata"]["labels"]
                ),
                "{env}: the budget {name} selects its Deployment's pods"
            );
            let others = kind(env, "Deployment")
                .into_iter()
                .filter(|d| d["metadata"]["name"] != name)
                .filter(|d| {
                    matches(
                        &pdb["spec"]["selector"]["matchLabels"],
                        &d["spec"]["template"]["metadata"]["labels"],
                    )
                })
                .count();
            assert_eq!(
                others, 0,
                "{env}: the budget {name} selects only its own pods"
            );
        }
        for hpa in kind(env, "HorizontalPodAutoscaler") {
            let target = &hpa["spec"]["scaleTargetRef"];
            assert_eq!(target["kind"], "Deployment");
            one(env, "Deployment", target["name"].as_str().unwrap());
        }
        for policy in kind(env, "NetworkPolicy") {
            let name = policy["metadata"]["name"].as_str().unwrap();
            let selector = &policy["spec"]["podSelector"]["matchLabels"];
            assert!(
                pods.iter().any(|(_, _, labels)| matches(selector, labels)),
                "{env}: NetworkPolicy {name} selects nothing"
            );
        }
        for ingress in kind(env, "Ingress") {
            for rule in ingress["spec"]["rules"].as_sequence().unwrap() {
                for path in rule["http"]["paths"].as_sequence().unwrap() {
                    one(
                        env,
                        "Service",
                        path["backend"]["service"]["name"].as_str().unwrap(),
                    );
                }
            }
        }
    }
}

#[test]
fn replicas_autoscaling_and_disruption_budgets_follow_each_overlay() {
    let dev = one("dev", "Deployment", "api");
    assert_eq!(dev["spec"]["replicas"], 1);
    assert!(kind("dev", "HorizontalPodAutoscaler").is_empty());
    assert!(kind("dev", "PodDisruptionBudget").is_empty());

    let staging = one("staging", "Deployment", "api");
    assert!(
        staging["spec"].get("replicas").is_none(),
        "the HPA owns the replica count"
    );
    assert_eq!(
        one("staging", "HorizontalPodAutoscaler", "api")["spec"]["minReplicas"],
        2
    );
    assert!(
        one("staging", "StatefulSet", "api-postgresql")["spec"]["volumeClaimTemplates"]
            .is_sequence()
    );
    assert!(one("staging", "Ingress", "api")["spec"]["tls"].is_sequence());

    let prod = one("prod", "Deployment", "api");
    assert!(prod["spec"].get("replicas").is_none());
    let hpa = one("prod", "HorizontalPodAutoscaler", "api");
    assert!(hpa["spec"]["minReplicas"].as_u64().unwrap() >= 3);
    assert_eq!(
        hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
        600
    );
    assert_eq!(
        one("prod", "PodDisruptionBudget", "api")["spec"]["minAvailable"],
        2
    );
    let pod = &prod["spec"]["template"]["spec"];
    assert!(pod["topologySpreadConstraints"].is_sequence());
    assert!(pod["affinity"]["podAntiAffinity"].is_mapping());
    assert_eq!(
        prod["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        0
    );
    assert!(
        kind("prod", "StatefulSet").is_empty(),
        "prod uses the external database"
    );
    assert_eq!(
        one("prod", "ConfigMap", "api")["data"]["DB_HOST"],
        "postgres.prod.internal"
    );
    let tls = &one("prod", "Ingress", "api")["spec"]["tls"][0];
    assert_eq!(tls["secretName"], "api-prod-tls");
}

#[test]
fn the_database_password_stays_in_secrets() {
    for env in ENVS {
        for config_map in kind(env, "ConfigMap") {
            for (key, _) in config_map["data"].as_mapping().unwrap() {
                let key = key.as_str().unwrap().to_ascii_uppercase();
                // Settings about password work, holding no password.
                let about_passwords = key.starts_with("PASSWORD_HASHING_");
                assert!(
                    about_passwords || (!key.contains("PASSWORD") && !key.contains("SECRET")),
                    "{env}: ConfigMap key {key}"
                );
            }
        }
        // Secrets reach containers as mounted files only, never as env values.
        for (name, spec, _) in pod_specs(env) {
            for (container, _) in containers(spec) {
                for var in container["env"].as_sequence().into_iter().flatten() {
                    assert!(
                        var["valueFrom"]["secretKeyRef"].is_null(),
                        "{env} {name}: {:?} from a Secret in the environment",
                        var["name"]
                    );
                    let var_name = var["name"].as_str().unwrap();
                    if var_name.contains("PASSWORD") || var_name.contains("SECRET") {
                        assert!(
                            var_name.ends_with("_FILE"),
                            "{env} {name}: {var_name} is a literal"
                        );
                    }
                }
            }
        }
        for secret in kind(env, "Secret") {
            let others: String = rendered(env)
                .text
                .split("\n---")
                .filter(|doc| !doc.contains("kind: Secret"))
                .collect();
            for (key, encoded) in secret["data"].as_mapping().unwrap() {
                let encoded = encoded.as_str().unwrap();
                assert!(
                    !others.contains(encoded),
                    "{env}: secret {key:?} appears outside its Secret"
                );
            }
        }
        // Each container mounts only the secrets it uses: serve its own role's password
        // and the auth keys, the migration Job the owner's password and the server role's
        // (to keep the role), the init steps the owner's, helm test nothing.
        let mounts = |spec: &Value, container: usize, init: bool| -> Vec<String> {
            let list = if init { "initContainers" } else { "containers" };
            spec[list][container]["volumeMounts"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|m| m["name"].as_str().map(str::to_owned))
                .filter(|m| m.ends_with("-password") || m == "auth")
                .collect()
        };
        let api = &one(env, "Deployment", "api")["spec"]["template"]["spec"];
        assert_eq!(
            mounts(api, 0, false),
            ["database-app-password", "auth", "redis-password"],
            "{env}: serve"
        );
        assert_eq!(
            mounts(api, 0, true),
            ["database-password"],
            "{env}: wait-for-database"
        );
        let job = &kind(env, "Job")[0]["spec"]["template"]["spec"];
        assert_eq!(
            mounts(job, 0, false),
            ["database-password", "database-app-password"],
            "{env}: migrate"
        );
        let env_of = |spec: &Value| -> Vec<(String, String)> {
            spec["containers"][0]["env"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|v| {
                    let text = |key: &str| v[key].as_str().unwrap_or_default().to_owned();
                    (text("name"), text("value"))
                })
                .collect()
        };
        let server_role = ("DB_USER".to_owned(), "api_app".to_owned());
        assert!(
            env_of(api).contains(&server_role),
            "{env}: serve connects as the app role"
        );
        assert!(
            env_of(job).contains(&("DB_APP_USER".to_owned(), "api_app".to_owned())),
            "{env}: migrate keeps the app role"
        );
        let smoke = &one(env, "Pod", "api-smoke-test")["spec"];
        assert!(
            mounts(smoke, 0, false).is_empty() && smoke["volumes"].is_null(),
            "{env}: helm test gets no secret"
        );
        let auth = api["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "auth")
            .unwrap();
        assert_eq!(auth["secret"]["items"][0]["key"], "jwt-secret", "{env}");
    }
    // prod brings its own Secrets: the chart makes none and points at them.
    assert!(kind("prod", "Secret").is_empty());
    assert!(one("dev", "Secret", "api-auth")["data"]["jwt-secret"].is_string());
    let volumes = &one("prod", "Deployment", "api")["spec"]["template"]["spec"]["volumes"];
    for (volume, key) in [
        ("database-password", "password"),
        ("database-app-password", "app-password"),
    ] {
        let secret = &volumes
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == volume)
            .unwrap()["secret"];
        assert_eq!(secret["secretName"], "api-database", "{volume}");
        assert_eq!(secret["items"][0]["key"], key, "{volume}");
    }
    assert_eq!(
        one("dev", "Secret", "api-database")["data"]
            .as_mapping()
            .unwrap()
            .keys()
            .filter_map(|k| k.as_str())
            .collect::<Vec<_>>(),
        ["password", "app-password"]
    );
    for values in ENVS.map(|env| std::fs::read_to_string(&rendered(env).values).unwrap()) {
        assert!(
            !values.to_ascii_lowercase().contains("password:"),
            "no password in rendered values"
        );
    }
}

#[test]
fn the_migration_job_runs_once_per_revision_before_pods_take_traffic() {
    for env in ENVS {
        let job = one(env, "Job", "api-migrate-1");
        assert!(
            job["metadata"]["annotations"].get("helm.sh/hook").is_none(),
            "{env}: a plain Job, not a hook"
        );
        let spec = &job["spec"]["template"]["spec"];
        assert_eq!(spec["restartPolicy"], "Never");
        assert!(job["spec"]["backoffLimit"].as_u64().is_some());
        assert_eq!(
            spec["containers"][0]["args"],
            Value::Sequence(vec!["migrate".into()])
        );
        let wait = &spec["initContainers"][0]["args"];
        assert_eq!(
            wait[0], "wait-db",
            "{env}: the Job waits for PostgreSQL first"
        );
        assert!(
            !wait
                .as_sequence()
                .unwrap()
                .contains(&"--for-migrations".into())
        );

        let api = &one(env, "Deployment", "api")["spec"]["template"]["spec"];
        let api_wait = api["initContainers"][0]["args"].as_sequence().unwrap();
        assert!(
            api_wait.contains(&"--for-migrations".into()),
            "{env}: api pods wait for the schema"
        );
        assert_eq!(
            api["initContainers"][0]["image"], api["containers"][0]["image"],
            "{env}: no extra image"
        );
    }
    // A new revision gets a new Job, so it never collides with the last one's immutable fields.
    let output = run(Command::new(helm())
        .args(["template", "api"])
        .arg(chart())
        .args([
            "--set",
            "image.tag=t",
            "--set",
            "fullnameOverride=api",
            "--show-only",
            "templates/api/migration-job.yaml",
        ])
        .args(["--is-upgrade"]));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("name: api-migrate-"),
        "{}",
        text(&output)
    );
}

#[test]
fn network_policies_deny_by_default_and_open_only_what_is_needed() {
    for env in ENVS {
        let deny = one(env, "NetworkPolicy", "api-default-deny");
        assert_eq!(
            deny["spec"]["policyTypes"],
            Value::Sequence(vec!["Ingress".into(), "Egress".into()])
        );
        assert!(deny["spec"].get("ingress").is_none() && deny["spec"].get("egress").is_none());
        let api = one(env, "NetworkPolicy", "api");
        let from = &api["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"];
        assert_eq!(from["kubernetes.io/metadata.name"], "ingress-nginx");
        let egress_ports: Vec<&Value> = api["spec"]["egress"]
            .as_sequence()
            .unwrap()
            .iter()
            .flat_map(|rule| rule["ports"].as_sequence().unwrap())
            .map(|p| &p["port"])
            .collect();
        assert!(
            egress_ports.contains(&&Value::from(5432)) && egress_ports.contains(&&Value::from(53)),
            "{env}"
        );
        one(env, "NetworkPolicy", "api-migrate");
    }
    let db = one("dev", "NetworkPolicy", "api-postgresql");
    let from = &db["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"];
    assert_eq!(from["api-platform/database-client"], "true");
    let prod_api = one("prod", "NetworkPolicy", "api");
    assert_eq!(
        prod_api["spec"]["egress"][0]["to"][0]["ipBlock"]["cidr"],
        "10.20.0.0/16"
    );
}

#[test]
fn redis_runs_in_the_chart_for_dev_and_staging_and_outside_it_in_prod() {
    for env in ["dev", "staging"] {
        let config = &one(env, "ConfigMap", "api")["data"];
        assert_eq!(config["REDIS_URL"], "redis://api-redis:6379/0", "{env}");
        assert_eq!(
            config["REDIS_KEY_PREFIX"], "api:limits:",
            "one prefix per release"
        );
        let redis = one(env, "StatefulSet", "api-redis");
        let pod = &redis["spec"]["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{env}");
        let container = &pod["containers"][0];
        assert_eq!(
            container["securityContext"]["readOnlyRootFilesystem"], true,
            "{env}"
        );
        assert!(
            container["image"].as_str().unwrap().starts_with("redis:"),
            "the official image: {env}"
        );
        let command = container["command"][2].as_str().unwrap();
        assert!(
            command.contains("--requirepass \"$(cat /etc/redis/secret/password)\""),
            "the password comes from the Secret's file: {command}"
        );
        assert!(
            container.get("env").is_none(),
            "no secret in the environment"
        );
        // Only the api reaches it.
        let policy = one(env, "NetworkPolicy", "api-redis");
        let from = &policy["spec"]["ingress"][0]["from"];
        assert_eq!(from.as_sequence().unwrap().len(), 1, "{env}");
        assert_eq!(
            from[0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"],
            "api"
        );
        let api = one(env, "NetworkPolicy", "api");
        assert!(
            api["spec"]["egress"].as_sequence().unwrap().iter().any(
                |rule| rule["ports"][0]["port"] == 6379
                    && rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                        == "redis"
            ),
            "{env}"
        );
    }
    assert!(
        kind("prod", "StatefulSet").is_empty(),
        "prod runs neither PostgreSQL nor Redis"
    );
    let prod = &one("prod", "ConfigMap", "api")["data"];
    assert_eq!(prod["REDIS_URL"], "redis://redis.prod.internal:6379/0");
    for env in ["staging", "prod"] {
        assert_eq!(
            one(env, "ConfigMap", "api")["data"]["TRUSTED_PROXIES"],
            "10.0.0.0/8",
            "{env}: the limits see clients, not the ingress controller"
        );
    }
    let api = &one("prod", "Deployment", "api")["spec"]["template"]["spec"];
    let volume = api["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "redis-password")
        .unwrap();
    assert_eq!(volume["secret"]["secretName"], "api-redis");
    let egress = &one("prod", "NetworkPolicy", "api")["spec"]["egress"];
    assert!(
        egress
            .as_sequence()
            .unwrap()
            .iter()
            .any(|rule| rule["ports"][0]["port"] == 6379
                && rule["to"][0]["ipBlock"]["cidr"] == "10.20.0.0/16"),
        "{egress:?}"
    );
}

#[test]
fn the_worker_runs_beside_the_api_with_rabbitmq_in_the_chart_for_dev_and_staging_and_outside_it_in_prod()
 {
    for env in ENVS {
        let worker = one(env, "Deployment", "api-worker");
        let api = one(env, "Deployment", "api");
        let pod = &worker["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        assert_eq!(container["args"][0], "worker", "{env}");
        assert_eq!(
            container["image"], api["spec"]["template"]["spec"]["containers"][0]["image"],
            "{env}: the api's own image"
        );
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(pod["initContainers"][0]["args"][0], "wait-db", "{env}");
        let env_vars: Vec<&str> = container["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect();
        assert!(
            env_vars.contains(&"AMQP_PASSWORD_FILE"),
            "{env}: {env_vars:?}"
        );
        assert!(
            !env_vars.contains(&"JWT_SECRET_FILE"),
            "{env}: the worker signs no tokens, so gets no key"
        );
        let amqp = pod["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "amqp-password")
            .unwrap();
        let config = &one(env, "ConfigMap", "api")["data"];
        assert_eq!(config["AMQP_USER"], "bank", "{env}");
        assert_eq!(config["AMQP_EXCHANGE"], "bank.events", "{env}");
        assert_eq!(config["AMQP_QUEUE"], "bank.notifications", "{env}");
        assert_eq!(config["WORKER_PORT"], "8001", "{env}");
        let egress = &one(env, "NetworkPolicy", "api-worker")["spec"]["egress"];
        let reaches = |port: u64| {
            egress
                .as_sequence()
                .unwrap()
                .iter()
                .any(|rule| rule["ports"][0]["port"] == port)
        };
        assert!(reaches(5432) && reaches(53), "{env}: {egress:?}");
        if env == "prod" {
            assert_eq!(config["AMQP_HOST"], "rabbitmq.prod.internal");
            assert_eq!(
                (&config["AMQP_PORT"], &config["AMQP_TLS"]),
                (&"5671".into(), &"true".into())
            );
            assert_eq!(
                amqp["secret"]["secretName"], "api-rabbitmq",
                "made outside the chart"
            );
            assert!(reaches(5671), "{egress:?}");
            assert_eq!(worker["spec"]["replicas"], 2);
            one("prod", "PodDisruptionBudget", "api-worker");
            continue;
        }
        assert_eq!(config["AMQP_HOST"], "api-rabbitmq", "{env}");
        assert_eq!(
            (&config["AMQP_PORT"], &config["AMQP_TLS"]),
            (&"5672".into(), &"false".into())
        );
        assert_eq!(amqp["secret"]["secretName"], "api-rabbitmq", "{env}");
        assert!(reaches(5672), "{env}: {egress:?}");
        assert!(
            kind(env, "PodDisruptionBudget")
                .iter()
                .all(|pdb| pdb["metadata"]["name"] != "api-worker"),
            "{env}: one worker, no budget"
        );

        let rabbitmq = one(env, "StatefulSet", "api-rabbitmq");
        let pod = &rabbitmq["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        assert!(
            container["image"]
                .as_str()
                .unwrap()
                .starts_with("rabbitmq:"),
            "the official image: {env}"
        );
        assert_eq!(
            container["livenessProbe"]["exec"]["command"],
            serde_yaml::from_str::<Value>("[rabbitmq-diagnostics, -q, ping]").unwrap(),
            "its own diagnostics"
        );
        assert_eq!(
            container["readinessProbe"]["exec"]["command"][2],
            "check_port_connectivity"
        );
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{env}");
        assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
        let mounts: Vec<&str> = container["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|m| m["mountPath"].as_str().unwrap())
            .collect();
        assert_eq!(
            mounts,
            [
                "/var/lib/rabbitmq",
                "/tmp",
                "/etc/rabbitmq/conf.d/20-credentials.conf"
            ],
            "{env}: data on the volume; the credentials as a file"
        );
        assert!(
            container["env"]
                .as_sequence()
                .unwrap()
                .iter()
                .all(|v| !v["name"].as_str().unwrap().contains("PASS")),
            "{env}: no password in the environment"
        );
        let claims = rabbitmq["spec"]["volumeClaimTemplates"]
            .as_sequence()
            .unwrap();
        assert_eq!(claims.len(), 1, "{env}: messages survive a restart");
        let secret = one(env, "Secret", "api-rabbitmq");
        assert!(secret["data"]["rabbitmq-password"].is_string());
        assert!(secret["data"]["credentials.conf"].is_string());
        // Only the worker reaches it.
        let from = &one(env, "NetworkPolicy", "api-rabbitmq")["spec"]["ingress"][0]["from"];
        assert_eq!(from.as_sequence().unwrap().len(), 1);
        assert_eq!(
            from[0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"],
            "worker"
        );
    }
    let without = documents(&template_with(&["image.tag=t", "worker.enabled=false"]));
    assert!(
        without.iter().all(|d| {
            let name = d["metadata"]["name"].as_str().unwrap_or_default();
            !name.contains("worker") && !name.contains("rabbitmq")
        }),
        "no worker: no broker either"
    );
    let external = template_with(&["image.tag=t", "rabbitmq.enabled=false"]);
    assert!(!external.status.success());
    assert!(
        text(&external).contains("rabbitmq.external.host is required"),
        "{}",
        text(&external)
    );
}

#[test]
fn an_external_redis_needs_its_password_secret_and_the_account_limit_stays_above_one_address() {
    let external = template_with(&[
        "image.tag=t",
        "redis.enabled=false",
        "redis.externalUrl=redis://cache:6379/0",
    ]);
    assert!(!external.status.success());
    assert!(
        text(&external).contains("set redis.existingSecret"),
        "{}",
        text(&external)
    );
    let without = documents(&template_with(&["image.tag=t", "redis.enabled=false"]));
    let config = without.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    assert!(
        config["data"].get("REDIS_URL").is_none(),
        "no Redis: per-replica limits"
    );
    let locked = template_with(&["image.tag=t", "auth.loginAttemptsPerAccountPerMinute=5"]);
    assert!(!locked.status.success());
    assert!(
        text(&locked).contains("one address could lock an account"),
        "{}",
        text(&locked)
    );
}

#[test]
fn config_and_secret_changes_roll_the_pods() {
    let dev = one("dev", "Deployment", "api");
    let annotations = &dev["spec"]["template"]["metadata"]["annotations"];
    assert!(annotations["checksum/config"].as_str().unwrap().len() == 64);
    assert!(annotations["checksum/secret"].is_string());
    assert_eq!(
        annotations["app.kubernetes.io/git-revision"]
            .as_str()
            .map(|r| r.len() >= 7),
        Some(true)
    );
    let prod = one("prod", "Deployment", "api");
    assert!(
        prod["spec"]["template"]["metadata"]["annotations"]
            .get("checksum/secret")
            .is_none(),
        "prod's Secret is not the chart's"
    );
    let grace = dev["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .unwrap();
    let drain = one("dev", "ConfigMap", "api")["data"]["SHUTDOWN_GRACE_PERIOD"]
        .as_str()
        .unwrap()
        .trim_end_matches('s')
        .parse::<u64>()
        .unwrap();
    assert!(
        grace > drain,
        "terminationGracePeriodSeconds {grace} must exceed the drain time {drain}"
    );
}

#[test]
fn every_object_carries_the_standard_labels() {
    for env in ENVS {
        for doc in &rendered(env).docs {
            let labels = &doc["metadata"]["labels"];
            for key in [
                "app.kubernetes.io/name",
                "app.kubernetes.io/instance",
                "app.kubernetes.io/managed-by",
                "helm.sh/chart",
            ] {
                assert!(
                    labels[key].is_string(),
                    "{env} {}/{}: {key}",
                    doc["kind"].as_str().unwrap(),
                    doc["metadata"]["name"].as_str().unwrap()
                );
            }
        }
    }
}

/// `helm template` of the chart alone with `--set` pairs.
fn template_with(sets: &[&str]) -> Output {
    let mut command = Command::new(helm());
    command.args(["template", "api"]).arg(chart());
    for set in sets {
        command.args(["--set", set]);
    }
    run(&mut command)
}

/// The objects of a successful `helm template` (see `template_with`).
fn documents(output: &Output) -> Vec<Value> {
    assert!(output.status.success(), "{}", text(output));
    serde_yaml::Deserializer::from_str(&String::from_utf8_lossy(&output.stdout))
        .map(|doc| Value::deserialize(doc).unwrap())
        .filter(|doc| !doc.is_null())
        .collect()
}

#[test]
fn bad_values_fail_with_the_schema_error() {
    let cases: BTreeMap<&str, (Vec<&str>, &str)> = BTreeMap::from([
        (
            "string replicaCount",
            (
                vec!["image.tag=t", "replicaCount=three"],
                "/replicaCount': got string, want integer",
            ),
        ),
        (
            "a secret in extraEnv",
            (
                vec![
                    "image.tag=t",
                    "app.extraEnv[0].name=PAYMENT_API_TOKEN",
                    "app.extraEnv[0].value=abc",
                ],
                "/app/extraEnv/0/name",
            ),
        ),
        (
            "unknown key",
            (
                vec!["image.tag=t", "replicas=3"],
                "additional properties 'replicas' not allowed",
            ),
        ),
        (
            "missing tag",
            (vec![], "/image/tag': minLength: got 0, want 1"),
        ),
        ("bad env", (vec!["image.tag=t", "app.env=qa"], "/app/env")),
        (
            "bad duration",
            (
                vec!["image.tag=t", "app.requestTimeout=soon"],
                "/app/requestTimeout",
            ),
        ),
        (
            "bad digest",
            (vec!["image.digest=sha256:nothex"], "/image/digest"),
        ),
    ]);
    for (case, (sets, expected)) in cases {
        let output = template_with(&sets);
        assert!(!output.status.success(), "{case}: accepted");
        assert!(
            text(&output).contains(expected),
            "{case}: {}",
            text(&output)
        );
    }
    let external_without_password = template_with(&[
        "image.tag=t",
        "postgresql.enabled=false",
        "database.host=db",
    ]);
    assert!(
        text(&external_without_password).contains("database.existingSecret"),
        "{}",
        text(&external_without_password)
    );
    let external_without_host = template_with(&[
        "image.tag=t",
        "postgresql.enabled=false",
        "database.existingSecret=s",
    ]);
    assert!(
        text(&external_without_host).contains("database.host is required"),
        "{}",
        text(&external_without_host)
    );
}

#[test]
fn metrics_are_scrapable_by_annotation_or_service_monitor() {
    let annotations =
        &one("dev", "Deployment", "api")["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    assert!(
        kind("dev", "ServiceMonitor").is_empty(),
        "off by default: it needs the Prometheus Operator's CRD"
    );
    let api_policy = one("dev", "NetworkPolicy", "api");
    let sources = api_policy["spec"]["ingress"][0]["from"]
        .as_sequence()
        .unwrap();
    assert!(sources.iter().any(
        |s| s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "monitoring"
    ));

    let output = template_with(&[
        "image.tag=t",
        "fullnameOverride=api",
        "metrics.serviceMonitor.enabled=true",
        "metrics.serviceMonitor.labels.release=prometheus",
    ]);
    let docs = documents(&output);
    let monitor = docs
        .iter()
        .find(|d| d["kind"] == "ServiceMonitor")
        .expect("a ServiceMonitor");
    let service = docs
        .iter()
        .find(|d| d["kind"] == "Service" && d["metadata"]["name"] == "api")
        .unwrap();
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    assert!(matches(
        &monitor["spec"]["selector"]["matchLabels"],
        &service["metadata"]["labels"]
    ));
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "http");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
}

#[test]
fn every_object_names_its_namespace_so_a_plain_kubectl_apply_lands_there() {
    for env in ENVS {
        for doc in &rendered(env).docs {
            assert_eq!(
                doc["metadata"]["namespace"].as_str(),
                Some(format!("api-{env}").as_str()),
                "{env}: {} {:?} has no metadata.namespace",
                doc["kind"].as_str().unwrap_or_default(),
                doc["metadata"]["name"]
            );
        }
    }
}

#[test]
fn dns_disruptions_and_spreading_work_on_common_clusters() {
    for env in ENVS {
        // Node-local DNS caches and OpenShift's resolvers are not `k8s-app=kube-dns` pods:
        // DNS goes to port 53 anywhere.
        for policy in kind(env, "NetworkPolicy") {
            for rule in policy["spec"]["egress"].as_sequence().into_iter().flatten() {
                let dns = rule["ports"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .any(|p| p["port"] == 53);
                assert!(
                    !dns || rule["to"].is_null(),
                    "{env}: {:?} limits DNS to some pods",
                    policy["metadata"]["name"]
                );
            }
        }
        // A database outage makes every api pod unready; drains must still go on.
        for pdb in kind(env, "PodDisruptionBudget") {
            assert_eq!(
                pdb["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow",
                "{env}"
            );
        }
        for hpa in kind(env, "HorizontalPodAutoscaler") {
            let metrics: Vec<&str> = hpa["spec"]["metrics"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(|m| m["resource"]["name"].as_str())
                .collect();
            assert_eq!(
                metrics,
                ["cpu"],
                "{env}: one password hash is most of a small memory request; scale on CPU"
            );
        }
        let deployment = one(env, "Deployment", "api");
        for spread in deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            assert_eq!(
                spread["matchLabelKeys"][0], "pod-template-hash",
                "{env}: old and new ReplicaSets counted apart"
            );
            assert_eq!(
                spread["whenUnsatisfiable"], "ScheduleAnyway",
                "{env}: nodes without zone labels still schedule"
            );
        }
    }
}

#[test]
fn prods_database_ca_reaches_every_container_that_connects() {
    let config = one("prod", "ConfigMap", "api");
    assert_eq!(config["data"]["DB_SSLMODE"], "verify-full");
    assert_eq!(
        config["data"]["DB_SSLROOTCERT"],
        "/etc/api/database-ca/ca.crt"
    );
    for (source, spec, _) in pod_specs("prod") {
        if source.contains("postgresql") || source.contains("smoke") {
            continue;
        }
        let volume = spec["volumes"]
            .as_sequence()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == "database-ca");
        let volume = volume.unwrap_or_else(|| panic!("{source}: no database-ca volume"));
        assert_eq!(volume["configMap"]["name"], "database-ca", "{source}");
        for (container, _) in containers(spec) {
            let mounted = container["volumeMounts"]
                .as_sequence()
                .into_iter()
                .flatten()
                .any(|m| {
                    m["name"] == "database-ca"
                        && m["mountPath"] == "/etc/api/database-ca"
                        && m["readOnly"] == true
                });
            assert!(
                mounted,
                "{source}: container {:?} cannot read the CA",
                container["name"]
            );
        }
    }
    assert!(
        one("dev", "ConfigMap", "api")["data"]["DB_SSLROOTCERT"].is_null(),
        "no CA unless one is set"
    );
}

#[test]
fn ingress_sources_other_than_the_usual_controller_can_be_let_in() {
    let base = ["image.tag=v1", "networkPolicy.enabled=true"];
    let api_policy = |sets: &[&str]| -> Value {
        documents(&template_with(&[&base[..], sets].concat()))
            .into_iter()
            .find(|d| d["kind"] == "NetworkPolicy" && d["metadata"]["name"] == "api-api-platform")
            .unwrap()
    };
    let extra =
        api_policy(&["networkPolicy.extraIngress[0].namespaceSelector.matchLabels.team=routing"]);
    let sources = extra["spec"]["ingress"][0]["from"].as_sequence().unwrap();
    assert!(
        sources
            .iter()
            .any(|s| s["namespaceSelector"]["matchLabels"]["team"] == "routing"),
        "{sources:?}"
    );
    let open = api_policy(&["networkPolicy.allowExternal=true"]);
    let rules = open["spec"]["ingress"].as_sequence().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["from"].is_null() && r["ports"][0]["port"] == "http"),
        "{rules:?}"
    );
    // A NodePort Service is reached from outside the cluster: say what to set.
    let refused = template_with(&[&base[..], &["service.type=NodePort"]].concat());
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("set networkPolicy.allowExternal=true"),
        "{}",
        text(&refused)
    );
}

#[test]
fn environments_smoke_tested_over_https_use_publicly_trusted_certificates() {
    for env in ["staging", "prod"] {
        let ingress = one(env, "Ingress", "api");
        let issuer = ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
            .as_str()
            .unwrap_or_default();
        assert!(
            !issuer.contains("staging"),
            "{env}: the smoke step cannot trust {issuer}'s certificates"
        );
    }
}

#[test]
fn the_pods_stop_budget_covers_the_drain_and_durations_read_as_the_app_reads_them() {
    for env in ENVS {
        let config = one(env, "ConfigMap", "api");
        assert!(
            config["data"]["SHUTDOWN_DELAY"]
                .as_str()
                .is_some_and(|d| d != "0s"),
            "{env}: the api keeps serving while traffic moves away"
        );
    }
    let base = ["image.tag=v1"];
    let render = |sets: &[&str]| template_with(&[&base[..], sets].concat());
    let short = render(&[
        "terminationGracePeriodSeconds=30",
        "app.shutdownGracePeriod=60s",
    ]);
    assert!(!short.status.success());
    assert!(text(&short).contains("terminationGracePeriodSeconds (30) must be at least app.shutdownDelay + app.shutdownGracePeriod (65s)"), "{}", text(&short));
    let cut = render(&["app.requestTimeout=2min", "app.shutdownGracePeriod=30sec"]);
    assert!(
        text(&cut)
            .contains("app.shutdownGracePeriod (30s) must be at least app.requestTimeout (120s)"),
        "{}",
        text(&cut)
    );
    // Every form the api accepts is accepted here too.
    let accepted = render(&[
        "app.requestTimeout=20",
        "app.readinessTimeout=1500ms",
        "app.shutdownGracePeriod=1min",
        "terminationGracePeriodSeconds=70",
    ]);
    assert!(accepted.status.success(), "{}", text(&accepted));
    let refused = render(&["app.requestTimeout=soon"]);
    assert!(
        !refused.status.success() && text(&refused).contains("requestTimeout"),
        "{}",
        text(&refused)
    );
}

/// Mebibytes in a memory quantity (`128Mi`, `1Gi`).
fn mebibytes(quantity: &str) -> u64 {
    match quantity.strip_suffix("Gi") {
        Some(gi) => gi.parse::<u64>().unwrap() * 1024,
        None => quantity.trim_end_matches("Mi").parse().unwrap(),
    }
}

#[test]
fn the_api_memory_limit_holds_its_password_hashing() {
    for env in ENVS {
        let config = one(env, "ConfigMap", "api");
        let concurrency: u64 = config["data"]["PASSWORD_HASHING_CONCURRENCY"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let deployment = one(env, "Deployment", "api");
        let api = &deployment["spec"]["template"]["spec"]["containers"][0];
        let limit = mebibytes(api["resources"]["limits"]["memory"].as_str().unwrap());
        // Measured: 24 MiB at rest, 19.5 MiB per concurrent hash (see values.yaml).
        assert!(
            limit >= 30 + 20 * concurrency,
            "{env}: {limit}Mi cannot hold {concurrency} concurrent hashes"
        );
    }
}

#[test]
fn metrics_database_checks_and_api_docs_stay_off_the_public_ingress() {
    const PRIVATE: [&str; 4] = ["/metrics", "/db-check", "/docs", "/openapi.json"];
    for env in ENVS {
        for ingress in kind(env, "Ingress") {
            for rule in ingress["spec"]["rules"].as_sequence().into_iter().flatten() {
                for path in rule["http"]["paths"].as_sequence().into_iter().flatten() {
                    let (route, kind) = (
                        path["path"].as_str().unwrap(),
                        path["pathType"].as_str().unwrap(),
                    );
                    for private in PRIVATE {
                        let routed = match kind {
                            "Exact" => route == private,
                            _ => {
                                private.starts_with(route)
                                    && (route == "/"
                                        || private[route.len()..].is_empty()
                                        || private[route.len()..].starts_with('/'))
                            }
                        };
                        assert!(
                            !routed,
                            "{env}: {route} ({kind}) routes {private} to the internet"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn every_ingress_routes_the_web_app_beside_the_api() {
    let mut ingresses = 0;
    for env in ENVS {
        for ingress in kind(env, "Ingress") {
            ingresses += 1;
            for rule in ingress["spec"]["rules"].as_sequence().into_iter().flatten() {
                let routes: Vec<(&str, &str)> = rule["http"]["paths"]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .map(|path| {
                        (
                            path["path"].as_str().unwrap(),
                            path["pathType"].as_str().unwrap(),
                        )
                    })
                    .collect();
                for wanted in [("/api", "Prefix"), ("/app", "Prefix")] {
                    assert!(
                        routes.contains(&wanted),
                        "{env}: {wanted:?} not in {routes:?}"
                    );
                }
            }
        }
    }
    assert!(ingresses > 0, "no overlay renders an Ingress");
}

#[test]
fn every_in_chart_database_keeps_its_data_across_restarts() {
    for env in ["dev", "staging"] {
        let postgres = one(env, "StatefulSet", "api-postgresql");
        let claims = postgres["spec"]["volumeClaimTemplates"]
            .as_sequence()
            .map_or(0, Vec::len);
        assert_eq!(
            claims, 1,
            "{env}: a restarted PostgreSQL would come back empty and unmigrated"
        );
    }
}

#[test]
fn values_the_api_server_would_reject_are_refused_and_values_it_accepts_pass() {
    let refused = [
        (
            vec!["podDisruptionBudget.minAvailable=abc"],
            "/podDisruptionBudget/minAvailable",
        ),
        (
            vec![
                "autoscaling.enabled=true",
                "autoscaling.minReplicas=5",
                "autoscaling.maxReplicas=2",
            ],
            "autoscaling.minReplicas (5) is above autoscaling.maxReplicas (2)",
        ),
        (
            vec!["networkPolicy.externalDatabaseCIDR=db.example.com"],
            "/networkPolicy/externalDatabaseCIDR",
        ),
        (
            vec!["resources.requests.memory=lots"],
            "/resources/requests/memory",
        ),
        (
            vec!["fullnameOverride=a-name-that-is-far-too-long-for-every-derived-object-name"],
            "/fullnameOverride",
        ),
        (
            vec![
                "app.extraEnv[0].name=DB_SSLMODE",
                "app.extraEnv[0].value=disable",
            ],
            "app.extraEnv sets DB_SSLMODE, which the chart sets itself",
        ),
        (vec!["image.tag=latest"], "/image/tag"),
    ];
    for (sets, expected) in refused {
        let sets: Vec<&str> = [&["image.tag=v1"][..], &sets].concat();
        let output = template_with(&sets);
        assert!(!output.status.success(), "{sets:?}: accepted");
        assert!(
            text(&output).contains(expected),
            "{sets:?}: {}",
            text(&output)
        );
    }
    let accepted = [
        vec![
            "autoscaling.enabled=true",
            "autoscaling.targetCPUUtilizationPercentage=150",
        ],
        vec![
            "podDisruptionBudget.enabled=true",
            "podDisruptionBudget.minAvailable=50%",
        ],
        vec![
            "ingress.enabled=true",
            "ingress.hosts[0].paths[0].path=/api",
            "ingress.hosts[0].paths[0].pathType=Prefix",
        ],
        vec!["resources.limits.cpu=1.5", "resources.requests.memory=100M"],
    ];
    for sets in accepted {
        let sets: Vec<&str> = [&["image.tag=v1"][..], &sets].concat();
        let output = template_with(&sets);
        assert!(output.status.success(), "{sets:?}: {}", text(&output));
    }
}

#[test]
fn postgresql_starts_fast_on_large_volumes_and_has_its_shared_memory() {
    for env in ["dev", "staging"] {
        let spec = &one(env, "StatefulSet", "api-postgresql")["spec"]["template"]["spec"];
        assert_eq!(
            spec["securityContext"]["fsGroupChangePolicy"], "OnRootMismatch",
            "{env}"
        );
        let shm = spec["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "shm")
            .unwrap();
        assert_eq!(shm["emptyDir"]["medium"], "Memory", "{env}");
        let mounted = spec["containers"][0]["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|m| m["mountPath"] == "/dev/shm");
        assert!(mounted, "{env}");
    }
}

#[test]
fn postgresql_can_be_pinned_and_sorts_text_alike_on_every_c_library() {
    for env in ["dev", "staging"] {
        let container =
            &one(env, "StatefulSet", "api-postgresql")["spec"]["template"]["spec"]["containers"][0];
        let initdb = container["env"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "POSTGRES_INITDB_ARGS")
            .unwrap_or_else(|| panic!("{env}: no POSTGRES_INITDB_ARGS"));
        assert!(
            initdb["value"]
                .as_str()
                .unwrap()
                .contains("--locale-provider=builtin --builtin-locale=C.UTF-8"),
            "{env}: {initdb:?}"
        );
    }
    let digest = format!("sha256:{}", "ab".repeat(32));
    let pinned = documents(&template_with(&[
        "image.tag=v1",
        &format!("postgresql.image.digest={digest}"),
    ]));
    let statefulset = pinned.iter().find(|d| d["kind"] == "StatefulSet").unwrap();
    assert_eq!(
        statefulset["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("postgres@{digest}").as_str()
    );
}

#[test]
fn finished_migration_jobs_are_kept_unless_a_kubernetes_ttl_is_given() {
    let ttl = |sets: &[&str]| -> Value {
        let docs = documents(&template_with(&[&["image.tag=v1"][..], sets].concat()));
        let job = docs.iter().find(|d| d["kind"] == "Job").unwrap();
        job["spec"]["ttlSecondsAfterFinished"].clone()
    };
    assert!(ttl(&[]).is_null(), "kept by default");
    assert_eq!(
        ttl(&["migrations.ttlSecondsAfterFinished=0"]),
        0,
        "0 is Kubernetes' 0"
    );
    assert_eq!(ttl(&["migrations.ttlSecondsAfterFinished=600"]), 600);
}

#[test]
fn staging_and_prod_render_only_by_digest_and_pull_always() {
    for env in ["staging", "prod"] {
        let refused = run(Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["render", env, "--tag", "0123456789ab", "--out-dir"])
            .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("no-digest-{env}"))));
        assert!(!refused.status.success());
        assert!(
            text(&refused).contains(&format!(
                "{env} deploys images by digest only (image.requireDigest in overlays/{env}/deploy.yaml): pass --digest"
            )),
            "{}",
            text(&refused)
        );
        for (name, spec, _) in pod_specs(env) {
            for (container, _) in containers(spec) {
                let image = container["image"].as_str().unwrap();
                if image.contains("/api") {
                    assert_eq!(
                        image,
                        format!("registry.example.com/platform/api@{DIGEST}"),
                        "{env} {name}"
                    );
                }
                assert_eq!(
                    container["imagePullPolicy"], "Always",
                    "{env} {name}: {image}"
                );
            }
        }
    }
    // A hand-run helm upgrade with the overlay's values and no digest is refused too.
    let by_hand = template_with(&["image.tag=v1", "image.requireDigest=true"]);
    assert!(!by_hand.status.success());
    assert!(
        text(&by_hand).contains("image.digest is required (image.requireDigest is true)"),
        "{}",
        text(&by_hand)
    );
}

#[test]
fn trusted_proxies_reach_the_api_and_a_malformed_range_is_refused() {
    let docs = documents(&template_with(&[
        "image.tag=v1",
        "app.trustedProxies={10.244.0.0/16,fd00::/8}",
    ]));
    let config = docs.iter().find(|d| d["kind"] == "ConfigMap").unwrap();
    assert_eq!(config["data"]["TRUSTED_PROXIES"], "10.244.0.0/16,fd00::/8");
    let refused = template_with(&["image.tag=v1", "app.trustedProxies={ingress-nginx}"]);
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("/app/trustedProxies/0"),
        "{}",
        text(&refused)
    );
}

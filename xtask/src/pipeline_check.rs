//! The Jenkinsfile cannot drift from the command line: every `cargo xtask ...` it runs
//! must parse with the real clap definition, and its stages must come in the order the
//! delivery process needs.

use clap::Parser;

use crate::Cli;

const JENKINSFILE: &str = include_str!("../../Jenkinsfile");

const SAMPLE_DIGEST: &str =
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Every `cargo xtask` command line in the pipeline's `sh` steps, with shell variables
/// replaced by sample values and quotes removed.
fn xtask_invocations(pipeline: &str) -> Vec<Vec<String>> {
    pipeline
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("sh ") && !line.starts_with("//"))
        .filter_map(|line| {
            let start = line.find("cargo xtask ")?;
            let quote = line[..start].chars().last()?;
            let command = &line[start..];
            let command = command.split(quote).next().unwrap_or(command);
            Some(shell_words(&substitute(command)))
        })
        .collect()
}

fn substitute(command: &str) -> String {
    command
        .replace(
            "\"$IMAGE_REPOSITORY:$IMAGE_TAG\"",
            "registry.example.com/platform/api:0123456789ab",
        )
        .replace("$IMAGE_REPOSITORY", "registry.example.com/platform/api")
        .replace("$IMAGE_TAG", "0123456789ab")
        .replace("$IMAGE_DIGEST", SAMPLE_DIGEST)
}

fn shell_words(command: &str) -> Vec<String> {
    command
        .split_whitespace()
        .map(|word| word.trim_matches('"').to_owned())
        .collect()
}

fn stages(pipeline: &str) -> Vec<String> {
    pipeline
        .lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix("stage('")?
                .split('\'')
                .next()
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn every_xtask_command_in_the_jenkinsfile_parses() {
    let invocations = xtask_invocations(JENKINSFILE);
    assert!(invocations.len() >= 9, "found only {invocations:?}");
    for words in invocations {
        // ["cargo", "xtask", task, args...] -> clap sees the binary name then the rest.
        let argv = std::iter::once("cargo xtask".to_owned()).chain(words.into_iter().skip(2));
        let argv: Vec<String> = argv.collect();
        if let Err(err) = Cli::try_parse_from(&argv) {
            panic!(
                "Jenkinsfile runs `{}`, which the CLI rejects:\n{err}",
                argv[1..].join(" ")
            );
        }
    }
}

#[test]
fn deploys_use_yes_and_the_built_tag() {
    let deploys: Vec<Vec<String>> = xtask_invocations(JENKINSFILE)
        .into_iter()
        .filter(|w| w.get(2).map(String::as_str) == Some("deploy"))
        .collect();
    let envs: Vec<&str> = deploys.iter().map(|w| w[3].as_str()).collect();
    assert_eq!(envs, ["dev", "staging", "prod"]);
    for words in &deploys {
        let line = words.join(" ");
        assert!(
            line.contains("--yes") && line.contains("--tag 0123456789ab"),
            "{line}"
        );
        // Overlays that deploy only by digest get the pushed one.
        let overlay = crate::overlay::load(&crate::overlay::overlays_dir(), &words[3]).unwrap();
        assert_eq!(
            line.contains(&format!("--digest {SAMPLE_DIGEST}")),
            overlay.settings.image.require_digest,
            "{line}"
        );
    }
}

#[test]
fn stages_come_in_the_delivery_order() {
    assert_eq!(
        stages(JENKINSFILE),
        [
            "Checkout",
            "Test",
            "Chart lint",
            "Build image",
            "Scan",
            "Image vulnerabilities",
            "Dependency audit",
            "Push",
            "Deploy dev",
            "Deploy staging",
            "Approve prod",
            "Deploy prod",
        ]
    );
    let approve = JENKINSFILE.find("stage('Approve prod')").unwrap();
    assert!(
        JENKINSFILE[approve..].contains("input message:"),
        "prod waits for a person"
    );
    for lock in ["api-deploy-dev", "api-deploy-staging", "api-deploy-prod"] {
        assert!(
            JENKINSFILE.contains(&format!("lock(resource: '{lock}')")),
            "{lock}"
        );
    }
    assert!(
        JENKINSFILE.contains("disableConcurrentBuilds()") && JENKINSFILE.contains("timestamps()")
    );
}

#[test]
fn credentials_only_come_from_bindings() {
    for (number, line) in JENKINSFILE.lines().enumerate() {
        let lower = line.to_ascii_lowercase();
        if lower.contains("password") && !lower.trim_start().starts_with("//") {
            assert!(
                line.contains("withCredentials") || line.contains("$REGISTRY_PASSWORD"),
                "line {}: a password outside a credentials binding: {line}",
                number + 1
            );
        }
    }
    assert!(
        JENKINSFILE.contains("withCredentials([usernamePassword(credentialsId: 'api-registry'")
    );
    assert!(JENKINSFILE.contains("file(credentialsId: 'kubeconfig-prod', variable: 'KUBECONFIG')"));
}

#[test]
fn the_extraction_itself_works() {
    let sample = "sh 'cargo xtask deploy dev --yes --tag \"$IMAGE_TAG\"'\n// sh 'cargo xtask nope'\nsh \"echo\"";
    assert_eq!(
        xtask_invocations(sample),
        [[
            "cargo",
            "xtask",
            "deploy",
            "dev",
            "--yes",
            "--tag",
            "0123456789ab"
        ]]
    );
}

//! Ctrl-C (SIGINT) at each step of a deploy has one outcome, and never a surprise
//! rollback.

use std::process::Stdio;
use std::time::{Duration, Instant};

use kube_test_server::Scenario;

use super::{bed, interrupt, seed_release, start_deploy, writes};
use crate::testbed::TestBed;

/// Interrupts the deploy once a call made after the first `from` contains `needle`.
fn interrupt_at(
    bed: &TestBed,
    from: usize,
    child: std::process::Child,
    needle: &str,
) -> (Option<i32>, String) {
    bed.wait_for_call(from, needle);
    std::thread::sleep(Duration::from_millis(200));
    interrupt(child)
}

#[test]
fn ctrl_c_before_the_upgrade_applies_nothing() {
    let mut bed = TestBed::new("interrupt-preflight", Scenario::new());
    bed.rule_script("docker", "image inspect *", "sleep 3; echo '[{}]'");
    bed.commit();
    seed_release(&bed, "test", "good");
    let before = writes(&bed.server);
    let earlier = bed.calls().len();
    let child = start_deploy(&bed, "next");
    let (code, stderr) = interrupt_at(&bed, earlier, child, "docker image inspect");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("nothing was applied"), "{stderr}");
    assert!(
        !bed.calls().iter().any(|c| c.starts_with("helm upgrade")),
        "{:?}",
        bed.calls()
    );
    assert_eq!(writes(&bed.server), before, "{}", bed.server.request_log());
}

#[test]
fn ctrl_c_during_the_smoke_tests_rolls_nothing_back() {
    // An api that accepts connections and never answers: the smoke step is still
    // running when the Ctrl-C comes.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = silent.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let held: Vec<_> = silent.incoming().collect();
        drop(held);
    });
    let mut bed = TestBed::new("interrupt-smoke", Scenario::new());
    bed.image_exists().forward_to(&address);
    bed.commit();
    seed_release(&bed, "test", "good");
    let earlier = bed.calls().len();
    let child = start_deploy(&bed, "next");
    let (code, stderr) = interrupt_at(&bed, earlier, child, "port-forward");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(stderr.contains("revision 2 stays applied"), "{stderr}");
    assert!(
        !bed.calls().iter().any(|c| c.starts_with("helm rollback")),
        "{stderr}"
    );
    assert_eq!(bed.deployed_image("test"), "localhost:5001/api:next");
    assert_eq!(bed.last_record("test")["outcome"], "interrupted");
}

#[test]
fn ctrl_c_stops_a_hung_helm() {
    let scenario = Scenario::new().delay("patch", "deployments", Duration::from_secs(30));
    let bed = bed("interrupt-helm", scenario);
    let started = Instant::now();
    let earlier = bed.calls().len();
    let child = start_deploy(&bed, "first");
    let (code, stderr) = interrupt_at(&bed, earlier, child, "helm upgrade");
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "helm was stopped, not waited for: {:?}",
        started.elapsed()
    );
    assert!(stderr.contains("stopped helm"), "{stderr}");
}

#[test]
fn ctrl_c_at_the_confirmation_prompt_abandons_the_deploy() {
    let bed = bed("interrupt-prompt", Scenario::new());
    // `script` gives the deploy a terminal, so it asks; nobody answers.
    let xtask = env!("CARGO_BIN_EXE_xtask");
    let command = format!("{xtask} deploy guarded --tag abc123def456 --engine docker");
    let mut script = std::process::Command::new("script");
    script.args(["-qec", &command, "/dev/null"]);
    bed.environment(&mut script);
    let mut child = script
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let deploy_pid = loop {
        let found = std::process::Command::new("pgrep")
            .args(["-f", "deploy guarded --tag abc123def456"])
            .output()
            .unwrap();
        // The xtask process itself, not `script` or a shell in between.
        let xtask = std::path::Path::new(xtask);
        let deploy = String::from_utf8_lossy(&found.stdout)
            .lines()
            .map(str::to_owned)
            .find(|pid| {
                std::fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == xtask)
            });
        if let Some(pid) = deploy {
            break pid;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the deploy never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    std::thread::sleep(Duration::from_millis(1500));
    std::process::Command::new("kill")
        .args(["-INT", &deploy_pid])
        .status()
        .unwrap();
    let waited = Instant::now();
    loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the prompt ignored Ctrl-C"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Type 'guarded' to confirm"), "{text}");
    assert!(text.contains("abandoned"), "{text}");
    assert!(bed.revisions("guarded").is_empty());
}

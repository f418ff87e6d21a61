//! A JUnit XML report from `cargo test`'s console output (what CI servers such as Jenkins
//! display), so no extra test runner is needed.

/// One test binary's results.
#[derive(Debug, Default, PartialEq, Eq)]
struct Suite {
    name: String,
    cases: Vec<Case>,
}

#[derive(Debug, PartialEq, Eq)]
struct Case {
    name: String,
    outcome: Outcome,
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Passed,
    Failed(String),
    Ignored,
}

/// Builds the report from cargo's merged stdout and stderr lines, in order.
pub fn report(lines: &[String]) -> String {
    let suites = parse(lines);
    let total: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites
        .iter()
        .flat_map(|s| &s.cases)
        .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
        .count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"{total}\" failures=\"{failures}\">\n"
    );
    for suite in &suites {
        let failed = suite
            .cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed(_)))
            .count();
        let skipped = suite
            .cases
            .iter()
            .filter(|c| c.outcome == Outcome::Ignored)
            .count();
        xml.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failed}\" skipped=\"{skipped}\">\n",
            escape(&suite.name),
            suite.cases.len()
        ));
        for case in &suite.cases {
            let open = format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                escape(&suite.name),
                escape(&case.name)
            );
            match &case.outcome {
                Outcome::Passed => xml.push_str(&format!("{open}/>\n")),
                Outcome::Ignored => xml.push_str(&format!("{open}><skipped/></testcase>\n")),
                Outcome::Failed(details) => xml.push_str(&format!(
                    "{open}><failure message=\"failed\">{}</failure></testcase>\n",
                    escape(details)
                )),
            }
        }
        xml.push_str("  </testsuite>\n");
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn parse(lines: &[String]) -> Vec<Suite> {
    let mut suites: Vec<Suite> = Vec::new();
    let mut details: Vec<(String, String)> = Vec::new();
    let mut capturing: Option<(String, Vec<String>)> = None;
    for line in lines {
        let trimmed = line.trim();
        if let Some(rest) = trimmed
            .strip_prefix("Running ")
            .or_else(|| trimmed.strip_prefix("Doc-tests "))
        {
            flush(&mut capturing, &mut details);
            apply_details(suites.last_mut(), &mut details);
            suites.push(Suite {
                name: suite_name(rest),
                cases: vec![],
            });
            continue;
        }
        if let Some(name) = trimmed
            .strip_prefix("---- ")
            .and_then(|r| r.strip_suffix(" stdout ----"))
        {
            flush(&mut capturing, &mut details);
            capturing = Some((name.to_owned(), vec![]));
            continue;
        }
        if let Some((_, buffer)) = &mut capturing {
            if trimmed == "failures:" || trimmed.starts_with("test result:") {
                flush(&mut capturing, &mut details);
            } else {
                buffer.push(line.clone());
                continue;
            }
        }
        if let Some(rest) = trimmed.strip_prefix("test ")
            && let Some((name, result)) = rest.rsplit_once(" ... ")
        {
            let outcome = match result {
                "ok" => Outcome::Passed,
                "FAILED" => Outcome::Failed(String::new()),
                r if r.starts_with("ignored") => Outcome::Ignored,
                _ => continue,
            };
            if suites.is_empty() {
                suites.push(Suite {
                    name: "tests".into(),
                    cases: vec![],
                });
            }
            if let Some(suite) = suites.last_mut() {
                suite.cases.push(Case {
                    name: name.to_owned(),
                    outcome,
                });
            }
        }
    }
    flush(&mut capturing, &mut details);
    apply_details(suites.last_mut(), &mut details);
    suites.retain(|s| !s.cases.is_empty());
    suites
}

fn flush(capturing: &mut Option<(String, Vec<String>)>, details: &mut Vec<(String, String)>) {
    if let Some((name, lines)) = capturing.take() {
        details.push((name, lines.join("\n").trim().to_owned()));
    }
}

fn apply_details(suite: Option<&mut Suite>, details: &mut Vec<(String, String)>) {
    let Some(suite) = suite else { return };
    for (name, text) in details.drain(..) {
        if let Some(case) = suite.cases.iter_mut().find(|c| c.name == name) {
            case.outcome = Outcome::Failed(text);
        }
    }
}

/// `tests/api/main.rs (target/debug/deps/api-1a2b)` -> `api: tests/api/main.rs`.
fn suite_name(running: &str) -> String {
    let (what, binary) = match running.split_once(" (") {
        Some((what, binary)) => (what, binary.trim_end_matches(')')),
        None => (running, ""),
    };
    let crate_name = binary
        .rsplit('/')
        .next()
        .and_then(|file| file.rsplit_once('-').map(|(name, _)| name))
        .unwrap_or_default();
    if crate_name.is_empty() {
        what.to_owned()
    } else {
        format!("{crate_name}: {what}")
    }
}

fn escape(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect::<String>()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_owned).collect()
    }

    const OUTPUT: &str = "     Running unittests src/lib.rs (target/debug/deps/api-0f3c)\n\
running 2 tests\n\
test config::tests::a ... ok\n\
test config::tests::b ... ignored\n\
test result: ok. 1 passed; 0 failed; 1 ignored\n\
     Running tests/api/main.rs (target/debug/deps/api-77aa)\n\
running 2 tests\n\
test users::race ... FAILED\n\
test health::live ... ok\n\
\n\
failures:\n\
\n\
---- users::race stdout ----\n\
thread 'users::race' panicked at api/tests/api/users.rs:80:5:\n\
assertion failed: <1 & 2>\n\
\n\
failures:\n\
    users::race\n\
\n\
test result: FAILED. 1 passed; 1 failed\n";

    #[test]
    fn suites_cases_and_failure_details() {
        let xml = report(&lines(OUTPUT));
        assert!(
            xml.contains("<testsuites tests=\"4\" failures=\"1\">"),
            "{xml}"
        );
        assert!(xml.contains("<testsuite name=\"api: unittests src/lib.rs\" tests=\"2\" failures=\"0\" skipped=\"1\">"), "{xml}");
        assert!(
            xml.contains("name=\"config::tests::b\"><skipped/>"),
            "{xml}"
        );
        assert!(xml.contains("<testsuite name=\"api: tests/api/main.rs\" tests=\"2\" failures=\"1\" skipped=\"0\">"), "{xml}");
        assert!(xml.contains("panicked at api/tests/api/users.rs:80:5:\nassertion failed: &lt;1 &amp; 2&gt;</failure>"), "{xml}");
    }

    #[test]
    fn no_tests_means_an_empty_report() {
        assert_eq!(
            report(&[]),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"0\" failures=\"0\">\n</testsuites>\n"
        );
    }
}

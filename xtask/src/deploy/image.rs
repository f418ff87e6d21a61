//! Whether an image exists, asked of docker or podman (whichever is present). Anything
//! that is not a clear "exists" or "not found" is reported as unknown, never as missing.

use std::process::Command;

use super::preflight::ImageCheck;

/// The container engine to use: the one named, else podman or docker from PATH.
pub fn engine(named: Option<&str>) -> Option<String> {
    if let Some(name) = named {
        return Some(name.to_owned());
    }
    ["podman", "docker"]
        .into_iter()
        .find(|tool| {
            Command::new(tool)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .map(str::to_owned)
}

pub fn check(engine: Option<&str>, reference: &str) -> ImageCheck {
    let Some(engine) = engine else {
        return ImageCheck::Unknown("neither podman nor docker is installed".into());
    };
    let run = |args: &[&str]| Command::new(engine).args(args).output();
    if run(&["image", "inspect", reference]).is_ok_and(|o| o.status.success()) {
        return ImageCheck::Exists(format!("{reference} (local)"));
    }
    match run(&["manifest", "inspect", reference]) {
        Ok(output) if output.status.success() => {
            ImageCheck::Exists(format!("{reference} (registry)"))
        }
        Ok(output) => classify(reference, &String::from_utf8_lossy(&output.stderr)),
        Err(err) => ImageCheck::Unknown(format!("running {engine}: {err}")),
    }
}

/// Registry answers meaning "no such image", as opposed to "could not ask".
fn classify(reference: &str, stderr: &str) -> ImageCheck {
    let lower = stderr.to_ascii_lowercase();
    let missing = [
        "manifest unknown",
        "no such manifest",
        "not found",
        "name unknown",
    ];
    if missing.iter().any(|m| lower.contains(m)) {
        ImageCheck::Missing(format!("{reference}: {}", stderr.trim()))
    } else {
        ImageCheck::Unknown(format!("{reference}: {}", stderr.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_answers_are_told_apart() {
        assert!(matches!(
            classify("r/a:1", "manifest unknown: manifest unknown"),
            ImageCheck::Missing(_)
        ));
        assert!(matches!(
            classify("r/a:1", "Error: r/a:1: not found"),
            ImageCheck::Missing(_)
        ));
        assert!(matches!(
            classify("r/a:1", "dial tcp: lookup r: no such host"),
            ImageCheck::Unknown(_)
        ));
        assert!(matches!(check(None, "r/a:1"), ImageCheck::Unknown(_)));
    }
}

//! `GET .../pods/<name>/log`: a container's log as its script wrote it, cut to
//! `tailLines`, or the kubelet's refusal (waiting to start, no previous instance).

use crate::request::{Reply, Request};
use crate::server::Shared;
use crate::status::ApiError;

pub fn read(shared: &Shared, req: &Request, namespace: &str, pod: &str) -> Reply {
    let Some(pods) = crate::resources::find("", "v1", "pods") else {
        return ApiError::new(500, "InternalError", "pods are not served").into();
    };
    let Some(object) = shared.store.get(pods, namespace, pod) else {
        return ApiError::not_found(pods, pod).into();
    };
    let memory = shared.memory();
    match crate::controllers::container_log(
        &memory,
        &object,
        req.param("container"),
        req.flag("previous"),
    ) {
        Ok(text) => Reply::Text(
            200,
            tail(&text, req.param("tailLines").and_then(|t| t.parse().ok())),
        ),
        Err(error) => error.into(),
    }
}

fn tail(text: &str, lines: Option<usize>) -> String {
    let Some(lines) = lines else {
        return text.to_owned();
    };
    let all: Vec<&str> = text.lines().collect();
    let mut kept = all[all.len().saturating_sub(lines)..].join("\n");
    if !kept.is_empty() {
        kept.push('\n');
    }
    kept
}

#[cfg(test)]
mod tests {
    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(super::tail("a\nb\nc\n", Some(2)), "b\nc\n");
        assert_eq!(super::tail("a\n", None), "a\n");
        assert_eq!(super::tail("", Some(5)), "");
    }
}

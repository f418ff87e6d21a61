//! A Kubernetes API test server: a loopback HTTP server that the real, unmodified helm
//! and kubectl talk to through an ordinary kubeconfig, so the deployer's tests see what
//! those tools really send and read. It is not a cluster: there is no scheduler, no
//! kubelet, no networking and no container runs. A [`Scenario`] plays the
//! controllers and the kubelet instead, scripted per test. Dev-only; never shipped.
//!
//! ```no_run
//! use kube_test_server::{Scenario, TestServer};
//! let server = TestServer::start(Scenario::new()).unwrap();
//! server.write_kubeconfig(std::path::Path::new("kubeconfig"), &["kind-test"]).unwrap();
//! // KUBECONFIG=kubeconfig helm upgrade --install ...; then look at what it holds:
//! let deployments = server.list("apps/v1", "Deployment", Some("api-test"));
//! ```

mod controllers;
mod defaults;
mod discovery;
mod events;
mod helm_releases;
mod logs;
mod managed_fields;
mod objects;
mod patch;
mod protobuf;
mod request;
mod resources;
mod scenario;
mod schema;
mod selector;
mod server;
mod status;
mod store;
pub mod tools;
mod watch;

use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

pub use request::RequestRecord;
pub use scenario::{Outcome, Pods, Scenario};
pub use status::ApiError;

use server::Shared;

/// The time as the API server writes it (RFC 3339, seconds).
pub(crate) fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    )
}

/// A running server, on its own port with its own objects; stopped when dropped.
pub struct TestServer {
    url: String,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestServer {
    /// Starts a server on a free loopback port with the namespaces `default` and
    /// `kube-system`, its controllers playing `scenario`.
    pub fn start(scenario: Scenario) -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kube-test-server")
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared::new(scenario));
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
        let url = format!("http://{}", listener.local_addr()?);
        runtime.spawn(server::serve(listener, shared.clone()));
        runtime.spawn(controllers::run(shared.clone()));
        let server = Self {
            url,
            shared,
            runtime: Some(runtime),
        };
        for namespace in ["default", "kube-system"] {
            server
                .create(serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}))
                .map_err(|e| std::io::Error::other(e.message))?;
        }
        Ok(server)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Writes a kubeconfig whose `contexts` all point at this server; the first is the
    /// current one.
    pub fn write_kubeconfig(&self, path: &Path, contexts: &[&str]) -> std::io::Result<()> {
        std::fs::write(path, kubeconfig(&self.url, contexts))
    }

    /// Stores an object as a client's create would (for a test's starting state).
    pub fn create(&self, object: Value) -> Result<Value, ApiError> {
        let resource = self.resource_of(&object)?;
        let namespace = match resource.namespaced {
            true => object["metadata"]["namespace"]
                .as_str()
                .unwrap_or("default")
                .to_owned(),
            false => String::new(),
        };
        self.shared.store.create(resource, &namespace, object)
    }

    /// Replaces an object whole, status included (for a test's starting state, such as
    /// a Deployment left with a stale condition).
    pub fn replace(&self, object: Value) -> Result<Value, ApiError> {
        let resource = self.resource_of(&object)?;
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        self.shared
            .store
            .replace(resource, &namespace, &name, object)
    }

    fn resource_of(&self, object: &Value) -> Result<&'static resources::Resource, ApiError> {
        let (api_version, kind) = (
            object["apiVersion"].as_str().unwrap_or_default(),
            object["kind"].as_str().unwrap_or_default(),
        );
        resources::by_kind(api_version, kind)
            .ok_or_else(|| ApiError::bad_request(format!("{api_version}/{kind} is not served")))
    }

    /// One object, by `apiVersion`, kind, namespace and name.
    pub fn get(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Option<Value> {
        let resource = resources::by_kind(api_version, kind)?;
        let namespace = if resource.namespaced { namespace } else { "" };
        self.shared
            .store
            .get(resource, namespace, name)
            .map(|o| events::view(resource, o))
    }

    /// The objects of a kind, in one namespace or in all.
    pub fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        resources::by_kind(api_version, kind)
            .map(|r| {
                self.shared
                    .store
                    .list(r, namespace)
                    .into_iter()
                    .map(|o| events::view(r, o))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Helm's stored revisions of `release` (the decoded release JSON: `version`,
    /// `info.status`, `info.description`, `manifest`, ...), oldest first.
    pub fn helm_releases(&self, namespace: &str, release: &str) -> Vec<Value> {
        let mut releases: Vec<Value> = self
            .list("v1", "Secret", Some(namespace))
            .iter()
            .filter(|s| {
                s["metadata"]["labels"]["owner"] == "helm"
                    && s["metadata"]["labels"]["name"] == release
            })
            .filter_map(helm_releases::decode)
            .collect();
        releases.sort_by_key(|r| r["version"].as_u64());
        releases
    }

    /// Stores a Helm release record as Helm would (say, a copy of the last revision
    /// left `pending-upgrade`, as a killed helm leaves it).
    pub fn store_helm_release(&self, release: &Value) -> Result<Value, ApiError> {
        let secret = helm_releases::encode(release).ok_or_else(|| {
            ApiError::bad_request("a release needs name, namespace, version and info.status")
        })?;
        self.create(secret)
    }

    /// Every request served so far, in order.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.requests()
    }

    /// The request log as text, a line per request.
    pub fn request_log(&self) -> String {
        self.requests().iter().map(|r| format!("{r}\n")).collect()
    }

    /// Changes the script mid-test (say, the next image crash-loops).
    pub fn set_scenario(&self, scenario: Scenario) {
        *self.shared.scenario() = scenario;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn kubeconfig(url: &str, contexts: &[&str]) -> String {
    let entries: String = contexts
        .iter()
        .map(|c| {
            format!("- name: {c}\n  context:\n    cluster: test-server\n    user: test-user\n")
        })
        .collect();
    let current = contexts.first().copied().unwrap_or_default();
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: test-server\n  cluster:\n    server: {url}\n\
         contexts:\n{entries}current-context: {current}\nusers:\n- name: test-user\n  user: {{}}\npreferences: {{}}\n"
    )
}

//! Serves a test server until killed, to try helm and kubectl against it by hand:
//! `cargo run -p kube-test-server --example serve -- /tmp/kubeconfig kind-test`, then
//! `KUBECONFIG=/tmp/kubeconfig kubectl get namespaces`. The request log is printed on
//! stderr as it grows.

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "kubeconfig".to_owned());
    let context = args.next().unwrap_or_else(|| "kind-test".to_owned());
    let server = kube_test_server::TestServer::start(kube_test_server::Scenario::new())?;
    server.write_kubeconfig(std::path::Path::new(&path), &[&context])?;
    eprintln!(
        "serving {} (kubeconfig {path}, context {context})",
        server.url()
    );
    let mut shown = 0;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(200));
        let requests = server.requests();
        for request in &requests[shown..] {
            eprintln!("{request}");
        }
        shown = requests.len();
    }
}

//! A RabbitMQ for `up` and `test` (the worker relays events through it): the one
//! `AMQP_URL` names, or a throwaway `rabbitmq-server` started from the local install,
//! with its data in a temporary folder removed when it stops; with neither, `up` runs
//! without the worker and says so once, and `test` stops with what to install.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub enum RabbitMq {
    External(String),
    Throwaway(ThrowawayRabbitMq),
    Absent,
}

/// The notice when there is no RabbitMQ, one line.
pub const ABSENT_NOTICE: &str = "no AMQP_URL and no rabbitmq-server found: events wait in the \
     outbox and no notification is made; install rabbitmq-server (Debian/Ubuntu: apt-get \
     install rabbitmq-server; macOS: brew install rabbitmq) or set \
     AMQP_URL=amqp://user:password@host:5672/%2f";

impl RabbitMq {
    /// `AMQP_URL` when set (after checking something answers there), else a throwaway
    /// server from `server` (or `rabbitmq-server` on PATH), else [`RabbitMq::Absent`].
    pub fn provide(server: Option<&Path>) -> anyhow::Result<Self> {
        if let Some(url) = crate::project::external_service_url(
            "AMQP_URL",
            "amqp://user:password@host:port/vhost",
            "RabbitMQ",
            address_of,
        )? {
            return Ok(Self::External(url));
        }
        let server = server
            .map(Path::to_path_buf)
            .or_else(|| crate::project::on_path("rabbitmq-server"))
            .map(|path| unwrapped(&path));
        match server {
            Some(server) => Ok(Self::Throwaway(ThrowawayRabbitMq::start(&server)?)),
            None => Ok(Self::Absent),
        }
    }

    pub fn url(&self) -> Option<String> {
        match self {
            Self::External(url) => Some(url.clone()),
            Self::Throwaway(server) => {
                Some(format!("amqp://guest:guest@127.0.0.1:{}/%2f", server.port))
            }
            Self::Absent => None,
        }
    }

    /// For messages: where RabbitMQ is, without any password.
    pub fn describe(&self) -> String {
        match self {
            Self::External(url) => match address_of(url) {
                Some(address) => format!("AMQP_URL ({address})"),
                None => "AMQP_URL".to_owned(),
            },
            Self::Throwaway(server) => format!(
                "throwaway RabbitMQ on 127.0.0.1:{} (data removed when it stops)",
                server.port
            ),
            Self::Absent => ABSENT_NOTICE.to_owned(),
        }
    }
}

/// Debian's `rabbitmq-server` is a wrapper that switches to the `rabbitmq` user (and
/// drops the environment that places a throwaway node); the script it wraps runs as is.
fn unwrapped(path: &Path) -> PathBuf {
    let wrapped = Path::new("/usr/lib/rabbitmq/bin/rabbitmq-server");
    let is_wrapper = std::fs::canonicalize(path)
        .ok()
        .and_then(|real| {
            real.file_name()
                .map(|name| name == "rabbitmq-script-wrapper")
        })
        .unwrap_or(false);
    if is_wrapper && wrapped.exists() {
        wrapped.to_path_buf()
    } else {
        path.to_path_buf()
    }
}

/// `host:port` of an `amqp://` or `amqps://` URL (5672 or 5671 when absent), resolved.
fn address_of(url: &str) -> Option<std::net::SocketAddr> {
    let (rest, default_port) = match url.trim().split_once("://")? {
        ("amqp", rest) => (rest, 5672),
        ("amqps", rest) => (rest, 5671),
        _ => return None,
    };
    let authority = rest.split(['/', '?']).next()?;
    let authority = authority.rsplit('@').next()?;
    let (host, port) = crate::project::host_and_port(authority, default_port)?;
    (host.as_str(), port).to_socket_addrs().ok()?.next()
}

/// A `rabbitmq-server` xtask started (a node of its own, on free ports, no plugins);
/// stopped, and its data removed, when dropped.
pub struct ThrowawayRabbitMq {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl ThrowawayRabbitMq {
    fn start(server: &Path) -> anyhow::Result<Self> {
        let port = crate::project::free_port()?;
        let dist_port = crate::project::free_port()?;
        let dir =
            std::env::temp_dir().join(format!("xtask-rabbitmq-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let plugins = dir.join("enabled_plugins");
        std::fs::write(&plugins, "[].\n")
            .with_context(|| format!("writing {}", plugins.display()))?;
        let log = std::fs::File::create(dir.join("server.out"))
            .with_context(|| format!("creating a log in {}", dir.display()))?;
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(server)
                .envs(node_env(&dir, port, dist_port))
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                // Its own process group: the script starts the Erlang VM as a child,
                // and stopping the group stops both.
                .process_group(0)
                .spawn()
                .with_context(|| format!("starting {}", server.display()))?
        };
        let mut rabbitmq = Self { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = rabbitmq.child.try_wait()? {
                let output =
                    std::fs::read_to_string(rabbitmq.dir.join("server.out")).unwrap_or_default();
                let last: Vec<&str> = output.lines().rev().take(5).collect();
                bail!(
                    "rabbitmq-server exited ({status}) before listening: {}",
                    last.into_iter().rev().collect::<Vec<_>>().join(" / ")
                );
            }
            if Instant::now() > deadline {
                bail!("rabbitmq-server did not listen on 127.0.0.1:{port} within 60s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(rabbitmq)
    }
}

impl Drop for ThrowawayRabbitMq {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let quiet = |signal: &str| {
            let _ = Command::new("kill")
                .args([signal, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        quiet("-TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        quiet("-KILL");
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A node of its own: name, ports on loopback, data, logs and plugins in `dir`.
fn node_env(dir: &Path, port: u16, dist_port: u16) -> Vec<(String, String)> {
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    [
        ("RABBITMQ_NODENAME", format!("xtask-{port}@localhost")),
        ("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1".to_owned()),
        ("RABBITMQ_NODE_PORT", port.to_string()),
        ("RABBITMQ_DIST_PORT", dist_port.to_string()),
        ("RABBITMQ_MNESIA_BASE", path("mnesia")),
        ("RABBITMQ_LOG_BASE", path("log")),
        ("RABBITMQ_ENABLED_PLUGINS_FILE", path("enabled_plugins")),
        ("RABBITMQ_CONFIG_FILE", path("rabbitmq")),
        ("RABBITMQ_ADVANCED_CONFIG_FILE", path("advanced.config")),
        ("RABBITMQ_PID_FILE", path("pid")),
    ]
    .map(|(name, value)| (name.to_owned(), value))
    .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_from_amqp_urls() {
        assert_eq!(
            address_of("amqp://guest:guest@127.0.0.1:5673/%2f"),
            Some("127.0.0.1:5673".parse().unwrap())
        );
        assert_eq!(
            address_of("amqps://u:p@127.0.0.1"),
            Some("127.0.0.1:5671".parse().unwrap())
        );
        assert_eq!(address_of("http://127.0.0.1:5672"), None);
        assert_eq!(address_of("amqp://127.0.0.1:port"), None);
    }

    #[test]
    fn the_throwaway_node_keeps_everything_in_its_folder_on_loopback() {
        let env = node_env(Path::new("/tmp/x"), 35672, 35673);
        let get = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
        assert_eq!(get("RABBITMQ_NODE_IP_ADDRESS"), Some("127.0.0.1"));
        assert_eq!(get("RABBITMQ_NODE_PORT"), Some("35672"));
        assert_eq!(get("RABBITMQ_MNESIA_BASE"), Some("/tmp/x/mnesia"));
        assert_eq!(get("RABBITMQ_NODENAME"), Some("xtask-35672@localhost"));
    }

    #[test]
    fn a_throwaway_server_listens_and_stops_when_dropped() {
        let Some(server) = crate::project::on_path("rabbitmq-server") else {
            panic!("rabbitmq-server on PATH (scripts/install-tools.sh installs it)");
        };
        let rabbitmq = ThrowawayRabbitMq::start(&unwrapped(&server)).unwrap();
        let (port, dir) = (rabbitmq.port, rabbitmq.dir.clone());
        assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
        drop(rabbitmq);
        assert!(
            TcpStream::connect(("127.0.0.1", port)).is_err(),
            "stopped with its owner"
        );
        assert!(!dir.exists(), "its data removed");
    }

    #[test]
    fn the_absent_notice_is_one_line_naming_what_to_install() {
        assert_eq!(ABSENT_NOTICE.lines().count(), 1);
        assert!(ABSENT_NOTICE.contains("apt-get install rabbitmq-server"));
    }
}

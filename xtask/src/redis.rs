//! A Redis for `up` and `test` (the api keeps its attempt limits there): the one
//! `REDIS_URL` names, or a throwaway `redis-server` started from the local binary with
//! nothing saved to disk; with neither, the api counts in-process and this says so once.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub enum Redis {
    External(String),
    Throwaway(ThrowawayRedis),
    /// No Redis: the api's limits count in-process (per replica).
    Absent,
}

/// The notice when there is no Redis, one line.
pub const ABSENT_NOTICE: &str = "no REDIS_URL and no redis-server found: the api counts its \
     attempt limits in-process; install redis-server (Debian/Ubuntu: apt-get install \
     redis-server; macOS: brew install redis) or set REDIS_URL=redis://host:6379";

impl Redis {
    /// `REDIS_URL` when set (after checking something answers there), else a throwaway
    /// server from `server` (or `redis-server` on PATH), else [`Redis::Absent`].
    pub fn provide(server: Option<&Path>) -> anyhow::Result<Self> {
        if let Some(url) = crate::project::external_service_url(
            "REDIS_URL",
            "redis://host:port[/db]",
            "Redis",
            address_of,
        )? {
            return Ok(Self::External(url));
        }
        let server = server
            .map(Path::to_path_buf)
            .or_else(|| crate::project::on_path("redis-server"));
        match server {
            Some(server) => Ok(Self::Throwaway(ThrowawayRedis::start(&server)?)),
            None => Ok(Self::Absent),
        }
    }

    pub fn url(&self) -> Option<String> {
        match self {
            Self::External(url) => Some(url.clone()),
            Self::Throwaway(server) => Some(format!("redis://127.0.0.1:{}/0", server.port)),
            Self::Absent => None,
        }
    }

    /// For messages: where Redis is, without any password.
    pub fn describe(&self) -> String {
        match self {
            Self::External(url) => match address_of(url) {
                Some(address) => format!("REDIS_URL ({address})"),
                None => "REDIS_URL".to_owned(),
            },
            Self::Throwaway(server) => {
                format!(
                    "throwaway Redis on 127.0.0.1:{} (nothing saved)",
                    server.port
                )
            }
            Self::Absent => ABSENT_NOTICE.to_owned(),
        }
    }
}

/// `host:port` of a `redis://` URL (port 6379 when absent), resolved.
fn address_of(url: &str) -> Option<SocketAddr> {
    use std::net::ToSocketAddrs;
    let rest = url.strip_prefix("redis://")?;
    let authority = rest.split(['/', '?']).next()?;
    let (host, port) = crate::project::host_and_port(authority, 6379)?;
    (host.as_str(), port).to_socket_addrs().ok()?.next()
}

/// A `redis-server` xtask started; stopped when dropped.
pub struct ThrowawayRedis {
    child: Child,
    port: u16,
}

impl ThrowawayRedis {
    fn start(server: &Path) -> anyhow::Result<Self> {
        let port = crate::project::free_port()?;
        let child = Command::new(server)
            .args(server_args(port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", server.display()))?;
        let mut redis = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !answers_ping(port) {
            if let Some(status) = redis.child.try_wait()? {
                let mut stderr = String::new();
                if let Some(mut pipe) = redis.child.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                bail!(
                    "redis-server exited ({status}) before answering: {}",
                    stderr.trim()
                );
            }
            if Instant::now() > deadline {
                bail!("redis-server did not answer on 127.0.0.1:{port} within 10s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(redis)
    }
}

impl Drop for ThrowawayRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Loopback only, nothing written to disk (no snapshots, no append-only file).
fn server_args(port: u16) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        &std::env::temp_dir().to_string_lossy(),
    ]
    .map(str::to_owned)
    .to_vec()
}

fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut reply = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_come_from_redis_urls() {
        assert_eq!(
            address_of("redis://127.0.0.1:6380/0"),
            Some("127.0.0.1:6380".parse().unwrap())
        );
        assert_eq!(
            address_of("redis://:secret@127.0.0.1/2"),
            Some("127.0.0.1:6379".parse().unwrap())
        );
        assert_eq!(address_of("http://127.0.0.1:6379"), None);
        assert_eq!(address_of("redis://127.0.0.1:notaport"), None);
    }

    #[test]
    fn the_throwaway_server_stays_on_loopback_and_saves_nothing() {
        let args = server_args(6390).join(" ");
        assert!(
            args.contains("--port 6390 --bind 127.0.0.1 --save  --appendonly no"),
            "{args}"
        );
    }

    #[test]
    fn a_throwaway_server_answers_and_stops_when_dropped() {
        let server = crate::project::on_path("redis-server")
            .expect("redis-server on PATH (scripts/install-tools.sh installs it)");
        let redis = ThrowawayRedis::start(&server).unwrap();
        let port = redis.port;
        assert!(answers_ping(port));
        drop(redis);
        assert!(!answers_ping(port), "stopped with its owner");
    }

    #[test]
    fn the_absent_notice_is_one_line_naming_what_to_install() {
        assert_eq!(ABSENT_NOTICE.lines().count(), 1);
        assert!(ABSENT_NOTICE.contains("apt-get install redis-server"));
    }
}

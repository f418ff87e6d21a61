//! A PostgreSQL for `up` and `test`: the one `DATABASE_URL` names, or a throwaway server
//! started from the local server binaries in a folder under `target/`.
//!
//! `initdb` and `postgres` refuse to run as root, so as root the server runs as the
//! unprivileged `postgres` user (through `runuser`), in a folder that user owns.

use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::{MetadataExt, chown};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

const INSTALL_HINT: &str = "set DATABASE_URL=postgres://user:password@host:5432/postgres, or install \
     the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; Fedora: dnf install \
     postgresql-server; macOS: brew install postgresql@17)";

/// The unprivileged account the server runs as when xtask itself runs as root.
const SERVER_USER: &str = "postgres";

/// A database to run against, kept alive as long as this value lives.
pub enum Database {
    External(String),
    Throwaway(ThrowawayServer),
}

impl Database {
    /// `DATABASE_URL` when set (after checking something listens there), otherwise a
    /// fresh throwaway server in `target/xtask-postgres/<purpose>`.
    pub fn provide(purpose: &str) -> anyhow::Result<Self> {
        match std::env::var("DATABASE_URL")
            .ok()
            .filter(|url| !url.trim().is_empty())
        {
            Some(url) => {
                check_reachable(&url)?;
                Ok(Self::External(url))
            }
            None => Ok(Self::Throwaway(ThrowawayServer::start(purpose)?)),
        }
    }

    pub fn url(&self) -> &str {
        match self {
            Self::External(url) => url,
            Self::Throwaway(server) => &server.url,
        }
    }

    /// For messages: where the database is, without any password.
    pub fn describe(&self) -> String {
        match self {
            Self::External(url) => match host_and_port(url) {
                Some((host, port)) => format!("DATABASE_URL ({host}:{port})"),
                None => "DATABASE_URL".to_owned(),
            },
            Self::Throwaway(server) => format!(
                "throwaway PostgreSQL on 127.0.0.1:{} (data in {})",
                server.port,
                server.base.display()
            ),
        }
    }
}

fn check_reachable(url: &str) -> anyhow::Result<()> {
    let Some((host, port)) = host_and_port(url) else {
        // Unix-socket URLs and other forms: leave the verdict to the client library.
        return Ok(());
    };
    let reachable = (host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .into_iter()
        .flatten()
        .any(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(3)).is_ok());
    if !reachable {
        bail!(
            "DATABASE_URL points at {host}:{port}, where nothing accepts connections; start \
             PostgreSQL there, or unset DATABASE_URL to use a throwaway server"
        );
    }
    Ok(())
}

/// `host` and `port` of a `postgres://` URL (port 5432 when absent).
pub fn host_and_port(url: &str) -> Option<(String, u16)> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))?;
    let authority = rest.split(['/', '?']).next()?;
    crate::project::host_and_port(authority, 5432)
}

/// A server xtask started; stopped when dropped.
pub struct ThrowawayServer {
    bin_dir: PathBuf,
    base: PathBuf,
    run_as: Option<String>,
    port: u16,
    url: String,
}

impl ThrowawayServer {
    fn start(purpose: &str) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir()?;
        let run_as = if running_as_root()? {
            ensure_user_exists(SERVER_USER)?;
            Some(SERVER_USER.to_owned())
        } else {
            None
        };
        let preferred = crate::project::target_dir()
            .join("xtask-postgres")
            .join(purpose);
        let base = if run_as.is_none() || traversable_by_all(&preferred) {
            preferred
        } else {
            // The unprivileged user cannot reach the repository (e.g. under /root).
            std::env::temp_dir().join(format!("xtask-postgres-{purpose}"))
        };
        let port = crate::project::free_port()?;
        let server = Self {
            bin_dir,
            base,
            run_as,
            port,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        };
        server.init()?;
        Ok(server)
    }

    fn data_dir(&self) -> PathBuf {
        self.base.join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.base.join("postgres.log")
    }

    fn init(&self) -> anyhow::Result<()> {
        let data = self.data_dir();
        if data.join("postmaster.pid").exists() {
            // Left running by a run that was killed: stop it before wiping its folder.
            let _ = self.run_tool(
                "pg_ctl",
                &["-D", &path_arg(&data), "-m", "immediate", "-w", "stop"],
            );
        }
        if self.base.exists() {
            std::fs::remove_dir_all(&self.base).with_context(|| {
                format!("removing the old server folder {}", self.base.display())
            })?;
        }
        std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
        if let Some(user) = &self.run_as {
            let (uid, gid) = user_ids(user)?;
            for dir in [&self.base, &data] {
                chown(dir, Some(uid), Some(gid))
                    .with_context(|| format!("giving {} to the {user} user", dir.display()))?;
            }
        }
        self.run_tool(
            "initdb",
            &[
                "-D",
                &path_arg(&data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )
        .context("initdb failed")?;
        let settings = server_settings(self.port);
        let conf = data.join("postgresql.conf");
        let mut contents = std::fs::read_to_string(&conf)
            .with_context(|| format!("reading {}", conf.display()))?;
        contents.push_str(&settings);
        std::fs::write(&conf, contents).with_context(|| format!("writing {}", conf.display()))?;
        let log = path_arg(&self.log_file());
        if let Err(err) = self.run_tool(
            "pg_ctl",
            &[
                "-D",
                &path_arg(&data),
                "-l",
                &log,
                "-w",
                "-t",
                "60",
                "start",
            ],
        ) {
            let tail = std::fs::read_to_string(self.log_file()).unwrap_or_default();
            let tail: Vec<&str> = tail
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            bail!("PostgreSQL did not start: {err:#}\n{}", tail.join("\n"));
        }
        Ok(())
    }

    /// Runs a server tool from the found bin folder, as the unprivileged user if needed,
    /// capturing its chatter and returning it only when it fails.
    fn run_tool(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let program = self.bin_dir.join(tool);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&program);
                command
            }
            None => Command::new(&program),
        };
        // The server must not inherit a working directory the user cannot read.
        command.args(args).current_dir(&self.base);
        let output = command
            .output()
            .with_context(|| format!("running {}", program.display()))?;
        if !output.status.success() {
            bail!(
                "{tool} exited with {}: {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }
}

impl Drop for ThrowawayServer {
    fn drop(&mut self) {
        let data = path_arg(&self.data_dir());
        if let Err(err) = self.run_tool("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]) {
            eprintln!("xtask: warning: could not stop the throwaway PostgreSQL: {err:#}");
        }
    }
}

/// Settings appended to the throwaway server's postgresql.conf: loopback only, no unix
/// socket (its default folder may not be writable), and durability traded for speed.
fn server_settings(port: u16) -> String {
    format!(
        "\n# added by cargo xtask: a throwaway server for tests and local runs\n\
         listen_addresses = '127.0.0.1'\n\
         port = {port}\n\
         unix_socket_directories = ''\n\
         max_connections = 300\n\
         fsync = off\n\
         synchronous_commit = off\n\
         full_page_writes = off\n"
    )
}

fn path_arg(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn running_as_root() -> anyhow::Result<bool> {
    Ok(command_output("id", &["-u"])? == "0")
}

fn ensure_user_exists(user: &str) -> anyhow::Result<()> {
    if command_output("id", &["-u", user]).is_err() {
        bail!(
            "initdb refuses to run as root and there is no '{user}' user to run it as; create \
             one (useradd --system {user}), run as a normal user, or set DATABASE_URL"
        );
    }
    Ok(())
}

fn user_ids(user: &str) -> anyhow::Result<(u32, u32)> {
    let uid = command_output("id", &["-u", user])?
        .parse()
        .context("parsing the user id")?;
    let gid = command_output("id", &["-g", user])?
        .parse()
        .context("parsing the group id")?;
    Ok((uid, gid))
}

fn command_output(program: &str, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("running {program}"))?;
    if !output.status.success() {
        bail!("{program} {} failed", args.join(" "));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Whether every existing ancestor of `path` lets other users through.
fn traversable_by_all(path: &Path) -> bool {
    path.ancestors()
        .filter_map(|dir| std::fs::metadata(dir).ok())
        .all(|meta| meta.mode() & 0o001 != 0)
}

/// The folder holding `initdb` and `pg_ctl`: `PG_BIN_DIR`, else PATH, else the usual
/// install folders (newest version first).
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    let path_dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    let mut entries = Vec::new();
    for root in [
        "/usr/lib/postgresql",
        "/usr/local/opt",
        "/opt/homebrew/opt",
        "/usr",
    ] {
        if let Ok(listing) = std::fs::read_dir(root) {
            entries.extend(listing.filter_map(Result::ok).map(|entry| entry.path()));
        }
    }
    choose_bin_dir(
        std::env::var_os("PG_BIN_DIR").map(PathBuf::from),
        path_dirs.into_iter().chain(install_candidates(entries)),
        |dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file(),
    )
}

fn choose_bin_dir(
    explicit: Option<PathBuf>,
    mut searched: impl Iterator<Item = PathBuf>,
    has_tools: impl Fn(&Path) -> bool,
) -> anyhow::Result<PathBuf> {
    match explicit {
        Some(dir) if has_tools(&dir) => Ok(dir),
        Some(dir) => bail!(
            "PG_BIN_DIR={} holds no initdb and pg_ctl; point it at the PostgreSQL server's bin \
             folder, or unset it",
            dir.display()
        ),
        None => searched.find(|dir| has_tools(dir)).ok_or_else(|| {
            anyhow::anyhow!(
                "no DATABASE_URL and no PostgreSQL server binaries found; {INSTALL_HINT}"
            )
        }),
    }
}

/// Bin folders of PostgreSQL installs among `entries`, newest major version first:
/// Debian's `/usr/lib/postgresql/<v>/bin`, RHEL's `/usr/pgsql-<v>/bin`, Homebrew's
/// `.../opt/postgresql@<v>/bin`.
fn install_candidates(entries: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut versioned: Vec<(f64, PathBuf)> = entries
        .into_iter()
        .filter_map(|entry| {
            let name = entry.file_name()?.to_str()?.to_owned();
            let parent = entry.parent()?.to_str()?.to_owned();
            let version = if parent == "/usr/lib/postgresql" {
                name.parse().ok()
            } else if let Some(v) = name.strip_prefix("pgsql-") {
                v.parse().ok()
            } else if let Some(v) = name.strip_prefix("postgresql@") {
                v.parse().ok()
            } else if name == "postgresql" && parent.ends_with("/opt") {
                Some(0.0)
            } else {
                None
            }?;
            Some((version, entry.join("bin")))
        })
        .collect();
    versioned.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut dirs: Vec<PathBuf> = versioned.into_iter().map(|(_, dir)| dir).collect();
    dirs.push(PathBuf::from("/usr/local/pgsql/bin"));
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_and_port_from_urls() {
        let cases = [
            (
                "postgres://u:p@db.internal:6543/app",
                Some(("db.internal", 6543)),
            ),
            ("postgresql://localhost/app", Some(("localhost", 5432))),
            (
                "postgres://u@127.0.0.1/app?sslmode=disable",
                Some(("127.0.0.1", 5432)),
            ),
            ("postgres://u:p:w@[::1]:5433/app", Some(("::1", 5433))),
            ("postgres://u@h:notaport/app", None),
            ("mysql://h/app", None),
            ("postgres:///app?host=/var/run/postgresql", None),
        ];
        for (url, expected) in cases {
            let expected = expected.map(|(h, p)| (h.to_owned(), p));
            assert_eq!(host_and_port(url), expected, "{url}");
        }
    }

    #[test]
    fn install_folders_are_tried_newest_first() {
        let entries = [
            "/usr/lib/postgresql/9.6",
            "/usr/lib/postgresql/16",
            "/usr/lib/postgresql/15",
            "/usr/pgsql-17",
            "/usr/share",
            "/opt/homebrew/opt/postgresql@14",
            "/opt/homebrew/opt/openssl@3",
        ]
        .map(PathBuf::from)
        .to_vec();
        let dirs: Vec<String> = install_candidates(entries)
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        assert_eq!(
            dirs,
            [
                "/usr/pgsql-17/bin",
                "/usr/lib/postgresql/16/bin",
                "/usr/lib/postgresql/15/bin",
                "/opt/homebrew/opt/postgresql@14/bin",
                "/usr/lib/postgresql/9.6/bin",
                "/usr/local/pgsql/bin",
            ]
        );
    }

    #[test]
    fn binaries_come_from_pg_bin_dir_then_the_search_with_a_hint_when_absent() {
        let real = |dir: &Path| dir.starts_with("/real");
        let search = || vec![PathBuf::from("/empty"), PathBuf::from("/real/16/bin")].into_iter();
        assert_eq!(
            choose_bin_dir(None, search(), real).unwrap(),
            PathBuf::from("/real/16/bin")
        );
        assert_eq!(
            choose_bin_dir(Some("/real/custom".into()), search(), real).unwrap(),
            PathBuf::from("/real/custom")
        );
        let wrong = choose_bin_dir(Some("/nowhere".into()), search(), real)
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("PG_BIN_DIR=/nowhere"), "{wrong}");
        let none = choose_bin_dir(None, std::iter::empty(), real)
            .unwrap_err()
            .to_string();
        assert!(
            none.contains("DATABASE_URL") && none.contains("apt-get install postgresql"),
            "{none}"
        );
        assert_eq!(none.lines().count(), 1);
    }

    #[test]
    fn settings_pin_the_port_and_stay_on_loopback() {
        let settings = server_settings(54321);
        assert!(settings.contains("port = 54321\n"));
        assert!(settings.contains("listen_addresses = '127.0.0.1'"));
    }
}

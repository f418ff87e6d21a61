//! The api under test: a release binary started with the benchmark's settings, how long
//! it took to answer 200 on `/readyz`, and what it (and PostgreSQL) cost while loaded:
//! resident memory sampled from `/proc`, CPU time from `/proc/<pid>/stat`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::http_probe;

pub struct ApiProcess {
    child: Child,
    pub address: SocketAddr,
    /// From spawning the process to the first 200 on `/readyz`.
    pub ready_after: Duration,
}

impl ApiProcess {
    /// Starts `api serve` with `env` on `port`, its output appended to `log`, and waits
    /// (polling every 2 ms) until it is ready.
    pub fn start(
        binary: &Path,
        env: &[(String, String)],
        port: u16,
        log: &Path,
    ) -> anyhow::Result<Self> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let err = out.try_clone().context("sharing the api log")?;
        let started = Instant::now();
        let child = Command::new(binary)
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("PORT", port.to_string())
            .env("HOST", "127.0.0.1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let mut api = Self {
            child,
            address,
            ready_after: Duration::ZERO,
        };
        loop {
            if let Some(status) = api.child.try_wait()? {
                bail!(
                    "the api exited during start-up ({status}); see {}",
                    log.display()
                );
            }
            if http_probe::get_status(address, "/readyz").is_ok_and(|status| status == 200) {
                api.ready_after = started.elapsed();
                return Ok(api);
            }
            if started.elapsed() > Duration::from_secs(30) {
                api.stop();
                bail!("the api was not ready within 30s; see {}", log.display());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// SIGTERM, then the wait for its drain.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ApiProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// The largest resident set of a process seen while it ran, sampled every 10 ms.
pub struct RssPeak {
    stop: Arc<AtomicBool>,
    sampler: JoinHandle<u64>,
}

impl RssPeak {
    pub fn watch(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let sampler = std::thread::spawn(move || {
            let mut peak = 0;
            while !stopped.load(Ordering::Relaxed) {
                peak = peak.max(rss_kib(pid).unwrap_or(0));
                std::thread::sleep(Duration::from_millis(10));
            }
            peak.max(rss_kib(pid).unwrap_or(0))
        });
        Self { stop, sampler }
    }

    /// The peak, in MiB.
    pub fn finish(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.sampler.join().unwrap_or(0) as f64 / 1024.0
    }
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    vm_rss_kib(&status)
}

fn vm_rss_kib(status: &str) -> Option<u64> {
    super::number_after(status, "VmRSS:")
}

/// CPU time (user + system) of a process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    stat_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// CPU time of every process named `postgres` (the server and its backends), in clock
/// ticks: where PostgreSQL runs on this machine, its side of each request. Backends that
/// have exited (pgbench's, at its end) count through the server's reaped-children time.
pub fn postgres_cpu_ticks() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| command_name(stat) == Some("postgres"))
        .filter_map(|stat| stat_ticks_with_children(&stat))
        .sum()
}

/// CPU time of this process's children that have exited (cutime + cstime), in clock
/// ticks: the load generator's share of a scenario, read around its run.
pub fn reaped_children_ticks() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| children_ticks(&stat))
        .unwrap_or(0)
}

/// PostgreSQL's CPU per operation since `before` (its [`postgres_cpu_ticks`]) over
/// `count` operations of clients that have just disconnected: a moment lets the server
/// reap their backends and count their time.
pub fn postgres_micros_since(before: u64, count: f64) -> f64 {
    std::thread::sleep(std::time::Duration::from_millis(300));
    micros_per(postgres_cpu_ticks().saturating_sub(before), count)
}

/// Microseconds of CPU per operation: `ticks` spent over `count` operations.
pub fn micros_per(ticks: u64, count: f64) -> f64 {
    ticks as f64 / ticks_per_second() / count.max(1.0) * 1e6
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux when it cannot be asked),
/// asked once per run.
fn ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8_lossy(&out.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

fn command_name(stat: &str) -> Option<&str> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    stat.get(open + 1..close)
}

/// utime + stime (fields 14 and 15 of `/proc/<pid>/stat`): the process itself.
fn stat_ticks(stat: &str) -> Option<u64> {
    stat_fields_sum(stat, 14..16)
}

/// utime + stime + cutime + cstime (fields 14 to 17): the process and its reaped children.
fn stat_ticks_with_children(stat: &str) -> Option<u64> {
    stat_fields_sum(stat, 14..18)
}

/// cutime + cstime (fields 16 and 17): the reaped children alone.
fn children_ticks(stat: &str) -> Option<u64> {
    stat_fields_sum(stat, 16..18)
}

/// The sum of `/proc/<pid>/stat` fields `numbers` (counted from 1 as proc(5) does),
/// read after the `(comm)` field, which may hold spaces.
fn stat_fields_sum(stat: &str, numbers: std::ops::Range<usize>) -> Option<u64> {
    let after = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state).
    numbers
        .map(|n| fields.get(n - 3)?.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_resident_memory_and_cpu_time_from_proc() {
        assert_eq!(
            vm_rss_kib("Name:\tapi\nVmHWM:\t 30000 kB\nVmRSS:\t   21504 kB\n"),
            Some(21504)
        );
        assert_eq!(vm_rss_kib("Name:\tapi\n"), None);
        let stat = "4242 (tokio worker 1) S 1 4242 4242 0 -1 4194560 2507 0 0 0 731 269 15 5 20 0 9 0 100 0";
        assert_eq!(command_name(stat), Some("tokio worker 1"));
        assert_eq!(stat_ticks(stat), Some(1000));
        assert_eq!(
            stat_ticks_with_children(stat),
            Some(1020),
            "and 15 + 5 of its reaped children"
        );
        assert_eq!(children_ticks(stat), Some(20));
        assert!(
            cpu_ticks(std::process::id()).is_some(),
            "this process has a stat file"
        );
    }
}

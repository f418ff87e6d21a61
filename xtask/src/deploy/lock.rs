//! The deploy lock: a `coordination.k8s.io/v1` Lease in the release's namespace, held
//! for the whole deploy (renewed while it runs, released at the end, also on failure and
//! Ctrl-C), so two deploys of one release never interleave. Whether to take, wait for
//! or refuse a held lock is a pure judgement of the Lease and the time.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::report::Reporter;
use crate::interrupt::Interrupt;
use crate::kubectl::{Kubectl, Scope};
use crate::timestamp;

/// How long a holder that stops renewing keeps the lock.
const LEASE_SECONDS: i64 = 30;
const RENEW_EVERY: Duration = Duration::from_secs(10);

pub fn lease_name(release: &str) -> String {
    format!("{release}-deploy-lock")
}

/// What to do about a Lease someone holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Held and renewed: wait for it (the text says by whom).
    Wait(String),
    /// Its holder stopped renewing, and `--break-lock` says take it: from whom.
    TakeOver(String),
    Refuse(String),
}

pub fn judge(lease: &Value, now: OffsetDateTime, break_lock: bool) -> Judgement {
    let spec = &lease["spec"];
    let holder = spec["holderIdentity"].as_str().unwrap_or("someone");
    let since = spec["acquireTime"].as_str().unwrap_or("an unknown time");
    let renewed = spec["renewTime"].as_str().or(spec["acquireTime"].as_str());
    let duration = time::Duration::seconds(
        spec["leaseDurationSeconds"]
            .as_i64()
            .unwrap_or(LEASE_SECONDS),
    );
    let expired = renewed
        .and_then(timestamp::parse)
        .is_none_or(|at| at + duration < now);
    let renewed = renewed.unwrap_or("never");
    match (expired, break_lock) {
        (true, true) => Judgement::TakeOver(holder.to_owned()),
        (true, false) => Judgement::Refuse(format!(
            "the deploy lock is held by {holder} since {since}, not renewed since {renewed}: that deploy looks dead; take the lock over with --break-lock"
        )),
        (false, true) => Judgement::Refuse(format!(
            "the deploy lock is held by {holder} since {since} and still renewed (last {renewed}); --break-lock only takes a lock whose holder stopped renewing"
        )),
        (false, false) => Judgement::Wait(format!(
            "another deploy holds the lock: {holder}, since {since}"
        )),
    }
}

/// A held lock: renewed in the background, released when dropped.
pub struct Lock {
    kubectl: Kubectl,
    context: String,
    namespace: String,
    name: String,
    holder: String,
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<std::thread::JoinHandle<()>>,
}

fn lease(name: &str, namespace: &str, holder: &str) -> Value {
    let now = timestamp::micro_now();
    json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "xtask"}},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": LEASE_SECONDS, "acquireTime": now, "renewTime": now}})
}

/// Who asks for the lock, and how patiently.
pub struct Request<'a> {
    pub release: &'a str,
    /// Says who holds it: the deploy, the person, the host, the git revision.
    pub holder: &'a str,
    pub wait: Duration,
    pub break_lock: bool,
}

/// Takes the lock, waiting up to `request.wait` for another deploy to release it.
pub fn acquire(
    kubectl: &Kubectl,
    scope: &Scope,
    request: &Request,
    interrupt: &Interrupt,
    reporter: &mut Reporter,
) -> Result<Lock, String> {
    let Request {
        release,
        holder,
        wait,
        break_lock,
    } = *request;
    let name = lease_name(release);
    let deadline = Instant::now() + wait;
    loop {
        if interrupt.happened() {
            return Err("interrupted while waiting for the deploy lock".to_owned());
        }
        let err = match kubectl.create(scope, &lease(&name, scope.namespace, holder)) {
            Ok(_) => break,
            Err(err) => err,
        };
        if !err.is_already_exists() {
            return Err(format!(
                "cannot take the deploy lock ({err}); the deploy identity needs create, update, get and delete on leases.coordination.k8s.io in {}",
                scope.namespace
            ));
        }
        let Some(held) = kubectl
            .get_optional(scope, "lease", &name)
            .map_err(|e| e.to_string())?
        else {
            continue; // released meanwhile
        };
        match judge(&held, OffsetDateTime::now_utc(), break_lock) {
            Judgement::Refuse(reason) => return Err(reason),
            Judgement::Wait(who) if Instant::now() >= deadline => {
                return Err(format!(
                    "{who}; try again when it is done, or wait longer with --lock-wait 10m"
                ));
            }
            Judgement::Wait(who) => {
                reporter.progress(format!("{who}; waiting"));
                std::thread::sleep(
                    Duration::from_millis(500)
                        .min(deadline.saturating_duration_since(Instant::now())),
                );
            }
            Judgement::TakeOver(previous) => {
                let mut taken = held.clone();
                let now = timestamp::micro_now();
                taken["spec"]["holderIdentity"] = json!(holder);
                taken["spec"]["acquireTime"] = json!(now);
                taken["spec"]["renewTime"] = json!(now);
                taken["spec"]["leaseDurationSeconds"] = json!(LEASE_SECONDS);
                match kubectl.replace(scope, &taken) {
                    Ok(_) => {
                        reporter.line(&format!("took over the lock from {previous}"));
                        break;
                    }
                    Err(err) if err.is_conflict() => continue,
                    Err(err) => return Err(format!("cannot take over the deploy lock: {err}")),
                }
            }
        }
    }
    let (stop, stopped) = mpsc::channel();
    let renewer = {
        let (kubectl, context, namespace, name, holder) = (
            kubectl.clone(),
            scope.context.to_owned(),
            scope.namespace.to_owned(),
            name.clone(),
            holder.to_owned(),
        );
        std::thread::spawn(move || {
            let scope = Scope {
                context: &context,
                namespace: &namespace,
            };
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(RENEW_EVERY) {
                renew(&kubectl, &scope, &name, &holder);
            }
        })
    };
    Ok(Lock {
        kubectl: kubectl.clone(),
        context: scope.context.to_owned(),
        namespace: scope.namespace.to_owned(),
        name,
        holder: holder.to_owned(),
        stop: Some(stop),
        renewer: Some(renewer),
    })
}

/// Moves `renewTime` on, if the lock is still ours. A failed renewal is tried again at
/// the next tick; the lease outlives two missed ones.
fn renew(kubectl: &Kubectl, scope: &Scope, name: &str, holder: &str) {
    if let Ok(Some(mut lease)) = kubectl.get_optional(scope, "lease", name)
        && lease["spec"]["holderIdentity"] == holder
    {
        lease["spec"]["renewTime"] = json!(timestamp::micro_now());
        let _ = kubectl.replace(scope, &lease);
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(renewer) = self.renewer.take() {
            let _ = renewer.join();
        }
        let scope = Scope {
            context: &self.context,
            namespace: &self.namespace,
        };
        if let Ok(Some(lease)) = self.kubectl.get_optional(&scope, "lease", &self.name)
            && lease["spec"]["holderIdentity"] == self.holder.as_str()
        {
            let _ = self.kubectl.delete(&scope, "lease", &self.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(renewed: &str) -> Value {
        json!({"spec": {"holderIdentity": "deploy prod by ci@runner", "leaseDurationSeconds": 30,
            "acquireTime": "2026-11-24T10:00:00.000000Z", "renewTime": renewed}})
    }

    fn at(text: &str) -> OffsetDateTime {
        timestamp::parse(text).unwrap()
    }

    #[test]
    fn a_renewed_lock_is_waited_for_and_never_broken() {
        let lease = held("2026-11-24T10:05:00.000000Z");
        let now = at("2026-11-24T10:05:10Z");
        assert!(
            matches!(judge(&lease, now, false), Judgement::Wait(who) if who.contains("ci@runner") && who.contains("since 2026-11-24T10:00:00"))
        );
        assert!(
            matches!(judge(&lease, now, true), Judgement::Refuse(why) if why.contains("still renewed"))
        );
    }

    #[test]
    fn a_lock_nobody_renews_is_taken_only_when_asked() {
        let lease = held("2026-11-24T10:05:00.000000Z");
        let now = at("2026-11-24T10:06:00Z");
        assert!(
            matches!(judge(&lease, now, false), Judgement::Refuse(why) if why.contains("not renewed since 2026-11-24T10:05:00") && why.contains("--break-lock"))
        );
        assert_eq!(
            judge(&lease, now, true),
            Judgement::TakeOver("deploy prod by ci@runner".to_owned())
        );
    }
}

//! Passwords are stored only as argon2id PHC strings. Hashing is CPU-heavy by design, so
//! it runs on the blocking pool, never on the async workers serving other requests; and
//! each computation holds 19 MiB, so the request path takes a turn at a [`PasswordGate`]
//! that bounds how many run at once.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use super::model::Password;

/// Hashes with argon2id and the crate's OWASP-recommended defaults (19 MiB, 2 passes),
/// on the blocking pool: for one-off work outside the request path (the bootstrap admin,
/// `api create-admin`); requests go through a [`PasswordGate`].
pub async fn hash(password: Password) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .context("password hashing task failed")?
}

/// Checks `candidate` (as typed, whatever its length) against a stored PHC string in
/// constant time, on the blocking pool (see [`hash`]).
pub async fn verify(candidate: String, stored_hash: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || verify_typed(&candidate, &stored_hash))
        .await
        .context("password verification task failed")?
}

thread_local! {
    /// argon2's working memory (19 MiB with the default parameters), kept by each thread
    /// that hashes: allocating and freeing it per computation leaves the allocator
    /// holding several copies per thread.
    static MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn with_memory<T>(blocks: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        work(&mut memory[..blocks])
    })
}

/// argon2id with the crate's defaults, as a PHC string (what `PasswordHasher` makes).
fn hash_now(password: &Password) -> anyhow::Result<String> {
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt
        .as_salt()
        .decode_b64(&mut salt_bytes)
        .map_err(|err| anyhow::anyhow!("salt: {err}"))?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_memory(params.block_count(), |memory| {
        argon2.hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt_raw,
            &mut out,
            memory,
        )
    })
    .map_err(|err| anyhow::anyhow!("hashing failed: {err}"))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params)
            .map_err(|err| anyhow::anyhow!("parameters: {err}"))?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|err| anyhow::anyhow!("output: {err}"))?),
    };
    Ok(phc.to_string())
}

/// Checks a password as typed: its NFKC form (what hashes are made from, see
/// [`Password::parse`]), and, if that differs and fails, the text as typed, which hashes
/// made before passwords were normalised were made from.
fn verify_typed(candidate: &str, stored_hash: &str) -> anyhow::Result<bool> {
    let normal = super::model::normalize_password(candidate);
    if verify_now(&normal, stored_hash)? {
        return Ok(true);
    }
    Ok(normal != candidate && verify_now(candidate, stored_hash)?)
}

/// Recomputes the stored hash's parameters over `candidate` and compares in constant
/// time (as `PasswordVerifier` does).
fn verify_now(candidate: &str, stored_hash: &str) -> anyhow::Result<bool> {
    let malformed =
        |what: &dyn std::fmt::Display| anyhow::anyhow!("stored password hash is malformed: {what}");
    let parsed = PasswordHash::new(stored_hash).map_err(|e| malformed(&e))?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| malformed(&e))?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(|e| malformed(&e))?
        .unwrap_or_default();
    let params = Params::try_from(&parsed).map_err(|e| malformed(&e))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Err(malformed(&"no salt or no hash"));
    };
    let mut salt_bytes = [0u8; 64];
    let salt_raw = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| malformed(&e))?;
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    with_memory(params.block_count(), |memory| {
        argon2.hash_password_into_with_memory(candidate.as_bytes(), salt_raw, &mut out, memory)
    })
    .map_err(|err| anyhow::anyhow!("verifying failed: {err}"))?;
    // Output compares in constant time.
    Ok(Output::new(&out).map_err(|e| malformed(&e))? == expected)
}

/// At most `concurrency` password hashes or checks at once in the request path: a burst
/// of sign-ins or sign-ups must not take the pod past its memory limit (19 MiB each). A
/// request waits up to `wait` for a turn, then is told to retry (503, `Retry-After`).
///
/// The work runs on `concurrency` threads of the gate's own, not on tokio's blocking
/// pool: the allocator keeps a freed 19 MiB block in the arena of the thread that used
/// it, so argon2 spread over the pool's many threads grew the process to hundreds of MiB
/// even with two computations at a time (measured: 494 MiB peak under 64 concurrent
/// sign-ins), while a few fixed threads keep it near `concurrency` × 19 MiB.
#[derive(Clone)]
pub struct PasswordGate {
    turns: Arc<Semaphore>,
    wait: Duration,
    work: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

impl std::fmt::Debug for PasswordGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordGate")
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl PasswordGate {
    pub fn new(concurrency: usize, wait: Duration) -> Self {
        let concurrency = concurrency.max(1);
        let (work, jobs) = std::sync::mpsc::channel::<Job>();
        let jobs = Arc::new(std::sync::Mutex::new(jobs));
        for n in 0..concurrency {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || {
                    loop {
                        // The lock is held only to take the next job, not while running it.
                        let job = match jobs.lock() {
                            Ok(jobs) => jobs.recv(),
                            Err(poisoned) => poisoned.into_inner().recv(),
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // the gate is gone
                        }
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(error = %err, "could not start a password thread");
            }
        }
        Self {
            turns: Arc::new(Semaphore::new(concurrency)),
            wait,
            work,
        }
    }

    async fn turn(&self) -> Result<tokio::sync::OwnedSemaphorePermit, crate::error::ApiError> {
        let busy = || crate::error::ApiError::Busy {
            retry_after: self.wait.as_secs().max(1),
        };
        match tokio::time::timeout(self.wait, self.turns.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            Ok(Err(_)) | Err(_) => Err(busy()),
        }
    }

    /// Runs `work` on one of the gate's threads, once a turn is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, crate::error::ApiError> {
        let _turn = self.turn().await?;
        let (done, result) = tokio::sync::oneshot::channel();
        self.work
            .send(Box::new(move || {
                let _ = done.send(work());
            }))
            .map_err(|_| anyhow::anyhow!("the password threads have stopped"))?;
        Ok(result
            .await
            .map_err(|_| anyhow::anyhow!("a password thread stopped mid-way"))??)
    }

    pub async fn hash(&self, password: Password) -> Result<String, crate::error::ApiError> {
        self.run(move || hash_now(&password)).await
    }

    pub async fn verify(
        &self,
        candidate: String,
        stored_hash: String,
    ) -> Result<bool, crate::error::ApiError> {
        self.run(move || verify_typed(&candidate, &stored_hash))
            .await
    }
}

/// How many hashes `threads` threads made in `elapsed` (see [`hash_rate`]).
#[derive(Debug, Clone, Copy)]
pub struct HashRate {
    pub hashes: u64,
    pub elapsed: Duration,
}

impl HashRate {
    pub fn per_second(&self) -> f64 {
        self.hashes as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Hashes on `threads` threads at once for about `duration`, as sign-ups do (same
/// parameters, same per-thread memory): the ceiling of sign-in and sign-up throughput
/// with `PASSWORD_HASHING_CONCURRENCY` = `threads` on this machine.
pub fn hash_rate(threads: usize, duration: Duration) -> anyhow::Result<HashRate> {
    let password = Password::parse("a benchmark password")
        .map_err(|err| anyhow::anyhow!("benchmark password: {err}"))?;
    let started = std::time::Instant::now();
    let deadline = started + duration;
    let counts = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<u64> {
                    // At least one each, so a short run still measures every thread.
                    let mut hashes = 0;
                    loop {
                        hash_now(&password)?;
                        hashes += 1;
                        if std::time::Instant::now() >= deadline {
                            return Ok(hashes);
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .map_err(|_| anyhow::anyhow!("a hashing thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<u64>>>()
    })?;
    Ok(HashRate {
        hashes: counts.iter().sum(),
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_hasher_and_verifier() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = hash_now(&Password::parse("correct horse battery").unwrap()).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse battery", &parsed)
                .is_ok()
        );
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"correct horse battery", &salt)
            .unwrap()
            .to_string();
        assert!(verify_now("correct horse battery", &theirs).unwrap());
        assert!(!verify_now("wrong horse battery", &theirs).unwrap());
        assert!(verify_now("x", "not a hash").is_err());
    }

    #[test]
    fn the_hash_rate_counts_every_thread_s_hashes() {
        let rate = hash_rate(2, Duration::from_millis(1)).unwrap();
        assert!(
            rate.hashes >= 2,
            "each thread finishes at least one hash: {rate:?}"
        );
        assert!(rate.per_second() > 0.0);
    }

    #[tokio::test]
    async fn the_gate_lets_through_only_so_many_and_then_says_busy() {
        let gate = PasswordGate::new(1, Duration::from_millis(50));
        let held = gate.turn().await.unwrap();
        let refused = gate.turn().await.unwrap_err();
        assert!(
            matches!(refused, crate::error::ApiError::Busy { retry_after: 1 }),
            "{refused:?}"
        );
        drop(held);
        assert!(
            gate.turn().await.is_ok(),
            "a turn frees up when the work is done"
        );
    }

    #[tokio::test]
    async fn hashes_are_salted_argon2id_and_verify() {
        let password = || Password::parse("correct horse battery").unwrap();
        let first = hash(password()).await.unwrap();
        let second = hash(password()).await.unwrap();
        assert!(first.starts_with("$argon2id$"), "{first}");
        assert_ne!(first, second, "each hash has its own salt");
        assert!(
            verify("correct horse battery".into(), first.clone())
                .await
                .unwrap()
        );
        assert!(!verify("wrong horse battery".into(), first).await.unwrap());
    }

    #[test]
    fn passwords_compare_in_nfkc_and_hashes_of_the_typed_text_still_verify() {
        // "é" typed as one code point and as "e" plus a combining accent.
        let composed = "caf\u{e9} au lait";
        let decomposed = "cafe\u{301} au lait";
        let ours = hash_now(&Password::parse(decomposed).unwrap()).unwrap();
        assert!(verify_typed(composed, &ours).unwrap());
        assert!(verify_typed(decomposed, &ours).unwrap());
        // A hash made before normalisation, from the decomposed text as typed.
        let salt = SaltString::generate(&mut OsRng);
        let old = {
            use argon2::password_hash::PasswordHasher;
            Argon2::default()
                .hash_password(decomposed.as_bytes(), &salt)
                .unwrap()
                .to_string()
        };
        assert!(verify_typed(decomposed, &old).unwrap());
        assert!(!verify_typed("cafe au lait!", &old).unwrap());
    }
}

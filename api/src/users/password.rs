//! Passwords are stored only as argon2id PHC strings. Hashing is CPU-heavy by design, so
//! it runs on the blocking pool, never on the async workers serving other requests.

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::model::Password;

/// Hashes with argon2id and the crate's OWASP-recommended defaults (19 MiB, 2 passes).
pub async fn hash(password: Password) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| anyhow::anyhow!("hashing failed: {err}"))
    })
    .await
    .context("password hashing task failed")?
}

/// Checks `candidate` (as typed, whatever its length) against a stored PHC string in
/// constant time.
pub async fn verify(candidate: String, stored_hash: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&stored_hash)
            .map_err(|err| anyhow::anyhow!("stored password hash is malformed: {err}"))?;
        Ok(Argon2::default()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .context("password verification task failed")?
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

//! Short-lived HS256 access tokens: `sub` (the user id), `iat`, `exp`, `iss`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::JwtSettings;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: u64,
    pub exp: u64,
    pub iss: String,
}

/// Signs and checks tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    ttl_seconds: u64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(<redacted>)")
    }
}

impl TokenKeys {
    pub fn new(settings: &JwtSettings) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(&settings.secret),
            decoding: DecodingKey::from_secret(&settings.secret),
            validation,
            issuer: settings.issuer.clone(),
            ttl_seconds: settings.ttl.as_secs().max(1),
        }
    }

    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    /// A token for `user`, valid from `now` (seconds since the epoch) for the TTL.
    pub fn issue(&self, user: Uuid, now: u64) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user.to_string(),
            iat: now,
            exp: now + self.ttl_seconds,
            iss: self.issuer.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|err| anyhow::anyhow!("signing a token failed: {err}"))
    }

    /// The user a valid, unexpired token of ours names; `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<Uuid> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        Uuid::parse_str(&data.claims.sub).ok()
    }
}

pub fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn keys(secret: &str, ttl: u64) -> TokenKeys {
        TokenKeys::new(&JwtSettings {
            secret: secret.as_bytes().to_vec(),
            generated: false,
            ttl: Duration::from_secs(ttl),
            issuer: "api".into(),
        })
    }

    #[test]
    fn a_token_round_trips_under_its_own_secret_only() {
        let user = Uuid::new_v4();
        let ours = keys(&"a".repeat(32), 60);
        let token = ours.issue(user, now_seconds()).unwrap();
        assert_eq!(ours.verify(&token), Some(user));
        assert_eq!(
            keys(&"b".repeat(32), 60).verify(&token),
            None,
            "another secret rejects it"
        );
        assert_eq!(ours.verify("not.a.token"), None);
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let ours = keys(&"a".repeat(32), 60);
        let token = ours.issue(Uuid::new_v4(), now_seconds() - 3600).unwrap();
        assert_eq!(ours.verify(&token), None);
    }
}

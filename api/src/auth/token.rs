//! Short-lived HS256 access tokens: `sub` (the user id), `ver` (the user's token version
//! when issued: changing the password, deactivating or signing out everywhere bumps it,
//! which ends every earlier token), `iat`, `exp`, `iss` and `aud`.

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
    pub aud: String,
    pub ver: i32,
}

/// Who a valid token names, and the token version it was issued under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bearer {
    pub user: Uuid,
    pub version: i32,
}

/// Signs and checks tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
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
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(&settings.secret),
            decoding: DecodingKey::from_secret(&settings.secret),
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            ttl_seconds: settings.ttl.as_secs().max(1),
        }
    }

    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_seconds
    }

    /// A token for `bearer`, valid from `now` (seconds since the epoch) for the TTL.
    pub fn issue(&self, bearer: Bearer, now: u64) -> anyhow::Result<String> {
        let claims = Claims {
            sub: bearer.user.to_string(),
            iat: now,
            exp: now + self.ttl_seconds,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            ver: bearer.version,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|err| anyhow::anyhow!("signing a token failed: {err}"))
    }

    /// Who a valid, unexpired token of ours, meant for us, names; `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<Bearer> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        Some(Bearer {
            user: Uuid::parse_str(&data.claims.sub).ok()?,
            version: data.claims.ver,
        })
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

    fn keys_for(secret: &str, ttl: u64, audience: &str) -> TokenKeys {
        TokenKeys::new(&JwtSettings {
            secret: secret.as_bytes().to_vec(),
            generated: false,
            ttl: Duration::from_secs(ttl),
            issuer: "api-platform".into(),
            audience: audience.into(),
        })
    }

    fn keys(secret: &str, ttl: u64) -> TokenKeys {
        keys_for(secret, ttl, "api-platform/users")
    }

    fn bearer() -> Bearer {
        Bearer {
            user: Uuid::new_v4(),
            version: 3,
        }
    }

    #[test]
    fn a_token_round_trips_under_its_own_secret_only() {
        let user = bearer();
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
        let token = ours.issue(bearer(), now_seconds() - 3600).unwrap();
        assert_eq!(ours.verify(&token), None);
    }

    #[test]
    fn a_token_for_another_audience_is_rejected() {
        let secret = "a".repeat(32);
        let theirs = keys_for(&secret, 60, "another-service");
        let token = theirs.issue(bearer(), now_seconds()).unwrap();
        assert_eq!(keys(&secret, 60).verify(&token), None);
    }
}

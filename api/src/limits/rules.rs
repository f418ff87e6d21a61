//! Which counters each guarded action counts against, narrowest first (see
//! [`super::Limiter::attempt`]), after OWASP's authentication cheat sheet:
//!
//! - sign-in: the account from this address (`LOGIN_ATTEMPTS_PER_MINUTE`), then this
//!   address across accounts, then the account from everywhere, whose limit is higher
//!   than one address can reach, so a guesser at one address locks only itself out;
//! - password change: the signed-in user, at the sign-in pair limit (it checks the
//!   current password, so it is a guessing oracle too);
//! - sign-up: this address per hour.
//!
//! A request forwarded by a peer not in `TRUSTED_PROXIES` (an undeclared ingress, or a
//! client writing the headers itself) has no known client address: its peer may stand for
//! everyone behind an ingress. It counts against the account, and against its peer at
//! `FORWARDING_PEER_FACTOR` times the per-address limits (sign-in across accounts, sign-up),
//! so a forged header buys no unlimited guessing or sign-ups, while a busy undeclared
//! ingress is not locked out by a few failures. Set `TRUSTED_PROXIES` to count per client.

use std::time::Duration;

use uuid::Uuid;

use super::{Counter, Rule};
use crate::config::LimitSettings;
use crate::http::client_address::ClientAddress;

const MINUTE: Duration = Duration::from_secs(60);
const SIGN_IN: &str = "too many sign-in attempts";
const SIGN_UP: &str = "too many sign-ups from this address";
const PASSWORD_CHANGE: &str = "too many password-change attempts";
/// How much more a forwarding peer may do than one client address.
pub const FORWARDING_PEER_FACTOR: u32 = 10;
const HOUR: Duration = Duration::from_secs(60 * 60);

#[derive(Debug, Clone, Copy)]
pub struct Rules {
    sign_in_account_and_address: Rule,
    sign_in_address: Rule,
    sign_in_account: Rule,
    password_change: Rule,
    sign_up_address: Rule,
    sign_in_forwarding_peer: Rule,
    sign_up_forwarding_peer: Rule,
}

/// The account a sign-in names: its id when it exists (one counter whether the user
/// typed the username or the email, in any case), else the name as the database folds
/// it (`UserRepo::fold`): two spellings share a counter exactly when they would find the
/// same account, so the counters cannot tell whether a name exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    Known(Uuid),
    Unknown(String),
}

impl Account {
    /// `folded`: the name after the database's `lower()`.
    pub fn unknown(folded: &str) -> Self {
        Self::Unknown(folded.to_owned())
    }

    fn subject(&self) -> String {
        match self {
            Self::Known(id) => format!("user:{id}"),
            Self::Unknown(name) => format!("name:{name}"),
        }
    }
}

/// A sign-in's counters, and the one a success forgives.
#[derive(Debug, Clone)]
pub struct SignIn {
    pub counters: Vec<Counter>,
    /// The account-from-this-address counter: a success clears its own failures, never
    /// the address's or the account's (those would let a guesser reset them).
    pub forgiven_on_success: Option<Counter>,
}

impl Rules {
    pub fn new(settings: &LimitSettings) -> Self {
        let rule = |name, limit, window, refusal| Rule {
            name,
            limit,
            window,
            refusal,
        };
        Self {
            sign_in_account_and_address: rule(
                "sign_in_account_address",
                settings.sign_in_per_account_and_address,
                MINUTE,
                SIGN_IN,
            ),
            sign_in_address: rule(
                "sign_in_address",
                settings.sign_in_per_address,
                MINUTE,
                SIGN_IN,
            ),
            sign_in_account: rule(
                "sign_in_account",
                settings.sign_in_per_account,
                MINUTE,
                SIGN_IN,
            ),
            password_change: rule(
                "password_change",
                settings.sign_in_per_account_and_address,
                MINUTE,
                PASSWORD_CHANGE,
            ),
            sign_up_address: rule(
                "sign_up_address",
                settings.sign_ups_per_address_per_hour,
                HOUR,
                SIGN_UP,
            ),
            sign_in_forwarding_peer: rule(
                "sign_in_forwarding_peer",
                settings
                    .sign_in_per_address
                    .saturating_mul(FORWARDING_PEER_FACTOR),
                MINUTE,
                SIGN_IN,
            ),
            sign_up_forwarding_peer: rule(
                "sign_up_forwarding_peer",
                settings
                    .sign_ups_per_address_per_hour
                    .saturating_mul(FORWARDING_PEER_FACTOR),
                HOUR,
                SIGN_UP,
            ),
        }
    }

    pub fn sign_in(&self, account: &Account, address: ClientAddress) -> SignIn {
        let account = account.subject();
        let account_wide = self.sign_in_account.counter(&[&account]);
        match address.key() {
            Some(address) => {
                let pair = self
                    .sign_in_account_and_address
                    .counter(&[&account, &address]);
                SignIn {
                    counters: vec![
                        pair,
                        self.sign_in_address.counter(&[&address]),
                        account_wide,
                    ],
                    forgiven_on_success: Some(pair),
                }
            }
            None => {
                let mut counters: Vec<Counter> = address
                    .forwarding_peer_key()
                    .map(|peer| self.sign_in_forwarding_peer.counter(&[&peer]))
                    .into_iter()
                    .collect();
                counters.push(account_wide);
                SignIn {
                    counters,
                    forgiven_on_success: None,
                }
            }
        }
    }

    pub fn password_change(&self, user: Uuid) -> Vec<Counter> {
        vec![self.password_change.counter(&[&user.to_string()])]
    }

    pub fn sign_up(&self, address: ClientAddress) -> Vec<Counter> {
        match (address.key(), address.forwarding_peer_key()) {
            (Some(address), _) => vec![self.sign_up_address.counter(&[&address])],
            (None, Some(peer)) => vec![self.sign_up_forwarding_peer.counter(&[&peer])],
            (None, None) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::limits::memory::MemoryCounters;

    fn rules() -> Rules {
        Rules::new(&LimitSettings {
            sign_in_per_account_and_address: 5,
            sign_in_per_address: 20,
            sign_in_per_account: 50,
            sign_ups_per_address_per_hour: 20,
            redis: None,
        })
    }

    fn at(ip: &str) -> ClientAddress {
        ClientAddress::Known(ip.parse::<IpAddr>().unwrap())
    }

    #[test]
    fn one_address_cannot_lock_an_account_for_another() {
        let (rules, counters) = (rules(), MemoryCounters::default());
        let now = std::time::Instant::now();
        let victim = Account::Known(Uuid::new_v4());
        for _ in 0..1_000 {
            let _ = counters.attempt(&rules.sign_in(&victim, at("203.0.113.66")).counters, now);
        }
        assert!(
            counters
                .attempt(&rules.sign_in(&victim, at("198.51.100.7")).counters, now)
                .is_ok()
        );
    }

    #[test]
    fn a_forwarding_peer_counts_at_ten_times_the_address_limits() {
        let peer = ClientAddress::Forwarded {
            peer: "10.1.2.3".parse().unwrap(),
        };
        let sign_in = rules().sign_in(&Account::unknown("ada"), peer);
        let names: Vec<&str> = sign_in.counters.iter().map(|c| c.rule.name).collect();
        assert_eq!(names, ["sign_in_forwarding_peer", "sign_in_account"]);
        assert_eq!(sign_in.counters[0].rule.limit, 200);
        assert_eq!(rules().sign_up(peer)[0].rule.limit, 200);
    }

    #[test]
    fn an_unknown_address_counts_against_the_account_only() {
        let sign_in = rules().sign_in(&Account::unknown("ada"), ClientAddress::Unknown);
        assert_eq!(sign_in.counters.len(), 1);
        assert_eq!(sign_in.counters[0].rule.name, "sign_in_account");
        assert!(sign_in.forgiven_on_success.is_none());
        assert!(rules().sign_up(ClientAddress::Unknown).is_empty());
    }
}

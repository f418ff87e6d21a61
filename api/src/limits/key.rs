//! A counter's key: a digest of the rule and what it counts, so every key is 16 bytes
//! whatever a client typed (a 60 KB "username" costs no more than "ada").

use sha2::{Digest, Sha256};

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key([u8; 16]);

impl Key {
    /// The key of `parts`, each length-prefixed so `["ab", "c"]` and `["a", "bc"]` differ.
    pub fn of(parts: &[&str]) -> Self {
        let mut digest = Sha256::new();
        for part in parts {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest.finalize()[..16]);
        Self(key)
    }

    pub fn hex(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fixed_size_and_keep_parts_apart() {
        assert_eq!(Key::of(&["ab", "c"]), Key::of(&["ab", "c"]));
        assert_ne!(Key::of(&["ab", "c"]), Key::of(&["a", "bc"]));
        assert_eq!(Key::of(&["x"; 1]).hex().len(), 32);
        assert_eq!(Key::of(&[&"y".repeat(60_000)]).hex().len(), 32);
    }
}

//! A string that must never be printed: access and refresh tokens, client secrets,
//! authorization codes and PKCE verifiers.
//!
//! `Debug` and `Display` print a fixed placeholder, so a secret can sit inside any
//! struct that derives `Debug` without leaking into logs or error messages. It
//! serializes as a plain string because hosts must be able to persist tokens and
//! pending flows; protecting that serialized form at rest is the store's job.

use serde::{Deserialize, Serialize};
use std::fmt;
use subtle::ConstantTimeEq;

/// A confidential string whose value is only reachable through [`Secret::expose`].
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a confidential value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The confidential value itself, for putting on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Secret {
    /// Constant-time, so comparing secrets does not leak how many bytes matched.
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}

impl Eq for Secret {}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert!(!format!("{:?}", Some(secret)).contains("hunter2"));
    }

    #[test]
    fn serializes_as_a_plain_string_so_stores_can_persist_it() {
        let secret = Secret::new("abc");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"abc\"");
        let back: Secret = serde_json::from_str("\"abc\"").unwrap();
        assert_eq!(back, secret);
    }
}

//! HMAC-signed values for stateless web backends: put a pending sign-in (or just
//! its record id) in a cookie or form field, and get it back only if this backend
//! made it and it has not expired.
//!
//! Signed, not encrypted: the payload is readable by whoever holds the value, so
//! keep it in an `HttpOnly; Secure; SameSite=Lax` cookie, or sign only a record id.

use crate::error::Error;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use mcp_oauth_core::Secret;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signs and verifies values with a server-side key.
#[derive(Clone)]
pub struct SignedState {
    key: Secret,
}

impl std::fmt::Debug for SignedState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignedState(<key redacted>)")
    }
}

impl SignedState {
    /// A signer with `key` (at least 32 random bytes, shared by all instances).
    pub fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key = key.into();
        if key.len() < 32 {
            return Err(mcp_oauth_core::Error::Config(
                "the signing key must be at least 32 bytes".into(),
            )
            .into());
        }
        Ok(Self {
            key: Secret::new(key),
        })
    }

    fn mac(&self, message: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.key.expose().as_bytes())
            .expect("HMAC accepts any key length");
        mac.update(message);
        mac
    }

    /// `payload`, valid until `expires_at` (seconds since the epoch), as a
    /// URL-safe string.
    pub fn sign(&self, payload: &str, expires_at: u64) -> String {
        let body = format!("{expires_at}.{}", URL_SAFE_NO_PAD.encode(payload));
        let tag = URL_SAFE_NO_PAD.encode(self.mac(body.as_bytes()).finalize().into_bytes());
        format!("{body}.{tag}")
    }

    /// The payload, if `value` was signed with this key and is not expired at `now`.
    pub fn verify(&self, value: &str, now: u64) -> Result<String, Error> {
        let (body, tag) = value.rsplit_once('.').ok_or(Error::InvalidState)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| Error::InvalidState)?;
        // verify_slice compares in constant time.
        self.mac(body.as_bytes())
            .verify_slice(&tag)
            .map_err(|_| Error::InvalidState)?;
        let (expires_at, payload) = body.split_once('.').ok_or(Error::InvalidState)?;
        let expires_at: u64 = expires_at.parse().map_err(|_| Error::InvalidState)?;
        if now >= expires_at {
            return Err(Error::InvalidState);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| Error::InvalidState)?;
        String::from_utf8(payload).map_err(|_| Error::InvalidState)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_signed_value_verifies_until_it_expires() {
        let signer = SignedState::new(KEY).unwrap();
        let value = signer.sign("pending-record-42", 1_000);
        assert_eq!(signer.verify(&value, 999).unwrap(), "pending-record-42");
        assert_eq!(
            signer.verify(&value, 1_000).unwrap_err().code(),
            "state_mismatch"
        );
    }

    #[test]
    fn tampering_or_another_key_is_rejected() {
        let signer = SignedState::new(KEY).unwrap();
        let value = signer.sign("record", 1_000);
        let other = SignedState::new("another key of at least 32 bytes!!").unwrap();
        assert!(other.verify(&value, 0).is_err());
        let forged_payload = value.replacen(
            &URL_SAFE_NO_PAD.encode("record"),
            &URL_SAFE_NO_PAD.encode("admin!"),
            1,
        );
        assert!(signer.verify(&forged_payload, 0).is_err());
        let extended = value.replacen("1000.", "9999.", 1);
        assert!(signer.verify(&extended, 0).is_err());
        for garbage in ["", ".", "..", "a.b.c", "1000.cmVjb3Jk.!!!"] {
            assert!(signer.verify(garbage, 0).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn short_keys_are_refused_and_keys_never_print() {
        assert!(SignedState::new("short").is_err());
        assert!(!format!("{:?}", SignedState::new(KEY).unwrap()).contains("0123"));
    }
}

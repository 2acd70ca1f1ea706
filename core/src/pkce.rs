//! PKCE with S256 (RFC 7636): verifier generation and challenge for clients,
//! constant-time verification for authorization servers.
//!
//! CONTRACT (stub: to be implemented).

use crate::entropy::{Entropy, EntropyError};
use crate::secret::Secret;

/// A fresh code verifier: 32 random bytes, base64url (43 unreserved characters).
pub fn generate_verifier(entropy: &mut dyn Entropy) -> Result<Secret, EntropyError> {
    let _ = entropy;
    todo!()
}

/// Whether `verifier` is 43–128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub fn is_valid_verifier(verifier: &str) -> bool {
    let _ = verifier;
    todo!()
}

/// `BASE64URL(SHA256(verifier))` without padding (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    let _ = verifier;
    todo!()
}

/// Server side: whether `verifier` is well-formed and hashes to `challenge`,
/// compared in constant time.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    let _ = (verifier, challenge);
    todo!()
}

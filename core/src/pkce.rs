//! PKCE with S256 (RFC 7636): verifier generation and challenge for clients,
//! constant-time verification for authorization servers.

use crate::entropy::{Entropy, EntropyError};
use crate::secret::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh code verifier: 32 random bytes, base64url (43 unreserved characters).
pub fn generate_verifier(entropy: &mut dyn Entropy) -> Result<Secret, EntropyError> {
    let mut bytes = [0u8; 32];
    entropy.fill(&mut bytes)?;
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(bytes)))
}

/// Whether `verifier` is 43–128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `BASE64URL(SHA256(verifier))` without padding (RFC 7636 §4.2).
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Server side: whether `verifier` is well-formed and hashes to `challenge`,
/// compared in constant time.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    if !is_valid_verifier(verifier) {
        return false;
    }
    let computed = s256_challenge(verifier);
    // Lengths are public (always 43 for a real challenge); the bytes are not.
    computed.len() == challenge.len() && bool::from(computed.as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc7636_appendix_b_vector() {
        assert_eq!(s256_challenge(VERIFIER), CHALLENGE);
        assert!(verify_s256(VERIFIER, CHALLENGE));
    }

    #[test]
    fn verification_rejects_wrong_or_malformed_input() {
        assert!(!verify_s256(
            VERIFIER,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"
        ));
        assert!(!verify_s256(VERIFIER, ""));
        assert!(!verify_s256("short", &s256_challenge("short")));
        let with_space = format!("{} ", &VERIFIER[..43]);
        assert!(!verify_s256(&with_space, &s256_challenge(&with_space)));
    }

    #[test]
    fn verifier_length_bounds() {
        assert!(!is_valid_verifier(&"a".repeat(42)));
        assert!(is_valid_verifier(&"a".repeat(43)));
        assert!(is_valid_verifier(&"a".repeat(128)));
        assert!(!is_valid_verifier(&"a".repeat(129)));
        assert!(is_valid_verifier(&format!("{}-._~", "A0".repeat(20))));
        assert!(!is_valid_verifier(&format!("{}+", "a".repeat(43))));
    }

    #[test]
    fn generated_verifiers_are_valid_and_distinct() {
        let mut counter = 0u8;
        let mut entropy = |buf: &mut [u8]| {
            counter = counter.wrapping_add(1);
            buf.fill(counter);
        };
        let a = generate_verifier(&mut entropy).unwrap();
        let b = generate_verifier(&mut entropy).unwrap();
        assert!(is_valid_verifier(a.expose()));
        assert_eq!(a.expose().len(), 43);
        assert_ne!(a.expose(), b.expose());
    }
}

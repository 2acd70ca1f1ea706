//! The one source of randomness in core: `state` values and PKCE verifiers.
//!
//! Production code uses [`OsEntropy`] (the operating system's CSPRNG through
//! `getrandom`, `crypto.getRandomValues` on the web). Tests inject any
//! `FnMut(&mut [u8])` so that flows are reproducible byte for byte.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

/// The platform's random number generator could not produce bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the system random number generator failed: {0}")]
pub struct EntropyError(pub String);

/// Somewhere to get unpredictable bytes from.
pub trait Entropy {
    /// Fills `buf` entirely with random bytes.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError>;
}

/// The operating system's cryptographically secure generator.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        getrandom::fill(buf).map_err(|e| EntropyError(e.to_string()))
    }
}

/// Any closure is an entropy source; tests use this to make flows deterministic.
impl<F: FnMut(&mut [u8])> Entropy for F {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), EntropyError> {
        self(buf);
        Ok(())
    }
}

/// `bytes` random bytes, base64url-encoded without padding: only unreserved
/// characters, so the result is safe in URLs, `state` and PKCE verifiers.
pub fn random_token(entropy: &mut dyn Entropy, bytes: usize) -> Result<String, EntropyError> {
    let mut buf = vec![0u8; bytes];
    entropy.fill(&mut buf)?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_entropy_makes_tokens_reproducible() {
        let mut fixed = |buf: &mut [u8]| buf.fill(7);
        let a = random_token(&mut fixed, 32).unwrap();
        let b = random_token(&mut fixed, 32).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 43);
    }

    #[test]
    fn os_entropy_differs_between_calls() {
        let a = random_token(&mut OsEntropy, 32).unwrap();
        let b = random_token(&mut OsEntropy, 32).unwrap();
        assert_ne!(a, b);
    }
}

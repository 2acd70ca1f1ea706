//! Sealed values: authenticated encryption under a host key, for tokens at rest
//! (a store that seals every value) and for a pending sign-in carried in `state`.
//!
//! The cipher is XChaCha20-Poly1305 (ChaCha20-Poly1305 of
//! [RFC 8439 §2.8](https://www.rfc-editor.org/rfc/rfc8439#section-2.8) with the
//! 192-bit nonce of draft-irtf-cfrg-xchacha), from RustCrypto's
//! `chacha20poly1305`: constant-time in software, small in WebAssembly, and with
//! nonces long enough to draw at random (from core's injectable
//! [`Entropy`]) without ever worrying about a repeat.
//!
//! A sealed value is one URL-safe line:
//!
//! ```text
//! s1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>
//! ```
//!
//! - `s1` is the format version; anything else is refused.
//! - The key id names the key that sealed it, so keys rotate: [`SealKeys`] seals
//!   with its current (first) key and opens with any key it lists. Keep an old key
//!   listed until every value sealed with it has been rewritten.
//! - The associated data is the header (`s1.<key id>`) and a *context* chosen by
//!   the caller: a store passes the entry's key, so a value copied under another
//!   key does not open; sealed `state` passes its purpose. Tampering, another key
//!   or another context all fail the same way ([`SealError::Forged`]).

use crate::entropy::{Entropy, EntropyError};
use crate::secret::Secret;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use std::fmt;
use zeroize::Zeroizing;

/// The format version written in front of every sealed value.
pub const VERSION: &str = "s1";
/// Bytes in a key.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
const MAX_KEY_ID_LEN: usize = 32;

/// Why a value could not be sealed or opened, or a key set not built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// A key set needs at least one key.
    #[error("no seal keys were given")]
    NoKeys,
    /// Key ids are written into every sealed value.
    #[error("seal key id {0:?} must be 1 to 32 characters of A-Z, a-z, 0-9, '_' and '-'")]
    InvalidKeyId(String),
    /// Two keys with one id could not be told apart when opening.
    #[error("two seal keys have the id {0:?}")]
    DuplicateKeyId(String),
    /// A key is 32 random bytes, base64 or base64url encoded.
    #[error("seal key {id:?} must be 32 random bytes in base64 or base64url ({found})")]
    InvalidKey {
        /// The key's id.
        id: String,
        /// What was wrong, without the key.
        found: String,
    },
    /// Not a value this version seals: no `s1.` header, or a broken body.
    #[error("the value is not sealed in a format this version reads")]
    Malformed,
    /// Sealed with a key that is not (or no longer) configured.
    #[error("the value was sealed with key {0:?}, which is not among the configured seal keys")]
    UnknownKey(String),
    /// The tag did not verify: the value was altered, moved from another context
    /// (store entry), or sealed with another key under the same id.
    #[error("the sealed value does not authenticate: altered, copied from another entry, or sealed with another key")]
    Forged,
    /// No randomness for the nonce.
    #[error(transparent)]
    Entropy(#[from] EntropyError),
}

/// One key: an id written into every value it seals, and 32 secret bytes.
#[derive(Clone)]
pub struct SealKey {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SealKey {
    /// A key from its 32 bytes.
    pub fn new(id: impl Into<String>, key: &[u8; KEY_LEN]) -> Result<Self, SealError> {
        let id = id.into();
        if !is_key_id(&id) {
            return Err(SealError::InvalidKeyId(id));
        }
        Ok(Self {
            id,
            cipher: XChaCha20Poly1305::new(key.into()),
        })
    }

    /// A key from its base64 or base64url form (padding optional), as kept in a
    /// secret manager or an environment variable.
    pub fn from_base64(id: impl Into<String>, encoded: &str) -> Result<Self, SealError> {
        let id = id.into();
        let invalid = |found: String| SealError::InvalidKey {
            id: id.clone(),
            found,
        };
        let bytes = Zeroizing::new(
            decode_any_base64(encoded.trim()).ok_or_else(|| invalid("not base64".into()))?,
        );
        let key: &[u8; KEY_LEN] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| invalid(format!("{} bytes", bytes.len())))?;
        Self::new(id, key)
    }

    /// The id written into the values this key seals.
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// 32 fresh random bytes in base64url: a new key to configure (and keep secret).
pub fn generate_key(entropy: &mut dyn Entropy) -> Result<Secret, SealError> {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    entropy.fill(bytes.as_mut())?;
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
}

/// The keys a host seals with: the first seals, every one opens.
#[derive(Clone)]
pub struct SealKeys {
    keys: Vec<SealKey>,
}

impl fmt::Debug for SealKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealKeys")
            .field(
                "ids",
                &self.keys.iter().map(SealKey::id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl SealKeys {
    /// A key set whose first key is the current one. Ids must be distinct.
    pub fn new(keys: impl IntoIterator<Item = SealKey>) -> Result<Self, SealError> {
        let keys: Vec<SealKey> = keys.into_iter().collect();
        if keys.is_empty() {
            return Err(SealError::NoKeys);
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.id == key.id) {
                return Err(SealError::DuplicateKeyId(key.id.clone()));
            }
        }
        Ok(Self { keys })
    }

    /// The id of the key new values are sealed with.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Seals `plaintext` with the current key, bound to `context`.
    pub fn seal(
        &self,
        plaintext: &[u8],
        context: &str,
        entropy: &mut dyn Entropy,
    ) -> Result<String, SealError> {
        let key = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        entropy.fill(&mut nonce)?;
        let aad = associated_data(&key.id, context);
        let ciphertext = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            // Encryption fails only for messages beyond 2^38 bytes.
            .map_err(|_| SealError::Malformed)?;
        let mut body = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        body.extend_from_slice(&nonce);
        body.extend_from_slice(&ciphertext);
        Ok(format!(
            "{VERSION}.{}.{}",
            key.id,
            URL_SAFE_NO_PAD.encode(body)
        ))
    }

    /// Opens a value sealed with any listed key under the same `context`.
    pub fn open(&self, sealed: &str, context: &str) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (key_id, body) = parse(sealed)?;
        let key = self
            .keys
            .iter()
            .find(|k| k.id == key_id)
            .ok_or_else(|| SealError::UnknownKey(key_id.to_owned()))?;
        let (nonce, ciphertext) = body.split_at(NONCE_LEN);
        let aad = associated_data(key_id, context);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| SealError::Forged)
    }

    /// Whether `sealed` was sealed with a key other than the current one (so a
    /// store should write it again to finish a rotation). `false` for values that
    /// are not sealed at all.
    pub fn is_stale(&self, sealed: &str) -> bool {
        parse(sealed).is_ok_and(|(id, _)| id != self.current_id())
    }
}

/// The length of the sealed form of a `plaintext_len`-byte value whose key id
/// is `key_id_len` characters long.
pub fn sealed_len(plaintext_len: usize, key_id_len: usize) -> usize {
    let body = NONCE_LEN + plaintext_len + TAG_LEN;
    VERSION.len() + 1 + key_id_len + 1 + (body * 4).div_ceil(3)
}

/// Whether `value` has the shape of a sealed value (it may still fail to open).
pub fn looks_sealed(value: &str) -> bool {
    parse(value).is_ok()
}

/// The key id and decoded body of a sealed value.
fn parse(sealed: &str) -> Result<(&str, Vec<u8>), SealError> {
    let mut parts = sealed.splitn(3, '.');
    let (Some(VERSION), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(SealError::Malformed);
    };
    if !is_key_id(key_id) {
        return Err(SealError::Malformed);
    }
    let body = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| SealError::Malformed)?;
    if body.len() < NONCE_LEN + TAG_LEN {
        return Err(SealError::Malformed);
    }
    Ok((key_id, body))
}

/// The header and the context, NUL-separated: ids and the version never hold a NUL.
fn associated_data(key_id: &str, context: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(VERSION.len() + key_id.len() + context.len() + 2);
    aad.extend_from_slice(VERSION.as_bytes());
    aad.push(b'.');
    aad.extend_from_slice(key_id.as_bytes());
    aad.push(0);
    aad.extend_from_slice(context.as_bytes());
    aad
}

fn is_key_id(id: &str) -> bool {
    (1..=MAX_KEY_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Standard or URL-safe base64, padded or not.
fn decode_any_base64(encoded: &str) -> Option<Vec<u8>> {
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let alphabet = if encoded.contains(['+', '/']) {
        &alphabet::STANDARD
    } else {
        &alphabet::URL_SAFE
    };
    GeneralPurpose::new(alphabet, config).decode(encoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn key(id: &str, byte: u8) -> SealKey {
        SealKey::new(id, &[byte; KEY_LEN]).unwrap()
    }

    fn keys(list: &[(&str, u8)]) -> SealKeys {
        SealKeys::new(list.iter().map(|(id, b)| key(id, *b))).unwrap()
    }

    fn counter() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |buf: &mut [u8]| {
            n = n.wrapping_add(1);
            buf.fill(n)
        }
    }

    #[test]
    fn a_sealed_value_opens_under_its_context_only() {
        let set = keys(&[("k1", 1)]);
        let sealed = set
            .seal(b"refresh-token-1", "session/a", &mut counter())
            .unwrap();
        assert!(sealed.starts_with("s1.k1."), "{sealed}");
        assert!(!sealed.contains("refresh"));
        assert_eq!(
            set.open(&sealed, "session/a").unwrap().as_slice(),
            b"refresh-token-1"
        );
        assert_eq!(set.open(&sealed, "session/b"), Err(SealError::Forged));
        assert_eq!(set.open(&sealed, ""), Err(SealError::Forged));
    }

    #[test]
    fn keys_rotate_seal_with_the_first_open_with_any() {
        let old = keys(&[("2024", 1)]);
        let sealed_old = old.seal(b"v", "c", &mut counter()).unwrap();
        let rotated = keys(&[("2025", 2), ("2024", 1)]);
        assert_eq!(rotated.open(&sealed_old, "c").unwrap().as_slice(), b"v");
        assert!(rotated.is_stale(&sealed_old));
        let sealed_new = rotated.seal(b"v", "c", &mut counter()).unwrap();
        assert!(sealed_new.starts_with("s1.2025."));
        assert!(!rotated.is_stale(&sealed_new));
        assert_eq!(
            old.open(&sealed_new, "c"),
            Err(SealError::UnknownKey("2025".into()))
        );
        let retired = keys(&[("2025", 2)]);
        assert_eq!(
            retired.open(&sealed_old, "c"),
            Err(SealError::UnknownKey("2024".into()))
        );
    }

    #[test]
    fn a_key_under_a_reused_id_does_not_open_old_values() {
        let sealed = keys(&[("k", 1)]).seal(b"v", "c", &mut counter()).unwrap();
        assert_eq!(keys(&[("k", 9)]).open(&sealed, "c"), Err(SealError::Forged));
    }

    #[test]
    fn every_altered_byte_or_header_fails_to_open() {
        let set = keys(&[("a", 1), ("b", 1)]);
        let sealed = set.seal(b"payload", "ctx", &mut counter()).unwrap();
        let (header, body) = sealed.rsplit_once('.').unwrap();
        let raw = URL_SAFE_NO_PAD.decode(body).unwrap();
        for i in 0..raw.len() {
            let mut altered = raw.clone();
            altered[i] ^= 0x01;
            let forged = format!("{header}.{}", URL_SAFE_NO_PAD.encode(&altered));
            assert_eq!(set.open(&forged, "ctx"), Err(SealError::Forged), "byte {i}");
        }
        // Same key bytes under another id: the id is authenticated too.
        let relabelled = sealed.replacen("s1.a.", "s1.b.", 1);
        assert_eq!(set.open(&relabelled, "ctx"), Err(SealError::Forged));
        let truncated = &sealed[..sealed.len() - 1];
        assert!(set.open(truncated, "ctx").is_err());
    }

    #[test]
    fn malformed_values_are_refused_as_such() {
        let set = keys(&[("k", 1)]);
        let short = format!("s1.k.{}", URL_SAFE_NO_PAD.encode([0u8; 39]));
        for value in [
            "",
            "plain json {}",
            "s1",
            "s1.k",
            "s2.k.AAAA",
            "s1..AAAA",
            "s1.k.!!!",
            "s1.k.AAAA",
            &short,
            "s1.a.b.c",
        ] {
            assert_eq!(set.open(value, "c"), Err(SealError::Malformed), "{value:?}");
            assert!(!looks_sealed(value), "{value:?}");
        }
    }

    #[test]
    fn nonces_come_from_the_injected_entropy() {
        let set = keys(&[("k", 1)]);
        let a = set
            .seal(b"same", "c", &mut |b: &mut [u8]| b.fill(7))
            .unwrap();
        let b = set
            .seal(b"same", "c", &mut |b: &mut [u8]| b.fill(7))
            .unwrap();
        let c = set
            .seal(b"same", "c", &mut |b: &mut [u8]| b.fill(8))
            .unwrap();
        assert_eq!(a, b, "deterministic under fixed entropy");
        assert_ne!(a, c);
        let os1 = set
            .seal(b"same", "c", &mut crate::entropy::OsEntropy)
            .unwrap();
        let os2 = set
            .seal(b"same", "c", &mut crate::entropy::OsEntropy)
            .unwrap();
        assert_ne!(os1, os2);
    }

    #[test]
    fn sealed_len_predicts_the_length() {
        let set = keys(&[("key-2025", 1)]);
        for len in [0, 1, 2, 3, 100, 517] {
            let sealed = set.seal(&vec![b'x'; len], "c", &mut counter()).unwrap();
            assert_eq!(sealed.len(), sealed_len(len, 8), "{len}");
        }
    }

    #[test]
    fn key_sets_and_ids_are_checked() {
        assert_eq!(SealKeys::new([]).unwrap_err(), SealError::NoKeys);
        assert_eq!(
            SealKeys::new([key("a", 1), key("a", 2)]).unwrap_err(),
            SealError::DuplicateKeyId("a".into())
        );
        for bad in ["", "has.dot", "has space", &"x".repeat(33), "é"] {
            assert!(
                matches!(SealKey::new(bad, &[0; 32]), Err(SealError::InvalidKeyId(_))),
                "{bad:?}"
            );
        }
        assert!(SealKey::new("2025-01_a", &[0; 32]).is_ok());
    }

    #[test]
    fn keys_are_read_from_either_base64_alphabet_and_must_be_32_bytes() {
        let bytes: Vec<u8> = (0..32).map(|i| i * 8).collect();
        let set = |k: SealKey| SealKeys::new([k]).unwrap();
        let reference = set(SealKey::new("k", &bytes.clone().try_into().unwrap()).unwrap());
        let sealed = reference.seal(b"v", "c", &mut counter()).unwrap();
        for encoded in [
            STANDARD.encode(&bytes),
            STANDARD.encode(&bytes).trim_end_matches('=').to_owned(),
            URL_SAFE_NO_PAD.encode(&bytes),
            format!("{}\n", URL_SAFE_NO_PAD.encode(&bytes)),
        ] {
            let key = SealKey::from_base64("k", &encoded).unwrap();
            assert_eq!(set(key).open(&sealed, "c").unwrap().as_slice(), b"v");
        }
        let short = SealKey::from_base64("k", &STANDARD.encode([1u8; 16])).unwrap_err();
        assert!(matches!(short, SealError::InvalidKey { .. }));
        assert!(short.to_string().contains("16 bytes"));
        assert!(matches!(
            SealKey::from_base64("k", "not base64 at all!"),
            Err(SealError::InvalidKey { .. })
        ));
    }

    #[test]
    fn generated_keys_are_usable_and_differ() {
        let a = generate_key(&mut crate::entropy::OsEntropy).unwrap();
        let b = generate_key(&mut crate::entropy::OsEntropy).unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 43);
        assert!(SealKey::from_base64("k", a.expose()).is_ok());
    }

    #[test]
    fn key_material_never_prints() {
        let encoded = URL_SAFE_NO_PAD.encode([0xAB; 32]);
        let k = SealKey::from_base64("visible-id", &encoded).unwrap();
        let set = SealKeys::new([k.clone()]).unwrap();
        for printed in [format!("{k:?}"), format!("{set:?}")] {
            assert!(printed.contains("visible-id"), "{printed}");
            assert!(!printed.contains(&encoded[..8]), "{printed}");
            assert!(!printed.to_lowercase().contains("abab"), "{printed}");
        }
        let error = SealKey::from_base64("k", &STANDARD.encode([0xCD; 31])).unwrap_err();
        assert!(!error
            .to_string()
            .contains(&STANDARD.encode([0xCD; 31])[..8]));
    }
}

//! Sign-ins that a web backend starts on one request (`begin`) and finishes on
//! another (`complete`, when the authorization server redirects the user to the
//! backend's own callback URL), possibly on another instance.
//!
//! A [`PendingSignIn`] is what finishing needs: the code grant with its PKCE
//! verifier and expected issuer, the host's own data (which connection this is),
//! who started it and until when. It waits in one of two places:
//!
//! - **stored**: `state` is random ([RFC 6749 §10.12](https://www.rfc-editor.org/rfc/rfc6749#section-10.12))
//!   and the record waits in the host's store under [`store_key`]. The host
//!   *takes* it (reads and deletes in one step) before the code is exchanged, so
//!   a replayed callback finds nothing.
//! - **sealed**: no server-side record; the record itself, sealed under a host key
//!   ([`crate::seal`]), is the `state`. A replayed callback is refused by the
//!   authorization server, for whom a code is single-use (RFC 6749 §4.1.2).
//!
//! Either way a record expires ([`DEFAULT_TTL_SECS`]) and is bound to a
//! *subject*, the app's signed-in user: a callback completed in another user's
//! session is refused, which is what stops login CSRF
//! ([RFC 9700 §4.7](https://www.rfc-editor.org/rfc/rfc9700#section-4.7)). The
//! checks run in this order: the record is found (or opens), it has not expired,
//! the subject matches, then the callback itself (`iss`, `error`, `code`).

use crate::authorize;
use crate::dpop::{self, DpopError, ProofTarget, UnsignedProof};
use crate::entropy::Entropy;
use crate::error::Error;
use crate::flow::CodeGrant;
use crate::http::{HttpRequest, HttpResponse};
use crate::seal::SealKeys;
use crate::session::Session;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use url::Url;

/// How long a sign-in may wait for its callback unless the host says otherwise.
pub const DEFAULT_TTL_SECS: u64 = 600;

/// The longest sealed `state` that `begin` hands out. Authorization servers and
/// proxies commonly accept URLs of 8 KiB; the whole authorization URL stays well
/// below that.
pub const MAX_SEALED_STATE_LEN: usize = 2048;

/// The associated data of a sealed `state`, so that no other sealed value (a
/// store entry) can pose as one.
const SEALED_STATE_CONTEXT: &str = "mcp-oauth/pending-sign-in";

/// Why a callback cannot finish a pending sign-in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInError {
    /// Nothing matches the callback's `state`.
    #[error("no pending sign-in matches the callback's state: it was forged, already completed, or is unreadable")]
    UnknownState,
    /// The callback came after the record's lifetime.
    #[error("the sign-in expired at {expired_at} (seconds since the epoch); start it again")]
    Expired {
        /// When it expired.
        expired_at: u64,
    },
    /// Another user of the app finishes a sign-in someone else started.
    #[error("the sign-in was started by another user of this app; refusing to complete it (possible login CSRF)")]
    SubjectMismatch,
    /// The pending sign-in does not fit in a `state`.
    #[error("the sealed state would be {len} characters, over the limit of {max}; use stored pending sign-ins")]
    StateTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The host named no subject.
    #[error("a web sign-in needs a subject (the app's signed-in user) to bind it to")]
    NoSubject,
}

/// A keyed digest of the subject: the record says whose it is without naming them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
struct SubjectTag(String);

impl SubjectTag {
    fn of(subject: &str) -> Self {
        let digest = Sha256::new()
            .chain_update(b"mcp-oauth/subject\0")
            .chain_update(subject.as_bytes())
            .finalize();
        Self(URL_SAFE_NO_PAD.encode(&digest[..16]))
    }

    fn matches(&self, subject: &str) -> bool {
        Self::of(subject)
            .0
            .as_bytes()
            .ct_eq(self.0.as_bytes())
            .into()
    }
}

impl std::fmt::Debug for SubjectTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubjectTag(..)")
    }
}

/// The store key of the stored sign-in whose `state` is `state`.
pub fn store_key(state: &str) -> String {
    format!("pending/{state}")
}

/// A sign-in waiting for its callback. `H` is the host's own data about it
/// (which connection, how to sign in again), carried along unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSignIn<H> {
    #[serde(rename = "exp")]
    expires_at: u64,
    #[serde(rename = "sub")]
    subject: SubjectTag,
    #[serde(rename = "code")]
    grant: CodeGrant,
    host: H,
}

impl<H: Serialize + DeserializeOwned> PendingSignIn<H> {
    /// A sign-in `subject` started at `now`, valid for `ttl_secs`.
    pub fn new(
        grant: CodeGrant,
        host: H,
        subject: &str,
        now: u64,
        ttl_secs: u64,
    ) -> Result<Self, Error> {
        if subject.is_empty() {
            return Err(SignInError::NoSubject.into());
        }
        Ok(Self {
            expires_at: now.saturating_add(ttl_secs),
            subject: SubjectTag::of(subject),
            grant,
            host,
        })
    }

    /// When the sign-in stops being accepted (seconds since the epoch).
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// The host's data.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// The `state` of a stored sign-in: the random one drawn for its grant.
    pub fn stored_state(&self) -> &str {
        self.grant.state()
    }

    /// The authorization URL, carrying `state`.
    pub fn authorization_url(&self, state: &str) -> Url {
        self.grant.authorization_url_with_state(state)
    }

    /// The record as the host stores it (it holds the PKCE verifier: store it
    /// where tokens go).
    pub fn to_json(&self) -> Result<String, Error> {
        serde_json::to_string(self).map_err(|e| Error::Config(e.to_string()))
    }

    /// A stored record read back; one that does not parse matches nothing.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|_| SignInError::UnknownState.into())
    }

    /// The record sealed into a `state` value (at most [`MAX_SEALED_STATE_LEN`]
    /// characters of base64url and dots).
    pub fn seal(&self, keys: &SealKeys, entropy: &mut dyn Entropy) -> Result<String, Error> {
        let json = zeroize::Zeroizing::new(self.to_json()?);
        let state = keys.seal(json.as_bytes(), SEALED_STATE_CONTEXT, entropy)?;
        if state.len() > MAX_SEALED_STATE_LEN {
            return Err(SignInError::StateTooLong {
                len: state.len(),
                max: MAX_SEALED_STATE_LEN,
            }
            .into());
        }
        Ok(state)
    }

    /// The record a sealed `state` carries. Anything that does not open (forged,
    /// altered, sealed with a retired key) matches nothing.
    pub fn unseal(state: &str, keys: &SealKeys) -> Result<Self, Error> {
        if state.len() > MAX_SEALED_STATE_LEN {
            return Err(SignInError::UnknownState.into());
        }
        let json = keys
            .open(state, SEALED_STATE_CONTEXT)
            .map_err(|_| SignInError::UnknownState)?;
        serde_json::from_slice(&json).map_err(|_| SignInError::UnknownState.into())
    }

    /// Checks the record against who completes it and when, then the callback
    /// (which must carry `state`, the value the record was found by), and
    /// prepares the code exchange. The host's data comes back with it.
    pub fn complete(
        self,
        callback_url: &str,
        state: &str,
        subject: &str,
        now: u64,
    ) -> Result<(H, CodeExchange), Error> {
        if now >= self.expires_at {
            return Err(SignInError::Expired {
                expired_at: self.expires_at,
            }
            .into());
        }
        if !self.subject.matches(subject) {
            return Err(SignInError::SubjectMismatch.into());
        }
        let mut grant = self.grant;
        grant.expect_state(state.to_owned());
        grant.on_callback(callback_url, now)?;
        Ok((self.host, CodeExchange::accepted(grant)?))
    }
}

/// The `state` of a callback URL, to find its pending sign-in by.
pub fn callback_state(callback_url: &str) -> Result<String, Error> {
    Ok(authorize::callback_state(callback_url)?)
}

/// An accepted callback whose code is about to be exchanged.
#[derive(Debug, Clone)]
pub struct CodeExchange {
    grant: CodeGrant,
    request: HttpRequest,
}

impl CodeExchange {
    /// The exchange of a grant whose callback was just accepted.
    pub(crate) fn accepted(grant: CodeGrant) -> Result<Self, Error> {
        let request = grant
            .exchange_request()
            .cloned()
            .ok_or(Error::UnexpectedEvent {
                state: "waiting for a callback",
                event: "a callback that prepared no exchange",
            })?;
        Ok(Self { grant, request })
    }

    /// The token request to send (RFC 6749 §4.1.3, with the PKCE verifier).
    pub fn request(&self) -> &HttpRequest {
        &self.request
    }

    /// The DPoP proof the exchange must carry, made at `now` (RFC 9449 §5): the
    /// sign-in began bound to a key, which the pending record kept; `None` for a
    /// bearer sign-in. Sign it with [`CodeExchange::sign_proof`] and send it in the
    /// [`crate::dpop::HEADER`] header.
    pub fn dpop_proof(
        &self,
        now: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<Option<UnsignedProof>, Error> {
        let Some(binding) = self.grant.dpop() else {
            return Ok(None);
        };
        let target = ProofTarget {
            method: self.request.method.as_str(),
            url: &self.request.url,
            access_token: None,
            body: None,
        };
        Ok(Some(binding.proof(target, now, entropy)?))
    }

    /// The key the exchange's proofs are made for, when the host signs them
    /// itself (a browser's non-extractable WebCrypto key); `None` for a bearer
    /// sign-in.
    pub fn dpop_key(&self) -> Option<&dpop::DpopKey> {
        self.grant.dpop().map(|binding| &binding.key)
    }

    /// Signs a proof with the key the pending sign-in kept.
    pub fn sign_proof(&self, proof: UnsignedProof) -> Result<String, Error> {
        let binding = self.grant.dpop().ok_or(DpopError::KeyNotHeld)?;
        Ok(binding.key.sign(proof)?)
    }

    /// Reads the answer to an exchange sent with a proof: keeps the server's DPoP
    /// nonce and says whether to send the exchange once more with it (RFC 9449
    /// §8; only when `retried` is false). Always `false` for a bearer sign-in.
    pub fn dpop_retry(&mut self, response: &HttpResponse, retried: bool) -> bool {
        let url = self.request.url.clone();
        self.grant.dpop_mut().is_some_and(|binding| {
            binding.on_response(dpop::Server::Authorization, &url, response, retried)
        })
    }

    /// Reads the token endpoint's answer into a session (bound to the sign-in's
    /// DPoP key when it has one).
    pub fn on_response(&self, response: &HttpResponse, now: u64) -> Result<Session, Error> {
        self.grant
            .on_token_response(response, now, self.grant.dpop())
    }
}

#[cfg(test)]
mod tests;

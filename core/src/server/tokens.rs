//! Issuing tokens
//! ([RFC 6749 §5.1](https://www.rfc-editor.org/rfc/rfc6749#section-5.1)): a
//! [`Grant`] (what the user approved, for whom) becomes an opaque bearer access
//! token and, when the server issues them, a refresh token of the grant's
//! [family](super::refresh::RefreshFamily).
//!
//! Every value the host stores is keyed by [`token_key`], the SHA-256 of the
//! token, never by the token itself: a leaked table of codes or tokens then hands
//! out nothing usable. The records are plain serde data, so a host may keep them
//! in any database (or seal them).

use super::refresh::RefreshFamily;
use crate::entropy::{random_token, Entropy, EntropyError};
use crate::secret::Secret;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// Random bytes in every code, token and family id the toolkit mints.
pub(crate) const TOKEN_BYTES: usize = 32;
/// Random bytes in a refresh-token family id.
pub(crate) const FAMILY_ID_BYTES: usize = 16;

/// The key a code, access token or refresh token is stored under: base64url of
/// its SHA-256.
pub fn token_key(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// What an access or refresh token lets its holder do: the outcome of a code
/// exchange or a refresh, before tokens are minted for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The client the tokens are for.
    pub client_id: String,
    /// The user who approved, as the host identifies them.
    pub subject: Option<String>,
    /// The scopes granted (space-separated).
    pub scope: Option<String>,
    /// The audience (RFC 8707 `resource`).
    pub resource: Option<String>,
    /// The family every token of this grant belongs to: the unit that is revoked
    /// when a spent code or refresh token is replayed.
    pub family_id: String,
    /// For a refresh: the family record it was checked against, which issuing
    /// rotates. `None` for a code exchange.
    pub refreshing: Option<RefreshFamily>,
}

/// What the host stores for an access token, under the token's [`token_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenRecord {
    /// The client it was issued to.
    pub client_id: String,
    /// The user who approved.
    pub subject: Option<String>,
    /// Granted scopes (space-separated).
    pub scope: Option<String>,
    /// The audience; a resource server accepts only tokens for itself.
    pub resource: Option<String>,
    /// The grant family (revoke every token whose `family_id` matches).
    pub family_id: String,
    /// Issued at, seconds since the epoch.
    pub issued_at: u64,
    /// Expires at, seconds since the epoch.
    pub expires_at: u64,
}

/// Freshly minted tokens: the response to send and the records to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTokens {
    /// The bearer token.
    pub access_token: Secret,
    /// Store [`access`](Self::access) under this key.
    pub access_key: String,
    /// The access token's record.
    pub access: AccessTokenRecord,
    /// The new refresh token, when one is issued.
    pub refresh_token: Option<Secret>,
    /// The refresh-token family to store under its `id`, replacing the stored
    /// one, when it changed (new or rotated). A host with concurrent writers
    /// stores it only if the stored record's `generation` is still
    /// `family.generation - 1` (or absent, for a new family); otherwise it
    /// treats the request as a replay.
    pub family: Option<RefreshFamily>,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl IssuedTokens {
    /// The RFC 6749 §5.1 JSON body.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "access_token": self.access_token.expose(),
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        });
        if let Some(scope) = &self.access.scope {
            body["scope"] = Value::String(scope.clone());
        }
        if let Some(refresh) = &self.refresh_token {
            body["refresh_token"] = Value::String(refresh.expose().to_owned());
        }
        body
    }
}

/// How tokens are minted: lifetimes and refresh behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Issuance {
    pub access_token_lifetime_secs: u64,
    pub issue_refresh_tokens: bool,
    pub rotate_refresh_tokens: bool,
    pub refresh_token_lifetime_secs: Option<u64>,
}

/// Mints an access token for `grant`, and a refresh token when the settings say
/// so: a new family after a code exchange, the next generation of the family
/// after a refresh with rotation, nothing new after one without.
pub(crate) fn issue(
    grant: &Grant,
    settings: Issuance,
    now: u64,
    entropy: &mut dyn Entropy,
) -> Result<IssuedTokens, EntropyError> {
    let access_token = Secret::new(random_token(entropy, TOKEN_BYTES)?);
    let expires_in = settings.access_token_lifetime_secs;
    let access = AccessTokenRecord {
        client_id: grant.client_id.clone(),
        subject: grant.subject.clone(),
        scope: grant.scope.clone(),
        resource: grant.resource.clone(),
        family_id: grant.family_id.clone(),
        issued_at: now,
        expires_at: now.saturating_add(expires_in),
    };
    let (refresh_token, family) = match &grant.refreshing {
        Some(family) if settings.rotate_refresh_tokens => {
            let (token, rotated) = family.rotate(entropy)?;
            (Some(token), Some(rotated))
        }
        Some(_) => (None, None),
        None if settings.issue_refresh_tokens => {
            let (token, family) =
                RefreshFamily::start(grant, now, settings.refresh_token_lifetime_secs, entropy)?;
            (Some(token), Some(family))
        }
        None => (None, None),
    };
    Ok(IssuedTokens {
        access_key: token_key(access_token.expose()),
        access_token,
        access,
        refresh_token,
        family,
        expires_in,
    })
}

/// `<family id>.<secret>`: the family id a refresh token names, or `None` for a
/// token this toolkit did not mint.
pub fn refresh_family_id(refresh_token: &str) -> Option<&str> {
    let (family, secret) = refresh_token.split_once('.')?;
    let base64url = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (base64url(family) && base64url(secret)).then_some(family)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |buf: &mut [u8]| {
            n = n.wrapping_add(1);
            buf.fill(n);
        }
    }

    fn grant() -> Grant {
        Grant {
            client_id: "mcp-agent".into(),
            subject: Some("alice".into()),
            scope: Some("mcp".into()),
            resource: Some("https://app.example/mcp".into()),
            family_id: "fam".into(),
            refreshing: None,
        }
    }

    fn settings() -> Issuance {
        Issuance {
            access_token_lifetime_secs: 600,
            issue_refresh_tokens: true,
            rotate_refresh_tokens: true,
            refresh_token_lifetime_secs: Some(86_400),
        }
    }

    #[test]
    fn a_code_exchange_mints_an_access_token_and_starts_a_family() {
        let issued = issue(&grant(), settings(), 1_000, &mut counter()).unwrap();
        assert_eq!(issued.access_key, token_key(issued.access_token.expose()));
        assert_eq!(issued.access.expires_at, 1_600);
        assert_eq!(issued.access.family_id, "fam");
        let refresh = issued.refresh_token.clone().expect("a refresh token");
        assert_eq!(refresh_family_id(refresh.expose()), Some("fam"));
        let family = issued.family.clone().expect("a new family");
        assert_eq!(family.generation, 0);
        assert_eq!(family.expires_at, Some(87_400));
        let body = issued.body();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 600);
        assert_eq!(body["scope"], "mcp");
        assert_eq!(body["refresh_token"], refresh.expose());
        assert!(!format!("{issued:?}").contains(issued.access_token.expose()));
    }

    #[test]
    fn refresh_tokens_follow_the_settings() {
        let none = Issuance {
            issue_refresh_tokens: false,
            ..settings()
        };
        let issued = issue(&grant(), none, 0, &mut counter()).unwrap();
        assert!(issued.refresh_token.is_none() && issued.family.is_none());
        assert!(issued.body().get("refresh_token").is_none());

        let (_, family) = RefreshFamily::start(&grant(), 0, None, &mut counter()).unwrap();
        let refreshing = Grant {
            refreshing: Some(family.clone()),
            ..grant()
        };
        let rotated = issue(&refreshing, settings(), 10, &mut counter()).unwrap();
        assert_eq!(rotated.family.as_ref().map(|f| f.generation), Some(1));
        assert!(rotated.refresh_token.is_some());
        let kept = Issuance {
            rotate_refresh_tokens: false,
            ..settings()
        };
        let kept = issue(&refreshing, kept, 10, &mut counter()).unwrap();
        assert!(kept.refresh_token.is_none() && kept.family.is_none());
    }

    #[test]
    fn only_well_formed_refresh_tokens_name_a_family() {
        assert_eq!(refresh_family_id("abc.def"), Some("abc"));
        assert_eq!(refresh_family_id("a-_9.Z"), Some("a-_9"));
        for bad in ["", "abc", ".def", "abc.", "a.b.c", "a b.c", "ab+.c"] {
            assert_eq!(refresh_family_id(bad), None, "{bad}");
        }
    }
}

//! Refresh-token rotation with replay detection
//! ([RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6),
//! [OAuth 2.1 §4.3.1](https://datatracker.ietf.org/doc/html/draft-ietf-oauth-v2-1-13#section-4.3.1),
//! [RFC 9700 §4.14.2](https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2)).
//!
//! Every refresh token belongs to a family: the tokens descending from one code
//! exchange. The host stores one [`RefreshFamily`] per family; it remembers only
//! the key of the family's current token. A refresh token is written
//! `<family id>.<secret>`, so a presented token names its family even after it
//! was rotated away: presenting any token of the family but the current one means
//! two parties hold the family's tokens — one of them stolen — and the whole
//! family is revoked, the legitimate client included (it signs in again).

use super::error::TokenEndpointError;
use super::tokens::{token_key, Grant, FAMILY_ID_BYTES, TOKEN_BYTES};
use crate::entropy::{random_token, Entropy, EntropyError};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

/// One family of refresh tokens, as the host stores it (under `id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshFamily {
    /// The family id, also the first part of each of its refresh tokens.
    pub id: String,
    /// The client the family belongs to.
    pub client_id: String,
    /// The user who approved the original grant.
    pub subject: Option<String>,
    /// The original grant's scopes: the most any refresh may ask for.
    pub scope: Option<String>,
    /// The original grant's resource.
    pub resource: Option<String>,
    /// [`token_key`] of the only refresh token of this family that still works.
    pub current: String,
    /// How many times the family was rotated.
    pub generation: u32,
    /// When the family started, seconds since the epoch.
    pub created_at: u64,
    /// When every token of the family stops working (no sliding renewal), if
    /// ever.
    pub expires_at: Option<u64>,
}

impl RefreshFamily {
    /// A new family for a code exchange's grant, with its first token.
    pub(crate) fn start(
        grant: &Grant,
        now: u64,
        lifetime_secs: Option<u64>,
        entropy: &mut dyn Entropy,
    ) -> Result<(Secret, RefreshFamily), EntropyError> {
        let token = mint(&grant.family_id, entropy)?;
        let family = RefreshFamily {
            id: grant.family_id.clone(),
            client_id: grant.client_id.clone(),
            subject: grant.subject.clone(),
            scope: grant.scope.clone(),
            resource: grant.resource.clone(),
            current: token_key(token.expose()),
            generation: 0,
            created_at: now,
            expires_at: lifetime_secs.map(|l| now.saturating_add(l)),
        };
        Ok((token, family))
    }

    /// The family's next token, and the family record that makes it the only
    /// valid one.
    pub(crate) fn rotate(
        &self,
        entropy: &mut dyn Entropy,
    ) -> Result<(Secret, RefreshFamily), EntropyError> {
        let token = mint(&self.id, entropy)?;
        let family = RefreshFamily {
            current: token_key(token.expose()),
            generation: self.generation.saturating_add(1),
            ..self.clone()
        };
        Ok((token, family))
    }

    /// Checks a presented refresh token against this family: the right client,
    /// not expired, and the current token — any other token of the family is a
    /// replay, answered with `revoke_family`.
    pub(crate) fn check(
        &self,
        client_id: &str,
        refresh_token: &str,
        now: u64,
    ) -> Result<(), TokenEndpointError> {
        if self.client_id != client_id {
            return Err(TokenEndpointError::invalid_grant(
                "the refresh token was issued to another client",
            ));
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            return Err(TokenEndpointError::invalid_grant(
                "the refresh token expired; sign in again",
            ));
        }
        let presented = token_key(refresh_token);
        if !bool::from(presented.as_bytes().ct_eq(self.current.as_bytes())) {
            return Err(TokenEndpointError {
                revoke_family: Some(self.id.clone()),
                ..TokenEndpointError::invalid_grant(
                    "the refresh token was already used; every token of this grant is revoked, sign in again",
                )
            });
        }
        Ok(())
    }
}

/// A fresh family id.
pub(crate) fn new_family_id(entropy: &mut dyn Entropy) -> Result<String, EntropyError> {
    random_token(entropy, FAMILY_ID_BYTES)
}

fn mint(family_id: &str, entropy: &mut dyn Entropy) -> Result<Secret, EntropyError> {
    Ok(Secret::new(format!(
        "{family_id}.{}",
        random_token(entropy, TOKEN_BYTES)?
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tokens::refresh_family_id;

    fn counter() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |buf: &mut [u8]| {
            n = n.wrapping_add(1);
            buf.fill(n);
        }
    }

    fn grant() -> Grant {
        Grant {
            client_id: "app".into(),
            subject: None,
            scope: Some("mcp".into()),
            resource: None,
            family_id: "fam1".into(),
            refreshing: None,
        }
    }

    #[test]
    fn rotation_makes_only_the_newest_token_valid() {
        let mut entropy = counter();
        let (first, family) = RefreshFamily::start(&grant(), 100, None, &mut entropy).unwrap();
        assert_eq!(refresh_family_id(first.expose()), Some("fam1"));
        assert_eq!(family.check("app", first.expose(), 200), Ok(()));
        let (second, rotated) = family.rotate(&mut entropy).unwrap();
        assert_ne!(first, second);
        assert_eq!(rotated.generation, 1);
        assert_eq!(refresh_family_id(second.expose()), Some("fam1"));
        assert_eq!(rotated.check("app", second.expose(), 200), Ok(()));
        let replay = rotated.check("app", first.expose(), 200).unwrap_err();
        assert_eq!(replay.revoke_family.as_deref(), Some("fam1"));
        assert_eq!(replay.status(), 400);
    }

    #[test]
    fn another_client_or_an_expired_family_is_refused_without_revocation() {
        let (token, family) =
            RefreshFamily::start(&grant(), 100, Some(50), &mut counter()).unwrap();
        let other = family.check("other", token.expose(), 120).unwrap_err();
        assert_eq!(other.revoke_family, None);
        let expired = family.check("app", token.expose(), 150).unwrap_err();
        assert_eq!(expired.revoke_family, None);
        assert_eq!(family.check("app", token.expose(), 149), Ok(()));
    }

    #[test]
    fn a_forged_secret_in_a_known_family_revokes_it() {
        let (_, family) = RefreshFamily::start(&grant(), 0, None, &mut counter()).unwrap();
        let forged = family.check("app", "fam1.AAAA", 1).unwrap_err();
        assert_eq!(forged.revoke_family.as_deref(), Some("fam1"));
    }
}

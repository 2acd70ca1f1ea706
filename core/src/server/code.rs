//! Authorization codes
//! ([RFC 6749 §4.1.2](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2),
//! [§4.1.3](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3)): a short-lived,
//! single-use code, and the [`CodeRecord`] the host stores for it, bound to the
//! client, redirect URI, PKCE challenge (RFC 7636 §4.6), scope, resource
//! (RFC 8707) and user.
//!
//! Single use is the host's part, because only the store can make it atomic: on
//! a token request the host fetches the record and, in the same step, marks it
//! `consumed` (or deletes it), then hands core the record *as it was fetched*.
//! Core refuses a consumed record, and asks for the grant's tokens to be revoked
//! (`revoke_family`), since a replayed code means it leaked (RFC 6749 §4.1.2).
//! Marking it before any check means a wrong verifier spends the code too, so a
//! verifier cannot be guessed.

use super::authorization::AuthorizationRequest;
use super::error::TokenEndpointError;
use super::resource_indicator::check_same;
use super::tokens::Grant;
use crate::pkce;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// What the host stores for an authorization code, under the code's
/// [`token_key`](super::tokens::token_key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRecord {
    /// The client the code was issued to.
    pub client_id: String,
    /// The redirect URI of the authorization request, which the token request
    /// must repeat.
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The scopes approved.
    pub scope: Option<String>,
    /// The resource the tokens will be bound to.
    pub resource: Option<String>,
    /// The user who approved, as the host identifies them.
    pub subject: Option<String>,
    /// The grant family the code's tokens will belong to.
    pub family_id: String,
    /// Issued at, seconds since the epoch.
    pub issued_at: u64,
    /// The code stops being exchangeable at this time.
    pub expires_at: u64,
    /// Set by the host when a token request presents the code.
    #[serde(default)]
    pub consumed: bool,
}

/// A freshly issued code: what to store, and where to send the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    /// The code itself (it travels in `redirect_to`).
    pub code: Secret,
    /// Store [`record`](Self::record) under this key.
    pub key: String,
    /// The record to store.
    pub record: CodeRecord,
    /// The authorization response: the redirect URI with `code`, `state` and
    /// `iss`.
    pub redirect_to: String,
}

impl CodeRecord {
    /// The record for a code answering `request`.
    pub(crate) fn new(
        request: &AuthorizationRequest,
        subject: Option<String>,
        family_id: String,
        now: u64,
        lifetime_secs: u64,
    ) -> Self {
        CodeRecord {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            code_challenge: request.code_challenge.clone(),
            scope: request.scope.clone(),
            resource: request.resource.clone(),
            subject,
            family_id,
            issued_at: now,
            expires_at: now.saturating_add(lifetime_secs),
            consumed: false,
        }
    }

    /// Checks a code exchange (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 8707 §2.2)
    /// by an authenticated client and returns what it grants.
    pub(crate) fn redeem(
        &self,
        client_id: &str,
        redirect_uri: &str,
        code_verifier: &str,
        resource: Option<&str>,
        now: u64,
    ) -> Result<Grant, TokenEndpointError> {
        if self.client_id != client_id {
            return Err(TokenEndpointError::invalid_grant(
                "the code was issued to another client",
            ));
        }
        if self.consumed {
            return Err(TokenEndpointError {
                revoke_family: Some(self.family_id.clone()),
                ..TokenEndpointError::invalid_grant(
                    "the authorization code was already used; the tokens issued for it are revoked",
                )
            });
        }
        if self.expires_at <= now {
            return Err(TokenEndpointError::invalid_grant(
                "the authorization code expired",
            ));
        }
        if self.redirect_uri != redirect_uri {
            return Err(TokenEndpointError::invalid_grant(
                "redirect_uri differs from the authorization request",
            ));
        }
        if !pkce::verify_s256(code_verifier, &self.code_challenge) {
            return Err(TokenEndpointError::invalid_grant(
                "code_verifier does not match the code_challenge",
            ));
        }
        check_same(self.resource.as_deref(), resource).map_err(|e| {
            TokenEndpointError::new(super::error::TokenErrorCode::InvalidTarget, e.to_string())
        })?;
        Ok(Grant {
            client_id: self.client_id.clone(),
            subject: self.subject.clone(),
            scope: self.scope.clone(),
            resource: self.resource.clone(),
            family_id: self.family_id.clone(),
            refreshing: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::error::TokenErrorCode;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const REDIRECT: &str = "http://127.0.0.1:5000/callback";
    const MCP: &str = "https://app.example/mcp";

    fn record() -> CodeRecord {
        let request = AuthorizationRequest {
            client_id: "mcp-agent".into(),
            redirect_uri: REDIRECT.into(),
            scope: Some("mcp".into()),
            state: Some("s".into()),
            code_challenge: CHALLENGE.into(),
            resource: Some(MCP.into()),
        };
        CodeRecord::new(&request, Some("alice".into()), "fam".into(), 1_000, 60)
    }

    #[test]
    fn a_matching_exchange_grants_what_was_approved() {
        let grant = record()
            .redeem("mcp-agent", REDIRECT, VERIFIER, Some(MCP), 1_059)
            .unwrap();
        assert_eq!(
            grant,
            Grant {
                client_id: "mcp-agent".into(),
                subject: Some("alice".into()),
                scope: Some("mcp".into()),
                resource: Some(MCP.into()),
                family_id: "fam".into(),
                refreshing: None,
            }
        );
    }

    #[test]
    fn exchange_checks_table() {
        use TokenErrorCode::*;
        let consumed = CodeRecord {
            consumed: true,
            ..record()
        };
        let wrong_verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl";
        // (record, client, redirect, verifier, resource, now, code, revokes)
        let table = [
            (
                record(),
                "other",
                REDIRECT,
                VERIFIER,
                Some(MCP),
                1_001,
                InvalidGrant,
                false,
            ),
            (
                consumed,
                "mcp-agent",
                REDIRECT,
                VERIFIER,
                Some(MCP),
                1_001,
                InvalidGrant,
                true,
            ),
            (
                record(),
                "mcp-agent",
                REDIRECT,
                VERIFIER,
                Some(MCP),
                1_060,
                InvalidGrant,
                false,
            ),
            (
                record(),
                "mcp-agent",
                "http://127.0.0.1:5001/callback",
                VERIFIER,
                Some(MCP),
                1_001,
                InvalidGrant,
                false,
            ),
            (
                record(),
                "mcp-agent",
                REDIRECT,
                wrong_verifier,
                Some(MCP),
                1_001,
                InvalidGrant,
                false,
            ),
            (
                record(),
                "mcp-agent",
                REDIRECT,
                "short",
                Some(MCP),
                1_001,
                InvalidGrant,
                false,
            ),
            (
                record(),
                "mcp-agent",
                REDIRECT,
                VERIFIER,
                None,
                1_001,
                InvalidTarget,
                false,
            ),
            (
                record(),
                "mcp-agent",
                REDIRECT,
                VERIFIER,
                Some("https://app.example/other"),
                1_001,
                InvalidTarget,
                false,
            ),
        ];
        for (record, client, redirect, verifier, resource, now, code, revokes) in table {
            let error = record
                .redeem(client, redirect, verifier, resource, now)
                .unwrap_err();
            assert_eq!(
                error.code, code,
                "{client} {redirect} {verifier} {resource:?} {now}"
            );
            assert_eq!(error.revoke_family.is_some(), revokes, "{error}");
        }
    }

    #[test]
    fn a_record_round_trips_through_json_and_defaults_to_unconsumed() {
        let json = serde_json::to_value(record()).unwrap();
        let mut without_flag = json.clone();
        without_flag.as_object_mut().unwrap().remove("consumed");
        let back: CodeRecord = serde_json::from_value(without_flag).unwrap();
        assert_eq!(back, record());
        assert!(!json.to_string().contains(VERIFIER));
    }
}

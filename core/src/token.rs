//! Token requests (RFC 6749 §4.1.3, §6, §4.4) and responses (§5.1, §5.2).
//!
//! Every request carries `resource` (RFC 8707) when there is one, and the client
//! authentication of the original grant. Responses become a [`TokenSet`] with an
//! absolute expiry computed from the `now` the caller passes.
//!
//! CONTRACT (stub: to be implemented).

use crate::http::{BodyError, HttpRequest, HttpResponse};
use crate::registration::ClientCredentials;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use url::Url;

/// Tokens from one grant, with absolute times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    /// The bearer token.
    pub access_token: Secret,
    /// `Bearer` (compared case-insensitively when parsed).
    pub token_type: String,
    /// When the access token expires, in seconds since the epoch; `None` if the server
    /// did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The refresh token, if one was issued (or kept from an earlier response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// The granted scope: the response's `scope`, else the requested one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When these tokens were received (seconds since the epoch).
    pub received_at: u64,
}

impl TokenSet {
    /// Folds a refresh response into the current tokens: a response without a
    /// `refresh_token` keeps the old one (RFC 6749 §6), and one without `scope`
    /// keeps the old scope.
    pub fn refreshed(self, newer: TokenSet) -> TokenSet {
        let _ = newer;
        todo!()
    }
}

/// An RFC 6749 §5.2 error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    /// The code or refresh token is invalid, expired, revoked or reused.
    InvalidGrant,
    /// Client authentication failed.
    InvalidClient,
    /// The request is malformed.
    InvalidRequest,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The scope is invalid or exceeds the grant.
    InvalidScope,
    /// Any other code the server sent.
    #[serde(untagged)]
    Other(String),
}

impl OAuthErrorCode {
    /// Parses the `error` string.
    pub fn from_name(name: &str) -> Self {
        let _ = name;
        todo!()
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::Other(s) => s,
        }
    }
}

/// The token endpoint did not issue tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// An RFC 6749 §5.2 error response.
    #[error("token request rejected ({status}): {}{}", error.as_str(), description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The OAuth error code.
        error: OAuthErrorCode,
        /// The server's explanation.
        description: Option<String>,
    },
    /// A non-2xx status without an RFC 6749 error body.
    #[error("token endpoint answered HTTP {status} without an OAuth error")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
    },
    /// The body could not be read.
    #[error("token response is unreadable: {0}")]
    Body(BodyError),
    /// The body lacks a required field or has an invalid one.
    #[error("token response is invalid: {0}")]
    Invalid(String),
    /// A token type this client cannot use (for example `DPoP`).
    #[error("token type {0} is not supported; only Bearer is")]
    UnsupportedTokenType(String),
    /// A secret-based client has no secret.
    #[error(transparent)]
    ClientAuth(#[from] crate::client_auth::ClientAuthError),
}

/// The authorization-code exchange (RFC 6749 §4.1.3 + PKCE + RFC 8707).
pub fn authorization_code_request(
    token_endpoint: &Url,
    client: &ClientCredentials,
    code: &Secret,
    redirect_uri: &str,
    code_verifier: &Secret,
    resource: Option<&str>,
) -> Result<HttpRequest, TokenError> {
    let _ = (
        token_endpoint,
        client,
        code,
        redirect_uri,
        code_verifier,
        resource,
    );
    todo!()
}

/// A refresh (RFC 6749 §6) carrying the original grant's resource and scope.
pub fn refresh_request(
    token_endpoint: &Url,
    client: &ClientCredentials,
    refresh_token: &Secret,
    resource: Option<&str>,
    scope: Option<&str>,
) -> Result<HttpRequest, TokenError> {
    let _ = (token_endpoint, client, refresh_token, resource, scope);
    todo!()
}

/// A client-credentials grant (RFC 6749 §4.4) for machine-to-machine access.
pub fn client_credentials_request(
    token_endpoint: &Url,
    client: &ClientCredentials,
    scope: Option<&str>,
    resource: Option<&str>,
) -> Result<HttpRequest, TokenError> {
    let _ = (token_endpoint, client, scope, resource);
    todo!()
}

/// Reads a token response received at `now`; `requested_scope` fills in `scope`
/// when the response omits it (RFC 6749 §5.1: omitted means "as requested").
pub fn parse_token_response(
    response: &HttpResponse,
    now: u64,
    requested_scope: Option<&str>,
) -> Result<TokenSet, TokenError> {
    let _ = (response, now, requested_scope);
    todo!()
}

//! Checks for an authorization server that serves MCP clients: loopback redirect
//! URIs on any port (RFC 8252 §7.3), PKCE verification (RFC 7636 §4.6) and
//! authorization-request validation.
//!
//! CONTRACT (stub: to be implemented).

use serde::{Deserialize, Serialize};

/// Which redirect URIs a server accepts for a client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectPolicy {
    /// Exact https redirect URIs registered for web clients.
    pub allowed_https: Vec<String>,
}

/// Why a redirect URI is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    /// Not an absolute URL.
    #[error("redirect_uri is not a valid absolute URL")]
    Malformed,
    /// Carries a fragment (RFC 6749 §3.1.2).
    #[error("redirect_uri must not contain a fragment")]
    Fragment,
    /// Carries userinfo (`user@host`), a classic host-confusion trick.
    #[error("redirect_uri must not contain user information")]
    UserInfo,
    /// Neither loopback http nor an allowlisted https URI.
    #[error("redirect_uri is neither a loopback http URI nor a registered https URI")]
    NotAllowed,
}

/// RFC 8252 §7.3: `http://127.0.0.1`, `http://[::1]` and `http://localhost` on any
/// port and path; otherwise only exact allowlisted https URIs.
pub fn validate_redirect_uri(
    redirect_uri: &str,
    policy: &RedirectPolicy,
) -> Result<(), RedirectUriError> {
    let _ = (redirect_uri, policy);
    todo!()
}

/// A registered client as the AS sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredClient {
    /// The client identifier.
    pub client_id: String,
    /// Redirect policy for this client.
    pub redirect_policy: RedirectPolicy,
    /// Scopes this client may request; empty means any of the server's scopes.
    pub allowed_scopes: Vec<String>,
}

/// An authorization request's parameters as received (RFC 6749 §4.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationParams {
    /// `response_type`.
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `resource` (RFC 8707).
    pub resource: Option<String>,
}

impl AuthorizationParams {
    /// Reads the parameters from a query string; a repeated parameter is an error.
    pub fn from_query(query: &str) -> Result<Self, AuthorizationRequestError> {
        let _ = query;
        todo!()
    }
}

/// A validated authorization request, ready for consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidAuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// Where to send the user back.
    pub redirect_uri: String,
    /// Granted scopes (space-separated), if any were requested.
    pub scope: Option<String>,
    /// The client's state, echoed back.
    pub state: Option<String>,
    /// The S256 challenge to check at the token endpoint.
    pub code_challenge: String,
    /// The resource the token will be bound to.
    pub resource: Option<String>,
}

/// Why an authorization request is refused; `redirectable` errors may be sent to
/// the redirect URI (RFC 6749 §4.1.2.1), the others must be shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationRequestError {
    /// Missing or unknown client: never redirect.
    #[error("unknown or missing client_id")]
    UnknownClient,
    /// Bad redirect URI: never redirect.
    #[error(transparent)]
    RedirectUri(#[from] RedirectUriError),
    /// A parameter appears more than once.
    #[error("parameter {0} is repeated")]
    DuplicateParameter(String),
    /// `response_type` is not `code`.
    #[error("unsupported_response_type: only response_type=code is supported")]
    UnsupportedResponseType,
    /// No `code_challenge`: PKCE is mandatory.
    #[error("invalid_request: code_challenge is required (PKCE)")]
    PkceMissing,
    /// A method other than S256.
    #[error("invalid_request: code_challenge_method must be S256")]
    PkceMethod,
    /// A scope outside the allowlist.
    #[error("invalid_scope: {0} is not allowed for this client")]
    InvalidScope(String),
}

impl AuthorizationRequestError {
    /// The RFC 6749 error code to send to the client.
    pub fn oauth_error(&self) -> &'static str {
        match self {
            AuthorizationRequestError::UnknownClient
            | AuthorizationRequestError::RedirectUri(_)
            | AuthorizationRequestError::DuplicateParameter(_)
            | AuthorizationRequestError::PkceMissing
            | AuthorizationRequestError::PkceMethod => "invalid_request",
            AuthorizationRequestError::UnsupportedResponseType => "unsupported_response_type",
            AuthorizationRequestError::InvalidScope(_) => "invalid_scope",
        }
    }

    /// Whether the error may be reported by redirecting to the client.
    pub fn redirectable(&self) -> bool {
        !matches!(
            self,
            AuthorizationRequestError::UnknownClient
                | AuthorizationRequestError::RedirectUri(_)
                | AuthorizationRequestError::DuplicateParameter(_)
        )
    }
}

/// Validates an authorization request against the registered client and the
/// server's scopes: client, redirect URI, response type, PKCE S256, scope allowlist.
pub fn validate_authorization_request(
    params: &AuthorizationParams,
    client: Option<&RegisteredClient>,
    server_scopes: &[String],
) -> Result<ValidAuthorizationRequest, AuthorizationRequestError> {
    let _ = (params, client, server_scopes);
    todo!()
}

//! Getting a `client_id`, in the MCP priority order: a pre-registered client for
//! this authorization server, a Client ID Metadata Document, RFC 7591 dynamic
//! registration, and finally telling the user to register one by hand.
//!
//! CONTRACT (stub: to be implemented).

use crate::client_auth::AuthMethod;
use crate::discovery::AuthorizationServerMetadata;
use crate::http::{BodyError, HttpRequest, HttpResponse};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use url::Url;

/// Client credentials, bound to the one authorization server that issued them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCredentials {
    /// The issuer these credentials belong to; never used with another AS.
    pub issuer: String,
    /// The client identifier.
    pub client_id: String,
    /// The client secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// How to authenticate at the token endpoint.
    pub auth_method: AuthMethod,
    /// When the secret expires (seconds since the epoch); absent or 0 means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
}

/// A client the user or app registered beforehand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreRegisteredClient {
    /// The issuer it was registered with; `None` means "whatever AS this server uses".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The client identifier.
    pub client_id: String,
    /// The secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// A fixed auth method; otherwise chosen from the AS metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthMethod>,
}

/// `native` for loopback redirect URIs, `web` for remote https ones (OIDC Registration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationType {
    /// Desktop/CLI apps receiving the callback on loopback.
    Native,
    /// Backends receiving the callback on an https URL.
    Web,
}

/// What the client sends to register itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMetadata {
    /// Shown to the user on the consent screen.
    pub client_name: String,
    /// Exactly the redirect URI(s) the client will use.
    pub redirect_uris: Vec<String>,
    /// `authorization_code` and `refresh_token`.
    pub grant_types: Vec<String>,
    /// `code`.
    pub response_types: Vec<String>,
    /// `none` for public clients.
    pub token_endpoint_auth_method: String,
    /// Native or web, from the redirect URI.
    pub application_type: ApplicationType,
    /// Scopes the client intends to request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The next registration step for an authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationPlan {
    /// Use these credentials as they are.
    Known(ClientCredentials),
    /// Use the Client ID Metadata Document URL as `client_id` (auth method `none`).
    ClientIdMetadataDocument(ClientCredentials),
    /// POST this RFC 7591 request.
    Dynamic(HttpRequest),
    /// Nothing automatic is possible: the user must register a client by hand.
    ManualRequired,
}

/// Registration failed or is impossible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// 401/403 from the registration endpoint: registration is closed.
    #[error("registration refused ({status}) by {issuer}: register an OAuth app with this server yourself and use the manual preset")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The authorization server.
        issuer: String,
    },
    /// The server rejected the metadata (RFC 7591 §3.2.2), e.g. `invalid_redirect_uri`.
    #[error("registration rejected by {issuer}: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// The authorization server.
        issuer: String,
        /// The RFC 7591 error code.
        error: String,
        /// The server's explanation.
        description: Option<String>,
    },
    /// No pre-registered client, no usable CIMD, no registration endpoint.
    #[error("{issuer} supports neither dynamic client registration nor client ID metadata documents: register an OAuth app with this server yourself and use the manual preset")]
    ManualRequired {
        /// The authorization server.
        issuer: String,
    },
    /// The registration response could not be used.
    #[error("registration response from {issuer} is invalid: {reason}")]
    InvalidResponse {
        /// The authorization server.
        issuer: String,
        /// What is wrong.
        reason: String,
    },
    /// A pre-registered client cannot authenticate the way the AS demands.
    #[error(transparent)]
    ClientAuth(#[from] crate::client_auth::ClientAuthError),
    /// The registration response body could not be read.
    #[error("registration response from {issuer} is unreadable: {source}")]
    Body {
        /// The authorization server.
        issuer: String,
        /// Why.
        source: BodyError,
    },
}

/// The metadata to register a public client using `redirect_uri`.
pub fn client_metadata(
    client_name: &str,
    redirect_uri: &str,
    scope: Option<&str>,
) -> ClientMetadata {
    let _ = (client_name, redirect_uri, scope);
    todo!()
}

/// Decides how to get a client for `metadata`'s AS, in the MCP priority order.
/// `preregistered` entries whose issuer is set and differs are skipped; the auth
/// method of a pre-registered client without one is chosen from the AS metadata.
pub fn plan(
    metadata: &AuthorizationServerMetadata,
    preregistered: &[PreRegisteredClient],
    client_metadata_url: Option<&str>,
    request: &ClientMetadata,
) -> Result<RegistrationPlan, RegistrationError> {
    let _ = (metadata, preregistered, client_metadata_url, request);
    todo!()
}

/// Reads a registration response into credentials bound to `metadata.issuer`.
pub fn parse_registration_response(
    metadata: &AuthorizationServerMetadata,
    response: &HttpResponse,
) -> Result<ClientCredentials, RegistrationError> {
    let _ = (metadata, response);
    todo!()
}

/// Whether a `client_id` is a Client ID Metadata Document URL: https with a path.
pub fn is_client_id_metadata_url(client_id: &str) -> bool {
    let _ = Url::parse(client_id);
    todo!()
}

//! Finding the authorization server: protected-resource metadata (RFC 9728) and
//! authorization-server metadata (RFC 8414, OpenID Connect Discovery 1.0), with the
//! candidate URLs in exactly the order the MCP specification gives, and the
//! 2025-03-26 fallbacks for servers that predate RFC 9728.
//!
//! CONTRACT (stub: to be implemented).

use crate::http::{BodyError, HttpResponse};
use serde::{Deserialize, Serialize};
use url::Url;

/// RFC 9728 protected-resource metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The resource identifier; must match the server being accessed.
    pub resource: String,
    /// Issuer identifiers of the authorization servers that protect it.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// Scopes the resource understands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
}

/// RFC 8414 authorization-server metadata, the fields an OAuth client uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier, exactly as the document states it.
    pub issuer: String,
    /// Where the user authorizes.
    pub authorization_endpoint: Url,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: Url,
    /// RFC 7591 dynamic registration, when offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<Url>,
    /// Scopes the server knows (used to decide on `offline_access`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// PKCE methods; must contain `S256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Token-endpoint client authentication methods; absent means `client_secret_basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Grant types; absent means `authorization_code` and `implicit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// Whether a URL-formatted `client_id` (a Client ID Metadata Document) is accepted.
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    /// RFC 9207: callbacks carry `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

impl AuthorizationServerMetadata {
    /// Whether the server lists `scope` in `scopes_supported`.
    pub fn supports_scope(&self, scope: &str) -> bool {
        self.scopes_supported
            .as_deref()
            .is_some_and(|s| s.iter().any(|x| x == scope))
    }
}

/// Discovery failed in a way the user or developer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// A metadata document could not be read.
    #[error("metadata at {url} is unreadable: {source}")]
    Body {
        /// Where the document came from.
        url: String,
        /// Why it could not be read.
        source: BodyError,
    },
    /// A metadata document lacks a required field or has an invalid one.
    #[error("metadata at {url} is invalid: {reason}")]
    Invalid {
        /// Where the document came from.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// RFC 9728 §3.3: the PRM describes a different resource.
    #[error("protected-resource metadata is for {found}, not for {expected}; refusing to use it")]
    ResourceMismatch {
        /// The server URL being accessed.
        expected: String,
        /// The `resource` the metadata named.
        found: String,
    },
    /// RFC 8414 §3.3: the document's issuer differs from the one used to find it.
    #[error("authorization server metadata names issuer {found}, expected exactly {expected}; refusing to use it")]
    IssuerMismatch {
        /// The issuer used to build the metadata URL.
        expected: String,
        /// The issuer the document states.
        found: String,
    },
    /// PKCE S256 is not advertised, so the MCP spec forbids proceeding.
    #[error("authorization server {issuer} does not advertise PKCE S256 support (code_challenge_methods_supported); MCP requires it")]
    PkceNotSupported {
        /// The authorization server.
        issuer: String,
    },
    /// An endpoint is neither https nor loopback.
    #[error("{what} {url} must use https (plain http is allowed only on loopback)")]
    InsecureEndpoint {
        /// Which endpoint.
        what: &'static str,
        /// The offending URL.
        url: String,
    },
    /// No candidate URL produced usable authorization-server metadata.
    #[error("no authorization server metadata found for {issuer} (tried {tried})")]
    AuthorizationServerNotFound {
        /// The issuer being looked up.
        issuer: String,
        /// The URLs tried, comma-separated.
        tried: String,
    },
    /// A URL (server, issuer, metadata) could not be parsed.
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
}

/// RFC 9728 §3.1 well-known URLs for a resource, in the order to try them:
/// path-suffixed first, then the root (the first is skipped when the path is `/`).
pub fn protected_resource_metadata_urls(server: &Url) -> Vec<Url> {
    let _ = server;
    todo!()
}

/// RFC 8414 §3.1 / OIDC discovery URLs for an issuer, in exactly the MCP order.
pub fn authorization_server_metadata_urls(issuer: &str) -> Result<Vec<Url>, DiscoveryError> {
    let _ = issuer;
    todo!()
}

/// 2025-03-26 servers without RFC 9728 metadata: the MCP server's origin acts as the
/// issuer (no path, no trailing slash), e.g. `https://h:8443`.
pub fn legacy_issuer(server: &Url) -> String {
    let _ = server;
    todo!()
}

/// 2025-03-26 default endpoints when the origin has no metadata either:
/// `/authorize`, `/token` and `/register` at the server's origin.
pub fn legacy_default_metadata(server: &Url) -> AuthorizationServerMetadata {
    let _ = server;
    todo!()
}

/// The canonical resource URI (RFC 8707 §2, MCP "Canonical Server URI") for a server
/// URL: lower-case scheme and host, no fragment, no trailing slash on an empty path.
pub fn canonical_resource_uri(server: &Url) -> String {
    let _ = server;
    todo!()
}

/// Parses a PRM response fetched from `url`.
pub fn parse_protected_resource_metadata(
    url: &Url,
    response: &HttpResponse,
) -> Result<ProtectedResourceMetadata, DiscoveryError> {
    let _ = (url, response);
    todo!()
}

/// RFC 9728 §3.3: the PRM's `resource` must identify the server being accessed.
pub fn check_resource(
    metadata: &ProtectedResourceMetadata,
    server: &Url,
) -> Result<(), DiscoveryError> {
    let _ = (metadata, server);
    todo!()
}

/// Parses and validates AS metadata fetched from `url` for `expected_issuer`: the
/// issuer must be identical, endpoints https-or-loopback, S256 advertised.
pub fn parse_authorization_server_metadata(
    url: &Url,
    expected_issuer: &str,
    response: &HttpResponse,
) -> Result<AuthorizationServerMetadata, DiscoveryError> {
    let _ = (url, expected_issuer, response);
    todo!()
}

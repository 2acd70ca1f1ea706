//! The authorization-server side, as a sans-IO toolkit: the mirror of the client
//! in the rest of this crate. Each step of the authorization-code flow is a
//! decision over values the host hands in; the host owns HTTP, storage, the
//! clock (`now`, seconds since the epoch), the user and the consent page.
//!
//! | step | host does | core decides |
//! | --- | --- | --- |
//! | `GET /authorize` | [`AuthorizationParams::from_query`], looks up the [`Client`] | [`AuthorizationServer::validate_authorization_request`]: redirect policy ([RFC 8252 §7.3](https://www.rfc-editor.org/rfc/rfc8252#section-7.3)), PKCE S256, scope policy, resource; where an error may go |
//! | consent | shows the [`AuthorizationRequest`] | [`AuthorizationServer::issue_code`] (a [`CodeRecord`] to store, the redirect with `state` and `iss` per RFC 9207) or [`AuthorizationServer::deny`] |
//! | `POST /token` | [`TokenRequest::parse`], looks up client and record | [`AuthorizationServer::exchange_code`] / [`AuthorizationServer::refresh`]: client authentication, PKCE, redirect URI, resource, single use, replay → revoke the family |
//! | tokens | stores the records | [`AuthorizationServer::issue_tokens`]: access token, rotated refresh token, the RFC 6749 §5.1 body |
//! | errors | sends them | [`TokenEndpointError`]: RFC 6749 §5.2 status, body, headers |
//! | metadata | serves them | [`AuthorizationServer::metadata`] (RFC 8414), [`ProtectedResource::metadata`] (RFC 9728) |
//! | the resource | [`bearer_token`], looks up the record | [`ProtectedResource::verify`] and [`ProtectedResource::challenge`] |
//!
//! Every record the host stores ([`CodeRecord`], [`RefreshFamily`],
//! [`AccessTokenRecord`]) is serde data keyed by [`token_key`] (a hash, never the
//! token), so a host may keep it in any database or seal it. Randomness comes
//! through [`Entropy`](crate::entropy::Entropy).

pub mod authorization;
mod authorization_server;
pub mod client;
pub mod client_metadata;
pub mod code;
pub mod error;
pub mod metadata;
pub mod protected_resource;
pub mod redirect;
pub mod refresh;
pub mod resource_indicator;
pub mod response;
pub mod scope;
pub mod token_request;
pub mod tokens;

#[cfg(test)]
mod tests;

pub use authorization::{AuthorizationParams, AuthorizationRequest, AuthorizationRequestError};
pub use authorization_server::{
    AuthorizationRefusal, AuthorizationServer, ConfigError, ServerConfig,
};
pub use client::{Client, ClientError, PresentedClient};
pub use client_metadata::ClientMetadataError;
pub use code::{CodeRecord, IssuedCode};
pub use error::{TokenEndpointError, TokenErrorCode};
pub use protected_resource::{bearer_token, BearerError, ProtectedResource};
pub use redirect::{RedirectPolicy, RedirectPolicyError, RedirectUriError};
pub use refresh::RefreshFamily;
pub use resource_indicator::{ResourceError, ResourcePolicy};
pub use scope::{ScopeError, ScopePolicy};
pub use token_request::{TokenGrant, TokenRequest};
pub use tokens::{token_key, AccessTokenRecord, Grant, IssuedTokens};

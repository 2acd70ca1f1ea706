//! The JavaScript shapes of `mcp_oauth::core::server`'s values. Each mirrors a
//! core type field for field (camelCase in JavaScript) and converts through
//! core's own serde form, so core stays the only definition of what a record
//! holds; [`to_core`] and [`from_core`] are the whole conversion. Times are
//! seconds since the epoch, as in core. Records a host stores (`CodeRecord`,
//! `RefreshFamily`, `AccessTokenRecord`, `AuthorizationRequest`) are plain
//! objects: `JSON.stringify` them into any database.

use crate::error::invalid_argument;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A JavaScript value as the core type of the same shape; a mismatch is an
/// `invalid_argument` error naming the field.
pub fn to_core<T: DeserializeOwned>(env: &Env, what: &str, value: &impl Serialize) -> Result<T> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| invalid_argument(env, format!("{what}: {e}")))
}

/// A core value as its JavaScript shape.
pub fn from_core<T: DeserializeOwned>(env: &Env, value: &impl Serialize) -> Result<T> {
    to_core(env, "result", value)
}

/// How an authorization server behaves. Every field but the three URLs is
/// optional.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct ServerConfig {
    /// The issuer identifier (RFC 8414): https, or http on a loopback host.
    pub issuer: String,
    /// The authorization endpoint's URL, as advertised.
    pub authorization_endpoint: String,
    /// The token endpoint's URL, as advertised.
    pub token_endpoint: String,
    /// The RFC 7591 registration endpoint, if the app offers one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// `scopes_supported` of the metadata document; also the allow-list of
    /// clients learned at run time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// Granted to a client learned at run time when it names no scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_scopes: Option<Vec<String>>,
    /// Token-endpoint client authentication accepted (default: all three).
    #[napi(ts_type = "Array<'none' | 'client_secret_basic' | 'client_secret_post'>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_methods: Option<Vec<String>>,
    /// Which `resource` values tokens may be issued for (RFC 8707).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcePolicy>,
    /// Send and advertise RFC 9207 `iss` (default: true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss_parameter: Option<bool>,
    /// Accept URL client ids (Client ID Metadata Documents) and advertise it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id_metadata_documents: Option<bool>,
    /// Also accept `http://` loopback URL client ids (tests only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id_metadata_documents_on_loopback_http: Option<bool>,
    /// How long a code may wait for its exchange, in seconds (default: 60).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_lifetime_secs: Option<u32>,
    /// Access-token lifetime (`expires_in`), in seconds (default: 3600).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_lifetime_secs: Option<u32>,
    /// Issue refresh tokens and accept the refresh grant (default: true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_refresh_tokens: Option<bool>,
    /// Rotate refresh tokens with replay detection (default: true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotate_refresh_tokens: Option<bool>,
    /// Lifetime of a refresh-token family from sign-in, in seconds (default: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_lifetime_secs: Option<u32>,
}

/// Which resources tokens may be issued for.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct ResourcePolicy {
    /// Resource URIs, compared as strings; empty: any absolute URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    /// Refuse authorization requests that name no resource.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<bool>,
}

/// A client the server accepts.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct Client {
    /// The `client_id`.
    pub client_id: String,
    /// Which redirect URIs it may use (default: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<RedirectPolicy>,
    /// Which scopes it may be granted (default: any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopePolicy>,
    /// How it authenticates at the token endpoint (default: `['none']`, a public client).
    #[napi(ts_type = "Array<'none' | 'client_secret_basic' | 'client_secret_post'>")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_methods: Option<Vec<String>>,
    /// The secret of a confidential client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// Which redirect URIs one client may use.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct RedirectPolicy {
    /// Registered redirect URIs, compared exactly; for a loopback one only the
    /// port may differ (RFC 8252 §7.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uris: Option<Vec<String>>,
    /// Loopback origins (`'http://localhost'`, `'http://127.0.0.1'`,
    /// `'http://[::1]'`, or https) on which any port and path is accepted: for
    /// hard-coded public clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any_loopback: Option<Vec<String>>,
}

/// Which scopes one client may be granted.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct ScopePolicy {
    /// The scopes it may be granted; absent: any well-formed scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<Vec<String>>,
    /// Granted when the request names no scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Vec<String>>,
    /// Every grant must include these (else `invalid_scope`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<Vec<String>>,
}

/// An authorization request's parameters, as received.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct AuthorizationParams {
    /// `response_type`.
    pub response_type: Option<String>,
    /// `client_id`: look the client up by it.
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

/// A validated authorization request, waiting for the user's consent. Keep it
/// (in the session, or sealed in the consent form) until the answer.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// Where the user goes back to.
    pub redirect_uri: String,
    /// The scopes to grant (space-separated).
    pub scope: Option<String>,
    /// The client's `state`.
    pub state: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The resource the tokens will be for.
    pub resource: Option<String>,
}

/// What to store for an authorization code, under `IssuedCode.key`.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct CodeRecord {
    /// The client it was issued to.
    pub client_id: String,
    /// The redirect URI the token request must repeat.
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub code_challenge: String,
    /// The scopes approved.
    pub scope: Option<String>,
    /// The resource.
    pub resource: Option<String>,
    /// The user who approved.
    pub subject: Option<String>,
    /// The grant family its tokens belong to.
    pub family_id: String,
    /// Issued at (seconds since the epoch).
    pub issued_at: i64,
    /// Not exchangeable from then on (seconds since the epoch).
    pub expires_at: i64,
    /// Set it (in the same step as reading the record) when a token request
    /// presents the code; a consumed code presented again revokes its tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumed: Option<bool>,
}

/// A fresh code.
#[napi(object, namespace = "server", object_from_js = false)]
pub struct IssuedCode {
    /// The code (it travels in `redirectTo`).
    pub code: String,
    /// Store `record` under this key (a hash of the code).
    pub key: String,
    /// The record to store.
    pub record: CodeRecord,
    /// Redirect the user here: the redirect URI with `code`, `state` and `iss`.
    pub redirect_to: String,
}

/// The client credentials of a token request.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct PresentedClient {
    /// The `client_id` it claims: look the client up by it.
    pub client_id: String,
    /// How it authenticates.
    #[napi(ts_type = "'none' | 'client_secret_basic' | 'client_secret_post'")]
    pub method: String,
    /// The secret it presents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// The grant of a token request.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct TokenGrant {
    /// Which grant.
    #[napi(ts_type = "'authorization_code' | 'refresh_token'")]
    pub grant_type: String,
    /// `authorization_code`: the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// `authorization_code`: the redirect URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE verifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_verifier: Option<String>,
    /// `refresh_token`: the refresh token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// `refresh_token`: a narrower scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A parsed token request.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct TokenRequest {
    /// Who it says it comes from.
    pub client: PresentedClient,
    /// The grant it uses.
    pub grant: TokenGrant,
    /// The RFC 8707 `resource`.
    pub resource: Option<String>,
}

/// What the token endpoint received.
#[napi(object, namespace = "server", object_to_js = false)]
pub struct TokenHttpRequest {
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The raw body (with Express: `express.raw({ type: () => true })`).
    pub body: Either<String, Buffer>,
}

/// What a refresh token, a code exchange or a refresh grants.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct Grant {
    /// The client.
    pub client_id: String,
    /// The user who approved.
    pub subject: Option<String>,
    /// The scopes granted.
    pub scope: Option<String>,
    /// The resource.
    pub resource: Option<String>,
    /// The grant family.
    pub family_id: String,
    /// For a refresh: the family record being rotated.
    pub refreshing: Option<RefreshFamily>,
}

/// What to store for a family of refresh tokens, under its `id`.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct RefreshFamily {
    /// The family id (the first part of each of its refresh tokens).
    pub id: String,
    /// The client.
    pub client_id: String,
    /// The user who approved.
    pub subject: Option<String>,
    /// The original grant's scopes.
    pub scope: Option<String>,
    /// The original grant's resource.
    pub resource: Option<String>,
    /// The key of the only refresh token that still works.
    pub current: String,
    /// How many times the family was rotated.
    pub generation: u32,
    /// When the family started (seconds since the epoch).
    pub created_at: i64,
    /// When every token of the family stops working, if ever.
    pub expires_at: Option<i64>,
}

/// What to store for an access token, under `IssuedTokens.accessKey`.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct AccessTokenRecord {
    /// The client.
    pub client_id: String,
    /// The user who approved.
    pub subject: Option<String>,
    /// The scopes granted (space-separated).
    pub scope: Option<String>,
    /// The audience.
    pub resource: Option<String>,
    /// The grant family (revoke every record with this id on a replay).
    pub family_id: String,
    /// Issued at (seconds since the epoch).
    pub issued_at: i64,
    /// Expires at (seconds since the epoch).
    pub expires_at: i64,
}

/// Freshly minted tokens.
#[napi(object, namespace = "server", object_from_js = false)]
pub struct IssuedTokens {
    /// The bearer token.
    pub access_token: String,
    /// Store `access` under this key.
    pub access_key: String,
    /// The access token's record.
    pub access: AccessTokenRecord,
    /// The new refresh token, if one was issued.
    pub refresh_token: Option<String>,
    /// Store this family under its `id` when present (new or rotated).
    pub family: Option<RefreshFamily>,
    /// Seconds until the access token expires.
    pub expires_in: u32,
    /// The RFC 6749 §5.1 JSON body to send.
    #[napi(
        ts_type = "{ access_token: string; token_type: 'Bearer'; expires_in: number; refresh_token?: string; scope?: string }"
    )]
    pub body: serde_json::Value,
    /// The headers to send with it (`Cache-Control: no-store`, ...).
    pub headers: HashMap<String, String>,
}

/// A fetched Client ID Metadata Document.
#[napi(object, namespace = "server", object_to_js = false)]
pub struct FetchedDocument {
    /// The HTTP status.
    pub status: u16,
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The body.
    pub body: Either<String, Buffer>,
}

/// A resource server (an MCP endpoint) accepting the server's tokens.
#[napi(object, namespace = "server")]
#[derive(Serialize, Deserialize)]
pub struct ProtectedResourceOptions {
    /// The resource identifier: the MCP endpoint's URL.
    pub resource: String,
    /// Issuers of the authorization servers that issue its tokens.
    pub authorization_servers: Vec<String>,
    /// `scopes_supported` of its metadata document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// The scopes a `401` challenge names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub challenge_scopes: Option<Vec<String>>,
    /// Where its metadata document is served (named in `401` challenges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_metadata_url: Option<String>,
    /// A human-readable name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
}

/// Bytes of a string or `Buffer` body.
pub fn body_bytes(body: &Either<String, Buffer>) -> &[u8] {
    match body {
        Either::A(text) => text.as_bytes(),
        Either::B(buffer) => buffer,
    }
}

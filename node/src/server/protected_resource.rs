//! `server.ProtectedResource`, `server.bearerToken` and `server.tokenKey`: the
//! resource server's side (an MCP endpoint accepting the server's tokens).

use super::authorization_server::seconds;
use super::error;
use super::types::{to_core, AccessTokenRecord, ProtectedResourceOptions};
use mcp_oauth::core::server as core;
use napi::bindgen_prelude::*;
use napi_derive::napi;

/// An MCP endpoint accepting the authorization server's tokens: its RFC 9728
/// metadata document, and whether a request's bearer token admits it.
#[napi(namespace = "server")]
pub struct ProtectedResource {
    inner: core::ProtectedResource,
}

#[napi(namespace = "server")]
impl ProtectedResource {
    /// A protected resource.
    #[napi(constructor)]
    pub fn new(env: Env, options: ProtectedResourceOptions) -> Result<Self> {
        Ok(ProtectedResource {
            inner: to_core(&env, "options", &options)?,
        })
    }

    /// The RFC 9728 metadata document, to serve at
    /// `/.well-known/oauth-protected-resource` plus the resource's path.
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn metadata(&self) -> serde_json::Value {
        self.inner.metadata()
    }

    /// Whether a request may proceed: `token` from `bearerToken(...)` (null when
    /// none), `record` your lookup of `tokenKey(token)`. Throws with `status`
    /// (401, or 403 for `insufficient_scope`), `wwwAuthenticate` and `headers`
    /// to send, and `code`: `missing_token`, `invalid_token` or
    /// `insufficient_scope`.
    #[napi]
    pub fn verify(
        &self,
        env: Env,
        token: Option<String>,
        record: Option<AccessTokenRecord>,
        required_scopes: Option<Vec<String>>,
        now: Option<f64>,
    ) -> Result<()> {
        let record: Option<core::AccessTokenRecord> =
            record.map(|r| to_core(&env, "record", &r)).transpose()?;
        self.inner
            .verify(
                token.as_deref(),
                record.as_ref(),
                &required_scopes.unwrap_or_default(),
                seconds(&env, now)?,
            )
            .map_err(|e| error::bearer(&env, &self.inner, &e))
    }
}

/// The token of an `Authorization: Bearer <token>` header, or `null`.
#[napi(namespace = "server")]
pub fn bearer_token(authorization: Option<String>) -> Option<String> {
    core::bearer_token(authorization.as_deref()).map(str::to_owned)
}

/// The key a code, access token or refresh token's record is stored under: a
/// hash of it, never the token itself.
#[napi(namespace = "server")]
pub fn token_key(token: String) -> String {
    core::token_key(&token)
}

//! `server.AuthorizationServer`: `mcp_oauth::core::server::AuthorizationServer`
//! for JavaScript. Each method is one decision; the app's routes store records
//! and answer HTTP.

use super::error;
use super::types::{
    body_bytes, from_core, to_core, AuthorizationParams, AuthorizationRequest, Client, CodeRecord,
    FetchedDocument, Grant, IssuedCode, IssuedTokens, RefreshFamily, ScopePolicy, ServerConfig,
    TokenHttpRequest, TokenRequest,
};
use crate::error::{invalid_argument, js_error};
use mcp_oauth::core::entropy::OsEntropy;
use mcp_oauth::core::http::HttpResponse;
use mcp_oauth::core::server as core;
use mcp_oauth::core::server::error::no_store_json_headers;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::time::{SystemTime, UNIX_EPOCH};

/// One authorization server's decisions: validate authorization requests
/// (redirect, scope and resource policies, PKCE S256), issue codes, check token
/// requests (client authentication, PKCE, redirect URI, resource, single use),
/// rotate refresh tokens with replay detection, and build the metadata
/// document. It stores nothing: the app keeps clients and records.
#[napi(namespace = "server")]
pub struct AuthorizationServer {
    inner: core::AuthorizationServer,
}

#[napi(namespace = "server")]
impl AuthorizationServer {
    /// Checks the configuration (`code: 'invalid_config'` when it cannot work).
    #[napi(constructor)]
    pub fn new(env: Env, config: ServerConfig) -> Result<Self> {
        let config: core::ServerConfig = to_core(&env, "config", &config)?;
        let inner = core::AuthorizationServer::new(config)
            .map_err(|e| js_error(&env, "invalid_config", &e.to_string()))?;
        Ok(AuthorizationServer { inner })
    }

    /// The issuer identifier.
    #[napi(getter)]
    pub fn issuer(&self) -> String {
        self.inner.issuer().to_owned()
    }

    /// The RFC 8414 metadata document, to serve at
    /// `/.well-known/oauth-authorization-server` (plus the issuer's path).
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn metadata(&self) -> serde_json::Value {
        self.inner.metadata()
    }

    /// The scope policy for clients learned at run time: `scopesSupported`
    /// with `defaultScopes`.
    #[napi]
    pub fn dynamic_client_scope(&self, env: Env) -> Result<ScopePolicy> {
        from_core(&env, &self.inner.dynamic_client_scope())
    }

    /// Reads an authorization request's query string (a leading `?` is fine).
    /// A repeated parameter throws (`redirectable: false`).
    #[napi]
    pub fn parse_authorization_request(
        &self,
        env: Env,
        query: String,
    ) -> Result<AuthorizationParams> {
        let params = core::AuthorizationParams::from_query(&query)
            .map_err(|e| error::authorization_params(&env, e))?;
        from_core(&env, &params)
    }

    /// Validates an authorization request for `client` (your lookup of
    /// `params.clientId`; `null` when unknown). Returns the request to show on
    /// the consent page. Throws with `code` (`invalid_request`,
    /// `invalid_scope`, `invalid_target`, ...) and `redirectable`: when true,
    /// redirect the user to `redirectTo`; when false, show an error page — never
    /// redirect.
    #[napi]
    pub fn validate_authorization_request(
        &self,
        env: Env,
        params: AuthorizationParams,
        client: Option<Client>,
    ) -> Result<AuthorizationRequest> {
        let params: core::AuthorizationParams = to_core(&env, "params", &params)?;
        let client = client.map(|c| core_client(&env, &c)).transpose()?;
        let request = self
            .inner
            .validate_authorization_request(&params, client.as_ref())
            .map_err(|refusal| error::authorization(&env, refusal))?;
        from_core(&env, &request)
    }

    /// Approves `request` for `subject` (your user id): a single-use code whose
    /// `record` you store under `key`, and the redirect (`redirectTo`) that
    /// delivers it with `state` and `iss`.
    #[napi]
    pub fn issue_code(
        &self,
        env: Env,
        request: AuthorizationRequest,
        subject: Option<String>,
        now: Option<f64>,
    ) -> Result<IssuedCode> {
        let request: core::AuthorizationRequest = to_core(&env, "request", &request)?;
        let issued = self
            .inner
            .issue_code(&request, subject, seconds(&env, now)?, &mut OsEntropy)
            .map_err(|e| js_error(&env, "entropy_unavailable", &e.to_string()))?;
        Ok(IssuedCode {
            code: issued.code.expose().to_owned(),
            key: issued.key,
            record: from_core(&env, &issued.record)?,
            redirect_to: issued.redirect_to,
        })
    }

    /// The redirect answering a request the user denied (`access_denied`).
    #[napi]
    pub fn deny(&self, env: Env, request: AuthorizationRequest) -> Result<String> {
        let request: core::AuthorizationRequest = to_core(&env, "request", &request)?;
        Ok(self.inner.deny(&request))
    }

    /// Reads a token request. Throws a token-endpoint error (see
    /// `exchangeCode`) for a malformed one.
    #[napi]
    pub fn parse_token_request(&self, env: Env, request: TokenHttpRequest) -> Result<TokenRequest> {
        let parsed = core::TokenRequest::parse(
            request.content_type.as_deref(),
            request.authorization.as_deref(),
            body_bytes(&request.body),
        )
        .map_err(|e| error::token_endpoint(&env, e))?;
        from_core(&env, &parsed)
    }

    /// Where the code's record is stored (`IssuedCode.key`), for an
    /// `authorization_code` request.
    #[napi]
    pub fn code_key(&self, env: Env, request: TokenRequest) -> Result<Option<String>> {
        let request: core::TokenRequest = to_core(&env, "request", &request)?;
        Ok(request.code_key())
    }

    /// The refresh-token family to look up, for a `refresh_token` request.
    #[napi]
    pub fn refresh_family_id(&self, env: Env, request: TokenRequest) -> Result<Option<String>> {
        let request: core::TokenRequest = to_core(&env, "request", &request)?;
        Ok(request.refresh_family_id().map(str::to_owned))
    }

    /// The authorization-code grant. `client`: your lookup of
    /// `request.client.clientId`; `record`: the code's record as you found it
    /// under `codeKey(request)` — mark it `consumed` in the same step, before
    /// calling. Throws with `code`, `status`, `headers` and `body` to send; with
    /// `revokeFamily` set, first delete that family and every access token whose
    /// `familyId` matches (a spent code was replayed).
    #[napi]
    pub fn exchange_code(
        &self,
        env: Env,
        request: TokenRequest,
        client: Option<Client>,
        record: Option<CodeRecord>,
        now: Option<f64>,
    ) -> Result<Grant> {
        let request: core::TokenRequest = to_core(&env, "request", &request)?;
        let client = client.map(|c| core_client(&env, &c)).transpose()?;
        let record: Option<core::CodeRecord> =
            record.map(|r| to_core(&env, "record", &r)).transpose()?;
        let grant = self
            .inner
            .exchange_code(
                &request,
                client.as_ref(),
                record.as_ref(),
                seconds(&env, now)?,
            )
            .map_err(|e| error::token_endpoint(&env, e))?;
        from_core(&env, &grant)
    }

    /// The refresh grant. `family`: the record stored under
    /// `refreshFamilyId(request)`. Throws like `exchangeCode`; `revokeFamily`
    /// means a rotated refresh token was replayed.
    #[napi]
    pub fn refresh(
        &self,
        env: Env,
        request: TokenRequest,
        client: Option<Client>,
        family: Option<RefreshFamily>,
        now: Option<f64>,
    ) -> Result<Grant> {
        let request: core::TokenRequest = to_core(&env, "request", &request)?;
        let client = client.map(|c| core_client(&env, &c)).transpose()?;
        let family: Option<core::RefreshFamily> =
            family.map(|f| to_core(&env, "family", &f)).transpose()?;
        let grant = self
            .inner
            .refresh(
                &request,
                client.as_ref(),
                family.as_ref(),
                seconds(&env, now)?,
            )
            .map_err(|e| error::token_endpoint(&env, e))?;
        from_core(&env, &grant)
    }

    /// Mints the tokens of `grant`: store `access` under `accessKey` and
    /// `family` (when present) under `family.id`, then send `body` with
    /// `headers`.
    #[napi]
    pub fn issue_tokens(&self, env: Env, grant: Grant, now: Option<f64>) -> Result<IssuedTokens> {
        let grant: core::Grant = to_core(&env, "grant", &grant)?;
        let issued = self
            .inner
            .issue_tokens(&grant, seconds(&env, now)?, &mut OsEntropy)
            .map_err(|e| js_error(&env, "entropy_unavailable", &e.to_string()))?;
        Ok(IssuedTokens {
            body: issued.body(),
            access_token: issued.access_token.expose().to_owned(),
            access_key: issued.access_key,
            access: from_core(&env, &issued.access)?,
            refresh_token: issued.refresh_token.map(|t| t.expose().to_owned()),
            family: issued.family.map(|f| from_core(&env, &f)).transpose()?,
            expires_in: u32::try_from(issued.expires_in).unwrap_or(u32::MAX),
            headers: no_store_json_headers().into_iter().collect(),
        })
    }

    /// Whether `clientId` is a Client ID Metadata Document URL to fetch (never,
    /// unless `clientIdMetadataDocuments` is on).
    #[napi]
    pub fn is_metadata_client_id(&self, client_id: String) -> bool {
        self.inner.is_metadata_client_id(&client_id)
    }

    /// The client a fetched metadata document describes (fetch it with GET,
    /// no redirects, at most 5 KiB). Throws `invalid_client_metadata`.
    #[napi]
    pub fn client_from_metadata_document(
        &self,
        env: Env,
        client_id: String,
        document: FetchedDocument,
    ) -> Result<Client> {
        let headers = document
            .content_type
            .map(|ct| vec![("Content-Type".to_owned(), ct)])
            .unwrap_or_default();
        let response = HttpResponse::new(document.status, headers, body_bytes(&document.body));
        let client = self
            .inner
            .client_from_metadata_document(&client_id, &response)
            .map_err(|e| js_error(&env, "invalid_client_metadata", &e.to_string()))?;
        from_core(&env, &client)
    }
}

/// A client definition from JavaScript, checked.
fn core_client(env: &Env, client: &Client) -> Result<core::Client> {
    let client: core::Client = to_core(env, "client", client)?;
    client
        .validate()
        .map_err(|e| invalid_argument(env, format!("client: {e}")))?;
    Ok(client)
}

/// `now` in seconds since the epoch, or the current time.
pub fn seconds(env: &Env, now: Option<f64>) -> Result<u64> {
    match now {
        Some(now) if now.is_finite() && now >= 0.0 => Ok(now as u64),
        Some(_) => Err(invalid_argument(env, "now must be seconds since the epoch")),
        None => Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()),
    }
}

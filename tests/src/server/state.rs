//! What the server remembers — the host's half of `mcp_oauth_core::server`, which
//! decides everything and stores nothing: the clients, pending consents, code
//! records, refresh-token families and access-token records (keyed by
//! `token_key`, never by the token), and the request log. One mutex guards the
//! OAuth state; the log has its own so that recording never waits on a handler.

use super::config::TestServerConfig;
use super::log::LoggedRequest;
use mcp_oauth_core::client_auth::AuthMethod;
use mcp_oauth_core::entropy::{random_token, OsEntropy};
use mcp_oauth_core::server::{
    AccessTokenRecord, AuthorizationRequest, AuthorizationServer, Client, CodeRecord,
    ProtectedResource, RedirectPolicy, RefreshFamily, ResourcePolicy, ServerConfig,
};
use mcp_oauth_core::Secret;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// The mutable OAuth state.
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    /// Clients by `client_id`: pre-registered or registered.
    pub clients: HashMap<String, Client>,
    /// Clients read from their metadata documents, by URL.
    pub document_clients: HashMap<String, Client>,
    /// Validated authorization requests awaiting the consent page's answer.
    pub pending: HashMap<String, AuthorizationRequest>,
    /// Code records by code key.
    pub codes: HashMap<String, CodeRecord>,
    /// Refresh-token families by id.
    pub families: HashMap<String, RefreshFamily>,
    /// Access-token records by token key.
    pub access_tokens: HashMap<String, AccessTokenRecord>,
}

impl OAuthState {
    /// A code's record as it was, marking it consumed in the same step (the
    /// single-use half that only the store can do atomically).
    pub fn take_code(&mut self, key: &str) -> Option<CodeRecord> {
        let record = self.codes.get_mut(key)?;
        let before = record.clone();
        record.consumed = true;
        Some(before)
    }

    /// Forgets a grant family: its refresh tokens and its access tokens.
    pub fn revoke_family(&mut self, family_id: &str) {
        self.families.remove(family_id);
        self.access_tokens.retain(|_, a| a.family_id != family_id);
    }
}

/// Everything a handler needs, shared behind an `Arc`.
#[derive(Debug)]
pub(crate) struct AppState {
    /// The knobs.
    pub config: TestServerConfig,
    /// `http://127.0.0.1:P`.
    pub origin: String,
    /// The issuer identifier: the origin plus `issuer_path`.
    pub issuer: String,
    /// The MCP endpoint, which is also the resource identifier.
    pub mcp_url: String,
    /// The authorization-server decisions.
    pub server: AuthorizationServer,
    /// The MCP endpoint as a protected resource.
    pub resource: ProtectedResource,
    /// OAuth state.
    oauth: Mutex<OAuthState>,
    /// Every request served, in order.
    log: Mutex<Vec<LoggedRequest>>,
}

impl AppState {
    /// State for a server listening at `origin`, with the pre-registered client.
    pub fn new(config: TestServerConfig, origin: String) -> Result<Self, String> {
        let issuer = format!("{origin}{}", config.issuer_path);
        let mcp_url = format!("{origin}/mcp");
        let server = AuthorizationServer::new(server_config(&config, &issuer, &mcp_url))
            .map_err(|e| e.to_string())?;
        let resource = ProtectedResource {
            resource: mcp_url.clone(),
            authorization_servers: vec![issuer.clone()],
            scopes_supported: config.scopes_supported.clone(),
            challenge_scopes: config.default_scopes.clone(),
            resource_metadata_url: config
                .prm_in_header
                .then(|| format!("{origin}{}", super::HEADER_PRM_PATH)),
            resource_name: Some("mcp-oauth test server".to_owned()),
        };
        let mut oauth = OAuthState::default();
        if let Some(pre) = &config.pre_registered_client {
            let client = pre_registered(pre, &config, &server);
            client.validate().map_err(|e| e.to_string())?;
            oauth.clients.insert(client.client_id.clone(), client);
        }
        Ok(AppState {
            config,
            origin,
            issuer,
            mcp_url,
            server,
            resource,
            oauth: Mutex::new(oauth),
            log: Mutex::new(Vec::new()),
        })
    }

    /// The OAuth state; a handler that panicked cannot leave it half-written in a
    /// way that matters to a test server, so poisoning is ignored.
    pub fn oauth(&self) -> MutexGuard<'_, OAuthState> {
        self.oauth.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The request log.
    pub fn log(&self) -> MutexGuard<'_, Vec<LoggedRequest>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The URL of an OAuth endpoint below the issuer, e.g. `endpoint("/token")`.
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// Makes every issued access token invalid (refresh tokens stay valid).
    pub fn expire_access_tokens(&self) {
        self.oauth().access_tokens.clear();
    }
}

/// The core configuration the knobs amount to.
fn server_config(config: &TestServerConfig, issuer: &str, mcp_url: &str) -> ServerConfig {
    let endpoint = |path: &str| format!("{issuer}{path}");
    ServerConfig {
        registration_endpoint: (config.registration != super::Registration::Absent)
            .then(|| endpoint("/register")),
        scopes_supported: config.scopes_supported.clone(),
        // A default outside `scopes_supported` could never be granted; it still
        // names itself in the 401 challenge.
        default_scopes: config
            .default_scopes
            .iter()
            .filter(|s| config.scopes_supported.is_empty() || config.scopes_supported.contains(s))
            .cloned()
            .collect(),
        auth_methods: config.token_endpoint_auth_methods.clone(),
        resources: ResourcePolicy {
            allowed: vec![mcp_url.to_owned()],
            required: config.require_resource,
        },
        iss_parameter: config.iss_parameter,
        client_id_metadata_documents: config.client_id_metadata_documents,
        // Every client of a loopback test server is on loopback too.
        client_id_metadata_documents_on_loopback_http: true,
        code_lifetime_secs: 120,
        access_token_lifetime_secs: config.access_token_lifetime_secs,
        issue_refresh_tokens: config.issue_refresh_tokens,
        rotate_refresh_tokens: config.rotate_refresh_tokens,
        refresh_token_lifetime_secs: None,
        ..ServerConfig::new(issuer, endpoint("/authorize"), endpoint("/token"))
    }
}

/// The pre-registered client: public without a secret; with one, any advertised
/// secret-based method.
fn pre_registered(
    pre: &super::PreRegisteredClient,
    config: &TestServerConfig,
    server: &AuthorizationServer,
) -> Client {
    let auth_methods = match pre.client_secret {
        None => vec![AuthMethod::None],
        Some(_) => config
            .token_endpoint_auth_methods
            .iter()
            .copied()
            .filter(|m| *m != AuthMethod::None)
            .collect(),
    };
    Client {
        client_id: pre.client_id.clone(),
        redirect: RedirectPolicy::registered(pre.redirect_uris.clone()),
        scope: server.dynamic_client_scope(),
        auth_methods,
        secret: pre.client_secret.clone().map(Secret::new),
    }
}

/// Seconds since the epoch: the host's clock, handed to core as `now`.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// `prefix_` followed by 32 random bytes in base64url.
pub(crate) fn random_id(prefix: &str) -> String {
    match random_token(&mut OsEntropy, 32) {
        Ok(token) => format!("{prefix}_{token}"),
        // Without an entropy source nothing the server issues can be trusted.
        Err(e) => panic!("no operating-system randomness: {e}"),
    }
}

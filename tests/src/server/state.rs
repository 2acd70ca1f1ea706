//! What the server remembers: registered clients, pending consents, authorization
//! codes, access and refresh tokens, and the request log. One mutex guards the
//! OAuth state; the log has its own so that recording never waits on a handler.

use super::config::TestServerConfig;
use super::log::LoggedRequest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use mcp_oauth_core::client_auth::AuthMethod;
use mcp_oauth_core::server::{RedirectPolicy, RegisteredClient, ValidAuthorizationRequest};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long an authorization code may wait for its exchange.
const CODE_LIFETIME: Duration = Duration::from_secs(120);

/// A client the authorization server knows.
#[derive(Debug, Clone)]
pub(crate) struct Client {
    /// What `core::server` validates authorization requests against.
    pub registered: RegisteredClient,
    /// The secret, for confidential clients.
    pub secret: Option<String>,
    /// How it may authenticate at the token endpoint.
    pub auth_methods: Vec<AuthMethod>,
    /// Registered with `dpop_bound_access_tokens` (RFC 9449 §5.2): its token
    /// requests must carry a DPoP proof.
    pub dpop_bound: bool,
}

/// An authorization code and the request it answers.
#[derive(Debug, Clone)]
pub(crate) struct CodeGrant {
    /// The validated authorization request (client, redirect, scope, challenge,
    /// resource).
    pub request: ValidAuthorizationRequest,
    /// When the code stops being exchangeable.
    pub expires: Instant,
    /// Set on the first exchange; a second one is refused.
    pub used: bool,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub(crate) struct AccessGrant {
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// The audience (RFC 8707 `resource`), if the client named one.
    pub resource: Option<String>,
    /// When it stops being accepted.
    pub expires: Instant,
    /// The thumbprint of the DPoP key it is bound to (RFC 9449 §6), if bound.
    pub jkt: Option<String>,
}

/// An issued refresh token.
#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    /// The client it was issued to.
    pub client_id: String,
    /// The scopes of the original grant (the ceiling of any refresh).
    pub scopes: Vec<String>,
    /// The resource of the original grant.
    pub resource: Option<String>,
    /// Whether it was already exchanged under rotation.
    pub used: bool,
    /// The DPoP key it is bound to (RFC 9449 §5): refreshing needs a proof of it.
    pub jkt: Option<String>,
}

/// The mutable OAuth state.
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    /// Clients by `client_id`.
    pub clients: HashMap<String, Client>,
    /// Validated authorization requests awaiting the consent page's answer.
    pub pending: HashMap<String, ValidAuthorizationRequest>,
    /// Authorization codes.
    pub codes: HashMap<String, CodeGrant>,
    /// Access tokens.
    pub access_tokens: HashMap<String, AccessGrant>,
    /// Refresh tokens.
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    /// The `jti` of every DPoP proof accepted, so none is accepted twice.
    pub dpop_jtis: HashSet<String>,
    /// The nonce the token endpoint demands in DPoP proofs, when it demands one.
    pub as_dpop_nonce: String,
    /// The nonce the MCP endpoint demands in DPoP proofs, when it demands one.
    pub rs_dpop_nonce: String,
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
    /// OAuth state.
    oauth: Mutex<OAuthState>,
    /// Every request served, in order.
    log: Mutex<Vec<LoggedRequest>>,
}

impl AppState {
    /// State for a server listening at `origin`, with the pre-registered client.
    pub fn new(config: TestServerConfig, origin: String) -> Self {
        let issuer = format!("{origin}{}", config.issuer_path);
        let mcp_url = format!("{origin}/mcp");
        let mut oauth = OAuthState::default();
        if let Some(pre) = &config.pre_registered_client {
            let auth_methods = match pre.client_secret {
                None => vec![AuthMethod::None],
                Some(_) => config
                    .token_endpoint_auth_methods
                    .iter()
                    .copied()
                    .filter(|m| *m != AuthMethod::None)
                    .collect(),
            };
            oauth.clients.insert(
                pre.client_id.clone(),
                Client {
                    registered: RegisteredClient {
                        client_id: pre.client_id.clone(),
                        redirect_policy: RedirectPolicy {
                            allowed_https: pre.https_redirect_uris.clone(),
                        },
                        allowed_scopes: Vec::new(),
                    },
                    secret: pre.client_secret.clone(),
                    auth_methods,
                    dpop_bound: false,
                },
            );
        }
        oauth.as_dpop_nonce = random_token("as-nonce");
        oauth.rs_dpop_nonce = random_token("rs-nonce");
        AppState {
            config,
            origin,
            issuer,
            mcp_url,
            oauth: Mutex::new(oauth),
            log: Mutex::new(Vec::new()),
        }
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

    /// The protected-resource metadata URL the 401 challenge advertises.
    pub fn header_prm_url(&self) -> String {
        format!("{}{}", self.origin, super::HEADER_PRM_PATH)
    }

    /// Issues a code for a validated request.
    pub fn issue_code(&self, request: ValidAuthorizationRequest) -> String {
        let code = random_token("code");
        self.oauth().codes.insert(
            code.clone(),
            CodeGrant {
                request,
                expires: Instant::now() + CODE_LIFETIME,
                used: false,
            },
        );
        code
    }

    /// Makes every issued access token invalid (refresh tokens stay valid).
    pub fn expire_access_tokens(&self) {
        self.oauth().access_tokens.clear();
    }
}

/// `prefix_` followed by 32 random bytes in base64url.
pub(crate) fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut bytes) {
        // Without an entropy source nothing the server issues can be trusted.
        panic!("no operating-system randomness: {e}");
    }
    format!("{prefix}_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Splits a space-separated scope string, dropping empty items.
pub(crate) fn split_scopes(scope: Option<&str>) -> Vec<String> {
    scope
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

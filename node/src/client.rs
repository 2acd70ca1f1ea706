//! `OAuthClient`: configured once per app (name, token store, browser opener,
//! loopback port), it signs users in and restores stored connections.

use crate::cancel::spawn;
use crate::connection::Connection;
use crate::error::invalid_argument;
use crate::opener::JsOpener;
use crate::store::{Callback, JsStore, TokenStoreCallbacks, DEFAULT_STORE_TIMEOUT};
use mcp_oauth::core::client_auth::AuthMethod;
use mcp_oauth::core::network::NetworkPolicy;
use mcp_oauth::core::registration::PreRegisteredClient;
use mcp_oauth::core::seal::{SealKey, SealKeys};
use mcp_oauth::core::Secret;
use mcp_oauth::{DynamicPreset, ManualPreset, PendingMode, Preset};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// How to build an `OAuthClient`.
#[napi(object, object_to_js = false)]
pub struct OAuthClientOptions {
    /// The app's name, shown on consent screens and sent at registration.
    pub client_name: String,
    /// Keep tokens in this JSON file (mode 0600, written atomically).
    pub store_path: Option<String>,
    /// Keep tokens through these callbacks instead (for example in Electron's
    /// `safeStorage`). Without `storePath` or `store`, tokens live in memory only.
    pub store: Option<TokenStoreCallbacks>,
    /// How long a `store` callback may take, in milliseconds (default: 10 000);
    /// one whose promise never settles then fails with `code: 'store_timeout'`.
    pub store_timeout_ms: Option<u32>,
    /// Also send connections' access tokens to these origins (https, or
    /// loopback http). By default `connection.fetch` sends the token only to its
    /// own server's origin and rejects any other URL with
    /// `code: 'origin_not_allowed'`.
    pub allowed_token_origins: Option<Vec<String>>,
    /// Which addresses sign-ins may reach. `'desktop'` (default): any https host,
    /// loopback only when the MCP server itself is on loopback. `'public_only'`
    /// (web backends taking server URLs from users): public addresses only,
    /// checked on every resolved address (`code: 'endpoint_not_allowed'`).
    #[napi(ts_type = "'desktop' | 'public_only'")]
    pub network_policy: Option<String>,
    /// Shows the authorization URL to the user (Electron: `shell.openExternal`).
    /// Without it, the system browser opens. Called with http(s) URLs only.
    #[napi(ts_type = "(url: string) => void | Promise<void>")]
    pub open_browser: Option<Callback<String>>,
    /// Listen for the OAuth callback on this fixed `127.0.0.1` port (for servers
    /// that allowlist an exact redirect URI). Default: an ephemeral port.
    pub callback_port: Option<u16>,
    /// How long a sign-in waits for the user to finish in the browser, in
    /// milliseconds (default: 5 minutes); then `connect` fails with `code: 'timeout'`.
    pub callback_timeout_ms: Option<u32>,
    /// Called with each step of a sign-in or token refresh (probe, discovery,
    /// registration, authorize, callback, token, signed_in, refresh), in order,
    /// for a UI or a log. Never given a secret.
    #[napi(ts_type = "(event: ProgressEvent) => void")]
    pub on_progress: Option<Callback<serde_json::Value>>,
    /// When a request gets a `401` that no refresh can fix, sign in again right
    /// away instead of failing with `code: 'reauth_required'` (default: false).
    pub reauthorize_on_unauthorized: Option<bool>,
    /// Bind tokens to a per-connection key (DPoP, RFC 9449) where the server and
    /// its authorization server both take it, so a stolen token is useless
    /// (default: true). The key is kept with the connection in the token store.
    pub dpop: Option<bool>,
    /// Clients registered with an authorization server beforehand, each bound
    /// to its issuer: a dynamic sign-in whose discovery finds that issuer uses
    /// it instead of registering.
    pub pre_registered: Option<Vec<PreRegisteredClientOptions>>,
    /// This app's Client ID Metadata Document URL (an https URL with a path),
    /// used as the client id where the authorization server supports it.
    pub client_metadata_url: Option<String>,
    /// Seal every stored value (tokens, client secrets, pending sign-ins) with
    /// these keys: the first seals, all open, so keys rotate. Each `key` is 32
    /// random bytes in base64 or base64url (`generateSealKey()` makes one).
    /// Also the keys of `pendingSignIns: 'sealed'`.
    pub seal_keys: Option<Vec<SealKeyOptions>>,
    /// Where `begin` keeps a sign-in until its callback: `'stored'` (default;
    /// in the store, burned before the code is exchanged) or `'sealed'` (in the
    /// `state` itself, sealed with `sealKeys`; nothing kept server-side).
    #[napi(ts_type = "'stored' | 'sealed'")]
    pub pending_sign_ins: Option<String>,
    /// How long a sign-in started with `begin` may wait for its callback, in
    /// milliseconds (default: 10 minutes); then `complete` fails with
    /// `code: 'sign_in_expired'`.
    pub sign_in_ttl_ms: Option<u32>,
}

/// A client registered with an authorization server beforehand.
#[napi(object, object_to_js = false)]
pub struct PreRegisteredClientOptions {
    /// The authorization server's issuer; the client is never sent to another.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// The secret, for a confidential client.
    pub client_secret: Option<String>,
    /// The token-endpoint authentication method (default: chosen from the
    /// server's metadata).
    #[napi(ts_type = "'none' | 'client_secret_basic' | 'client_secret_post'")]
    pub auth_method: Option<String>,
}

/// One seal key.
#[napi(object, object_to_js = false)]
pub struct SealKeyOptions {
    /// Its id, written into every value it seals (1-32 of `A-Z a-z 0-9 _ -`).
    pub id: String,
    /// 32 random bytes, base64 or base64url.
    pub key: String,
}

/// Sign in to a server that supports discovery and registration.
#[napi(object, object_to_js = false)]
pub struct DynamicConnectOptions {
    /// Always `'dynamic'`.
    #[napi(ts_type = "'dynamic'")]
    pub kind: String,
    /// The MCP server URL.
    pub server_url: String,
    /// Space-separated scopes to request instead of the ones discovery chooses.
    pub scope: Option<String>,
    /// The name the tokens are stored under (default: `serverUrl`).
    pub connection_id: Option<String>,
}

/// Sign in with an OAuth app the user registered by hand (for servers whose
/// registration is closed).
#[napi(object, object_to_js = false)]
pub struct ManualConnectOptions {
    /// Always `'manual'`.
    #[napi(ts_type = "'manual'")]
    pub kind: String,
    /// The app's client id.
    pub client_id: String,
    /// The app's secret, for confidential clients.
    pub client_secret: Option<String>,
    /// The authorization endpoint.
    pub authorization_url: String,
    /// The token endpoint.
    pub token_url: String,
    /// Space-separated scopes.
    pub scopes: Option<String>,
    /// The server the tokens are for (sent as the RFC 8707 `resource`).
    pub server_url: Option<String>,
    /// The token-endpoint authentication method, when known.
    #[napi(ts_type = "'none' | 'client_secret_basic' | 'client_secret_post'")]
    pub auth_method: Option<String>,
    /// The authorization server's issuer, when known (enables its metadata and
    /// the RFC 9207 `iss` check).
    pub issuer: Option<String>,
    /// The name the tokens are stored under (default: `serverUrl`, else `tokenUrl`).
    pub connection_id: Option<String>,
}

/// Signs users in to MCP servers and keeps their tokens.
#[napi]
pub struct OAuthClient {
    pub(crate) inner: mcp_oauth::OAuthClient,
    browser_failures: broadcast::Sender<String>,
}

fn auth_method(env: &Env, name: Option<&str>) -> Result<Option<AuthMethod>> {
    name.map(|name| {
        AuthMethod::from_name(name).ok_or_else(|| {
            invalid_argument(
                env,
                format!("unknown authMethod {name:?}; use none, client_secret_basic or client_secret_post"),
            )
        })
    })
    .transpose()
}

/// A `{ kind: 'dynamic' | 'manual', ... }` object as a preset.
pub(crate) fn preset_from_js(env: &Env, options: Object) -> Result<Preset> {
    let kind: Option<String> = options.get_named_property("kind")?;
    match kind.as_deref() {
        Some("dynamic") => {
            let o = DynamicConnectOptions::from_unknown(options.to_unknown())?;
            Ok(Preset::Dynamic(DynamicPreset {
                server_url: o.server_url,
                scope: o.scope,
                probe: Default::default(),
                connection_id: o.connection_id,
                assertion_grant: None,
            }))
        }
        Some("manual") => {
            let o = ManualConnectOptions::from_unknown(options.to_unknown())?;
            Ok(Preset::Manual(ManualPreset {
                client_id: o.client_id,
                client_secret: o.client_secret.map(Secret::new),
                authorization_url: o.authorization_url,
                token_url: o.token_url,
                scopes: o.scopes,
                server_url: o.server_url,
                auth_method: auth_method(env, o.auth_method.as_deref())?,
                issuer: o.issuer,
                connection_id: o.connection_id,
            }))
        }
        _ => Err(invalid_argument(
            env,
            "a preset needs kind: 'dynamic' or 'manual'",
        )),
    }
}

#[napi]
impl OAuthClient {
    /// A client for this app. Throws (`code: 'invalid_argument'`) when both
    /// `storePath` and `store` are given.
    #[napi(constructor)]
    pub fn new(env: Env, options: OAuthClientOptions) -> Result<Self> {
        let (browser_failures, _) = broadcast::channel(8);
        let mut builder = mcp_oauth::OAuthClient::builder(options.client_name);
        match (options.store_path, options.store) {
            (Some(_), Some(_)) => {
                return Err(invalid_argument(
                    &env,
                    "give either storePath or store, not both",
                ))
            }
            (Some(path), None) => builder = builder.file_store(path),
            (None, Some(callbacks)) => {
                let timeout = options
                    .store_timeout_ms
                    .map_or(DEFAULT_STORE_TIMEOUT, |ms| Duration::from_millis(ms.into()));
                builder = builder.store(Arc::new(JsStore::new(callbacks, timeout)));
            }
            (None, None) => {}
        }
        if let Some(open) = options.open_browser {
            builder = builder.opener(JsOpener::new(open, browser_failures.clone()));
        }
        if let Some(callback) = options.on_progress {
            builder = builder.observer(crate::progress::observer(callback));
        }
        if let Some(port) = options.callback_port {
            builder = builder.callback_port(port);
        }
        if let Some(ms) = options.callback_timeout_ms {
            builder = builder.callback_timeout(Duration::from_millis(ms.into()));
        }
        for origin in options.allowed_token_origins.unwrap_or_default() {
            builder = builder.allow_token_origin(origin);
        }
        match options.network_policy.as_deref() {
            None | Some("desktop") => {}
            Some("public_only") => builder = builder.network_policy(NetworkPolicy::PublicOnly),
            Some(other) => {
                return Err(invalid_argument(
                    &env,
                    format!("unknown networkPolicy {other:?}; use 'desktop' or 'public_only'"),
                ))
            }
        }
        if let Some(enabled) = options.reauthorize_on_unauthorized {
            builder = builder.reauthorize_on_unauthorized(enabled);
        }
        if let Some(enabled) = options.dpop {
            builder = builder.dpop(enabled);
        }
        for client in options.pre_registered.unwrap_or_default() {
            builder = builder.pre_registered(PreRegisteredClient {
                issuer: Some(client.issuer),
                client_id: client.client_id,
                client_secret: client.client_secret.map(Secret::new),
                auth_method: auth_method(&env, client.auth_method.as_deref())?,
                private_key: None,
            });
        }
        if let Some(url) = options.client_metadata_url {
            builder = builder.client_metadata_url(url);
        }
        if let Some(keys) = options.seal_keys {
            let keys = keys
                .into_iter()
                .map(|k| SealKey::from_base64(k.id, &k.key))
                .collect::<std::result::Result<Vec<_>, _>>()
                .and_then(SealKeys::new)
                .map_err(|e| crate::error::js_error(&env, "invalid_seal_key", &e.to_string()))?;
            builder = builder.seal_keys(keys);
        }
        match options.pending_sign_ins.as_deref() {
            None | Some("stored") => {}
            Some("sealed") => builder = builder.pending_sign_ins(PendingMode::Sealed),
            Some(other) => {
                return Err(invalid_argument(
                    &env,
                    format!("pendingSignIns must be 'stored' or 'sealed', not {other:?}"),
                ))
            }
        }
        if let Some(ms) = options.sign_in_ttl_ms {
            builder = builder.sign_in_ttl(Duration::from_millis(ms.into()));
        }
        let inner = builder
            .build()
            .map_err(|e| crate::error::from_native(&env, &e))?;
        Ok(Self {
            inner,
            browser_failures,
        })
    }

    /// Signs in: opens the browser through `openBrowser`, receives the callback on
    /// `127.0.0.1`, stores the tokens, and resolves to the connection. Pass
    /// `signal` to cancel (the promise then rejects with `code: 'cancelled'`
    /// and the loopback port closes).
    #[napi(
        ts_args_type = "options: (DynamicConnectOptions | ManualConnectOptions) & { signal?: AbortSignal }",
        ts_return_type = "Promise<Connection>"
    )]
    pub fn connect<'env>(
        &self,
        env: &'env Env,
        options: Object<'env>,
    ) -> Result<PromiseRaw<'env, Connection>> {
        let preset = preset_from_js(env, options)?;
        let signal: Option<Object> = options.get_named_property("signal")?;
        let client = self.inner.clone();
        let mut browser_failures = self.browser_failures.subscribe();
        spawn(
            env,
            signal,
            async move {
                tokio::select! {
                    connection = client.connect(preset) => connection,
                    Ok(reason) = browser_failures.recv() => Err(mcp_oauth::Error::Browser(reason)),
                }
            },
            |_, connection| Ok(Connection::from(connection)),
        )
    }

    /// The stored connection named `connectionId` (by default its server URL),
    /// or `null` if it never signed in or was disconnected. Use it at startup to
    /// pick up where the app left off without asking the user again.
    #[napi(ts_return_type = "Promise<Connection | null>")]
    pub fn connection<'env>(
        &self,
        env: &'env Env,
        connection_id: String,
    ) -> Result<PromiseRaw<'env, Option<Connection>>> {
        let client = self.inner.clone();
        spawn(
            env,
            None,
            async move { client.connection(&connection_id).await },
            |_, connection| Ok(connection.map(Connection::from)),
        )
    }

    /// The ids of every stored connection (a callback store needs `keys`).
    #[napi(ts_return_type = "Promise<string[]>")]
    pub fn connection_ids<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Vec<String>>> {
        let client = self.inner.clone();
        spawn(
            env,
            None,
            async move { client.connection_ids().await },
            |_, ids| Ok(ids),
        )
    }

    /// Signs out of `connectionId`: revokes its tokens at the server when it
    /// offers RFC 7009 revocation, and forgets them here in any case.
    #[napi(ts_return_type = "Promise<SignOutResult>")]
    pub fn disconnect<'env>(
        &self,
        env: &'env Env,
        connection_id: String,
    ) -> Result<PromiseRaw<'env, SignOutResult>> {
        let client = self.inner.clone();
        spawn(
            env,
            None,
            async move { client.disconnect(&connection_id).await },
            |_, outcome| Ok(SignOutResult::from(outcome)),
        )
    }

    /// What a connect form needs before sign-in, for a server URL, an issuer or
    /// an authorization-endpoint URL: issuer, client authentication methods,
    /// whether a client secret is required, registration, scopes.
    #[napi(ts_return_type = "Promise<ServerInfo>")]
    pub fn inspect<'env>(
        &self,
        env: &'env Env,
        url: String,
    ) -> Result<PromiseRaw<'env, ServerInfo>> {
        let client = self.inner.clone();
        spawn(
            env,
            None,
            async move { client.inspect(&url).await },
            |_, info| Ok(ServerInfo::from(info)),
        )
    }
}

/// What signing out did at the server; the tokens are forgotten locally anyway.
#[napi(object, object_from_js = false)]
pub struct SignOutResult {
    /// `revoked`: the server revoked the grant. `unsupported`: it offers no
    /// revocation. `failed`: revocation failed (see `error`). `not_signed_in`:
    /// nothing was stored.
    #[napi(ts_type = "'revoked' | 'unsupported' | 'failed' | 'not_signed_in'")]
    pub revocation: String,
    /// Why revocation failed: `{ code, message }`.
    pub error: Option<SignOutError>,
}

/// A revocation failure.
#[napi(object, object_from_js = false)]
pub struct SignOutError {
    /// The stable error code.
    pub code: String,
    /// What happened.
    pub message: String,
}

impl From<mcp_oauth::Revocation> for SignOutResult {
    fn from(outcome: mcp_oauth::Revocation) -> Self {
        use mcp_oauth::Revocation;
        let (revocation, error) = match outcome {
            Revocation::Revoked => ("revoked", None),
            Revocation::Unsupported => ("unsupported", None),
            Revocation::NotSignedIn => ("not_signed_in", None),
            Revocation::Failed(error) => (
                "failed",
                Some(SignOutError {
                    code: error.code().to_owned(),
                    message: error.to_string(),
                }),
            ),
        };
        Self {
            revocation: revocation.to_owned(),
            error,
        }
    }
}

/// How a server signs clients in, found before sign-in.
#[napi(object, object_from_js = false)]
pub struct ServerInfo {
    /// The authorization server's issuer.
    pub issuer: String,
    /// The protected resource, when the URL was one.
    pub resource: Option<String>,
    /// Where the user authorizes.
    pub authorization_endpoint: String,
    /// Where tokens are issued.
    pub token_endpoint: String,
    /// The client authentication methods the server lists (absent: not listed).
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Whether a manually registered client needs a secret (`none` not listed).
    pub client_secret_required: bool,
    /// Whether dynamic client registration is open.
    #[napi(ts_type = "'open' | 'closed' | 'absent' | 'unknown'")]
    pub registration: String,
    /// The scopes the authorization server lists.
    pub scopes_supported: Option<Vec<String>>,
    /// The scopes the protected resource lists, when the URL was one.
    pub resource_scopes_supported: Option<Vec<String>>,
    /// Whether Client ID Metadata Documents are accepted.
    pub client_id_metadata_document_supported: bool,
    /// Whether tokens are revoked at sign-out (RFC 7009).
    pub revocation_supported: bool,
}

impl From<mcp_oauth::core::inspect::ServerInfo> for ServerInfo {
    fn from(info: mcp_oauth::core::inspect::ServerInfo) -> Self {
        use mcp_oauth::core::inspect::RegistrationAvailability as R;
        Self {
            issuer: info.issuer,
            resource: info.resource,
            authorization_endpoint: info.authorization_endpoint.into(),
            token_endpoint: info.token_endpoint.into(),
            token_endpoint_auth_methods_supported: info.token_endpoint_auth_methods_supported,
            client_secret_required: info.client_secret_required,
            registration: match info.registration {
                R::Open => "open",
                R::Closed => "closed",
                R::Absent => "absent",
                R::Unknown => "unknown",
            }
            .to_owned(),
            scopes_supported: info.scopes_supported,
            resource_scopes_supported: info.resource_scopes_supported,
            client_id_metadata_document_supported: info.client_id_metadata_document_supported,
            revocation_supported: info.revocation_supported,
        }
    }
}

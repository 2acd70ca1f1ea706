//! [`OAuthClient`]: drives core's flows with real I/O and hands out connections.

use crate::connection::Connection;
use crate::error::Error;
use crate::executor::{ExecutorConfig, HttpExecutor};
use crate::listener::{CallbackVerdict, LoopbackListener};
use crate::opener::{open_checked, BrowserOpener, SystemBrowser};
use crate::preset::Preset;
use crate::progress::{Observer, Progress};
use crate::store::{FileStore, MemoryStore, SealedStore, Stored, TokenStore};
use crate::web::PendingMode;
use mcp_oauth_core::assertion;
use mcp_oauth_core::dpop::{self, DpopKey};
use mcp_oauth_core::entropy::OsEntropy;
use mcp_oauth_core::flow::{
    Action, Discovered, DynamicConfig, DynamicFlow, Flow, ManualConfig, ManualFlow,
};
use mcp_oauth_core::inspect::{InspectAction, Inspection, ServerInfo};
use mcp_oauth_core::network::NetworkPolicy;
use mcp_oauth_core::pending::DEFAULT_TTL_SECS;
use mcp_oauth_core::registration::PreRegisteredClient;
use mcp_oauth_core::revocation;
use mcp_oauth_core::seal::SealKeys;
use mcp_oauth_core::session::Session;
use mcp_oauth_core::www_authenticate::BearerChallenge;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch; injectable so tests can move time forward.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    })
}

/// Signs users in to MCP servers and keeps their tokens.
#[derive(Clone)]
pub struct OAuthClient {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) client_name: String,
    pub(crate) executor: HttpExecutor,
    pub(crate) store: Stored,
    pub(crate) opener: Arc<dyn BrowserOpener>,
    pub(crate) callback_port: Option<u16>,
    pub(crate) callback_timeout: Duration,
    pub(crate) clock: Clock,
    pub(crate) pre_registered: Vec<PreRegisteredClient>,
    pub(crate) client_metadata_url: Option<String>,
    pub(crate) protocol_version: Option<String>,
    pub(crate) observer: Option<Observer>,
    pub(crate) reauthorize: bool,
    pub(crate) dpop: bool,
    pub(crate) token_origins: Vec<String>,
    pub(crate) network: NetworkPolicy,
    pub(crate) seal_keys: Option<SealKeys>,
    pub(crate) pending_mode: PendingMode,
    pub(crate) sign_in_ttl: Duration,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient")
            .field("client_name", &self.inner.client_name)
            .field("callback_port", &self.inner.callback_port)
            .finish_non_exhaustive()
    }
}

/// What signing out did at the server (RFC 7009); the tokens are forgotten
/// locally in every case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    /// The server revoked the tokens.
    Revoked,
    /// The server offers no revocation endpoint, so the grant lives on there
    /// until it expires.
    Unsupported,
    /// Revocation failed (unreachable, refused); the grant may live on there.
    Failed(Error),
    /// Nothing was stored for this connection.
    NotSignedIn,
}

/// Where the builder keeps tokens.
enum StoreChoice {
    Custom(Arc<dyn TokenStore>),
    File(PathBuf),
}

/// Configures an [`OAuthClient`].
pub struct OAuthClientBuilder {
    client_name: String,
    store: Option<StoreChoice>,
    opener: Arc<dyn BrowserOpener>,
    callback_port: Option<u16>,
    callback_timeout: Duration,
    executor: ExecutorConfig,
    clock: Clock,
    pre_registered: Vec<PreRegisteredClient>,
    client_metadata_url: Option<String>,
    protocol_version: Option<String>,
    observer: Option<Observer>,
    reauthorize: bool,
    dpop: bool,
    token_origins: Vec<String>,
    seal_keys: Option<SealKeys>,
    pending_mode: PendingMode,
    sign_in_ttl: Duration,
}

impl OAuthClientBuilder {
    /// Receive progress events (for a UI or a log).
    pub fn observer(mut self, observer: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// Where tokens live (default: in memory only).
    pub fn store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(StoreChoice::Custom(store));
        self
    }

    /// Keep tokens in one JSON file (mode 0600, written atomically, shared safely
    /// by several processes). An unreadable file is moved aside and reported as
    /// [`Progress::StoreMovedAside`].
    pub fn file_store(mut self, path: impl Into<PathBuf>) -> Self {
        self.store = Some(StoreChoice::File(path.into()));
        self
    }

    /// How to show the authorization URL (default: the system browser).
    pub fn opener(mut self, opener: impl BrowserOpener + 'static) -> Self {
        self.opener = Arc::new(opener);
        self
    }

    /// Listen for the callback on this fixed port (default: an ephemeral port),
    /// for servers that allowlist an exact redirect URI.
    pub fn callback_port(mut self, port: u16) -> Self {
        self.callback_port = Some(port);
        self
    }

    /// How long to wait for the user to finish in the browser (default: 5 minutes).
    pub fn callback_timeout(mut self, timeout: Duration) -> Self {
        self.callback_timeout = timeout;
        self
    }

    /// Which addresses sign-ins may reach. The default,
    /// [`NetworkPolicy::Desktop`], reaches any https host and loopback only when
    /// the MCP server itself is on loopback. Web backends that take server URLs
    /// from their users set [`NetworkPolicy::PublicOnly`]: every request (and
    /// every address a host name resolves to) must be public, so a user cannot
    /// point the backend at `http://169.254.169.254/` or an internal service.
    pub fn network_policy(mut self, policy: NetworkPolicy) -> Self {
        self.executor.network = policy;
        self
    }

    /// Timeouts, size limits and network policy for HTTP.
    pub fn executor(mut self, config: ExecutorConfig) -> Self {
        self.executor = config;
        self
    }

    /// Replace the clock (tests).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// A client registered beforehand (used when its issuer matches, or for any
    /// authorization server when it names none).
    pub fn pre_registered(mut self, client: PreRegisteredClient) -> Self {
        self.pre_registered.push(client);
        self
    }

    /// When a request gets a `401` that no refresh can fix (no refresh token, or
    /// the server moved to another authorization server), sign in again right
    /// away instead of failing with `reauth_required`. Off by default: most UIs
    /// prefer to show "Reconnect" and let the user choose.
    pub fn reauthorize_on_unauthorized(mut self, enabled: bool) -> Self {
        self.reauthorize = enabled;
        self
    }

    /// Whether to bind tokens to a per-connection key (DPoP, RFC 9449) where both
    /// ends take them: the authorization server lists ES256 in
    /// `dpop_signing_alg_values_supported`, and the resource challenges with the
    /// `DPoP` scheme or lists ES256 in its own metadata (RFC 9728 §2). On by
    /// default: a DPoP-bound token is useless to whoever steals it.
    pub fn dpop(mut self, enabled: bool) -> Self {
        self.dpop = enabled;
        self
    }

    /// Also send connections' access tokens to `origin` (an https origin such as
    /// `https://files.example.com`, or loopback http). By default
    /// [`Connection::send`] sends a token only to its own server's origin and
    /// refuses every other URL with `origin_not_allowed`; widen that only for
    /// origins that are meant to receive the token (the same resource served
    /// from two hosts). Checked at [`OAuthClientBuilder::build`].
    pub fn allow_token_origin(mut self, origin: impl Into<String>) -> Self {
        self.token_origins.push(origin.into());
        self
    }

    /// This app's Client ID Metadata Document URL, used where the AS supports it.
    pub fn client_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.client_metadata_url = Some(url.into());
        self
    }

    /// The MCP protocol revision announced on discovery requests.
    pub fn protocol_version(mut self, version: impl Into<String>) -> Self {
        self.protocol_version = Some(version.into());
        self
    }

    /// Seal every value the store keeps (tokens, client secrets, pending
    /// sign-ins) with these keys ([`SealedStore`]); also the keys of
    /// [`PendingMode::Sealed`] sign-ins.
    pub fn seal_keys(mut self, keys: SealKeys) -> Self {
        self.seal_keys = Some(keys);
        self
    }

    /// Where web sign-ins wait for their callback (default: stored).
    pub fn pending_sign_ins(mut self, mode: PendingMode) -> Self {
        self.pending_mode = mode;
        self
    }

    /// How long a web sign-in may wait for its callback (default: 10 minutes).
    pub fn sign_in_ttl(mut self, ttl: Duration) -> Self {
        self.sign_in_ttl = ttl;
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<OAuthClient, Error> {
        // A bad allow-list entry is a setup error now, not a failed request later.
        mcp_oauth_core::resource::ResourcePolicy::new("https://example.invalid")
            .and_then(|p| p.allow_origins(&self.token_origins))
            .map_err(mcp_oauth_core::Error::from)?;
        let network = self.executor.network;
        if self.pending_mode == PendingMode::Sealed && self.seal_keys.is_none() {
            return Err(mcp_oauth_core::Error::Config(
                "sealed pending sign-ins need seal keys".into(),
            )
            .into());
        }
        let store: Arc<dyn TokenStore> = match self.store {
            None => Arc::new(MemoryStore::new()),
            Some(StoreChoice::Custom(store)) => store,
            Some(StoreChoice::File(path)) => {
                let observer = self.observer.clone();
                Arc::new(FileStore::new(path).on_moved_aside(move |moved| {
                    if let Some(observer) = &observer {
                        observer(&Progress::StoreMovedAside {
                            path: moved.path.clone(),
                            moved_to: moved.moved_to.clone(),
                            reason: moved.reason.clone(),
                        });
                    }
                }))
            }
        };
        let store: Arc<dyn TokenStore> = match &self.seal_keys {
            Some(keys) => Arc::new(SealedStore::new(store, keys.clone())),
            None => store,
        };
        Ok(OAuthClient {
            inner: Arc::new(ClientInner {
                network,
                client_name: self.client_name,
                executor: HttpExecutor::new(self.executor)?,
                store: Stored::new(store),
                opener: self.opener,
                callback_port: self.callback_port,
                callback_timeout: self.callback_timeout,
                clock: self.clock,
                pre_registered: self.pre_registered,
                client_metadata_url: self.client_metadata_url,
                protocol_version: self.protocol_version,
                observer: self.observer,
                reauthorize: self.reauthorize,
                dpop: self.dpop,
                token_origins: self.token_origins,
                seal_keys: self.seal_keys,
                pending_mode: self.pending_mode,
                sign_in_ttl: self.sign_in_ttl,
            }),
        })
    }
}

impl OAuthClient {
    /// Starts configuring a client; `client_name` is shown on consent screens.
    pub fn builder(client_name: impl Into<String>) -> OAuthClientBuilder {
        OAuthClientBuilder {
            client_name: client_name.into(),
            store: None,
            opener: Arc::new(SystemBrowser),
            callback_port: None,
            callback_timeout: Duration::from_secs(300),
            executor: ExecutorConfig::default(),
            clock: system_clock(),
            pre_registered: Vec::new(),
            client_metadata_url: None,
            protocol_version: None,
            observer: None,
            reauthorize: false,
            dpop: true,
            token_origins: Vec::new(),
            seal_keys: None,
            pending_mode: PendingMode::default(),
            sign_in_ttl: Duration::from_secs(DEFAULT_TTL_SECS),
        }
    }

    /// Signs in interactively: opens the browser and receives the callback on loopback.
    pub async fn connect(&self, preset: impl Into<Preset>) -> Result<Connection, Error> {
        self.connect_inner(preset.into(), None).await
    }

    /// Signs in after the server answered a request with this `401` challenge: its
    /// `resource_metadata` and `scope` steer discovery, and no probe is sent.
    pub async fn connect_after_challenge(
        &self,
        preset: impl Into<Preset>,
        challenge: BearerChallenge,
    ) -> Result<Connection, Error> {
        self.connect_inner(preset.into(), Some(challenge)).await
    }

    async fn connect_inner(
        &self,
        preset: Preset,
        challenge: Option<BearerChallenge>,
    ) -> Result<Connection, Error> {
        let signed_in = self.inner.sign_in_reusing(&preset, challenge, None).await?;
        self.inner.remember(&preset, &signed_in.session).await?;
        let connection = Connection::new(self.inner.clone(), preset, signed_in.session);
        connection.keep_discovery(signed_in.discovered);
        Ok(connection)
    }

    /// The stored connection named `connection_id` (by default the server URL),
    /// if it was signed in before.
    pub async fn connection(&self, connection_id: &str) -> Result<Option<Connection>, Error> {
        let stored = self.inner.store.connection(connection_id).await?;
        Ok(stored.map(|s| Connection::new(self.inner.clone(), s.preset, s.session)))
    }

    /// The ids of every stored connection (for stores that can list).
    pub async fn connection_ids(&self) -> Result<Vec<String>, Error> {
        Ok(self.inner.store.connection_ids().await?)
    }

    /// Signs out of a connection: revokes its tokens at the server when it offers
    /// RFC 7009 revocation, and forgets them here in any case.
    pub async fn disconnect(&self, connection_id: &str) -> Result<Revocation, Error> {
        self.inner.sign_out(connection_id, None).await
    }

    /// What a connect form needs before sign-in, for a server URL, an issuer or an
    /// authorization-endpoint URL: the issuer, the token endpoint's client
    /// authentication methods, whether a client secret is required, whether
    /// dynamic registration is open, closed or absent, and the scopes.
    pub async fn inspect(&self, url: &str) -> Result<ServerInfo, Error> {
        let mut inspection = Inspection::new(url)?;
        loop {
            match inspection.next_action() {
                InspectAction::Send(request) => {
                    let response = self.inner.execute(request).await?;
                    // A failure is the inspection's next action.
                    let _ = inspection.on_response(&response);
                }
                InspectAction::Done(info) => return Ok(*info),
                InspectAction::Failed(error) => return Err(error.into()),
            }
        }
    }
}

/// The redirect URI of a sign-in that has no browser step (assertion grants): a
/// valid loopback URI that nothing listens on and no request ever names.
const UNUSED_REDIRECT_URI: &str = "http://127.0.0.1/callback";

/// A completed interactive sign-in.
pub(crate) struct SignedIn {
    pub(crate) session: Session,
    /// What its discovery found, for a step-up to reuse.
    pub(crate) discovered: Option<Discovered>,
}

/// Store key of the clients registered so far, by issuer.
const CLIENTS_KEY: &str = "clients";

type ClientsByIssuer =
    std::collections::BTreeMap<String, mcp_oauth_core::registration::ClientCredentials>;

impl ClientInner {
    pub(crate) fn now(&self) -> u64 {
        (self.clock)()
    }

    pub(crate) fn emit(&self, progress: Progress) {
        if let Some(observer) = &self.observer {
            observer(&progress);
        }
    }

    /// A full interactive sign-in on a fresh loopback listener.
    pub(crate) async fn sign_in(
        &self,
        preset: &Preset,
        challenge: Option<BearerChallenge>,
    ) -> Result<Session, Error> {
        Ok(self.sign_in_reusing(preset, challenge, None).await?.session)
    }

    /// [`ClientInner::sign_in`], starting from metadata discovered moments before
    /// when core finds it reusable (a step-up), and handing on what it discovered.
    pub(crate) async fn sign_in_reusing(
        &self,
        preset: &Preset,
        challenge: Option<BearerChallenge>,
        discovered: Option<Discovered>,
    ) -> Result<SignedIn, Error> {
        if !preset.is_interactive() {
            // No browser, so no callback: the redirect URI is never used.
            let mut flow = self
                .new_flow(preset, UNUSED_REDIRECT_URI, challenge, discovered)
                .await?;
            let session = self.drive_flow(&mut flow, None).await?;
            return Ok(SignedIn {
                session,
                discovered: flow.discovered(),
            });
        }
        let listener = LoopbackListener::bind(self.callback_port).await?;
        let mut flow = self
            .new_flow(preset, &listener.redirect_uri(), challenge, discovered)
            .await?;
        let session = self.drive_flow(&mut flow, Some(listener)).await?;
        Ok(SignedIn {
            session,
            discovered: flow.discovered(),
        })
    }

    async fn registered_clients(&self) -> Result<ClientsByIssuer, Error> {
        let Some(raw) = self.store.raw().get(CLIENTS_KEY).await? else {
            return Ok(ClientsByIssuer::new());
        };
        match serde_json::from_str(&raw) {
            Ok(clients) => Ok(clients),
            Err(_) => {
                // Losing the cache only costs a new registration.
                tracing::warn!("stored client registrations are unreadable; registering anew");
                Ok(ClientsByIssuer::new())
            }
        }
    }

    pub(crate) async fn new_flow(
        &self,
        preset: &Preset,
        redirect_uri: &str,
        challenge: Option<BearerChallenge>,
        discovered: Option<Discovered>,
    ) -> Result<Flow, Error> {
        let flow = match preset {
            Preset::Dynamic(p) => {
                let now = self.now();
                let mut clients = self.pre_registered.clone();
                clients.extend(
                    self.registered_clients()
                        .await?
                        .into_values()
                        .filter(|c| {
                            c.client_secret_expires_at
                                .is_none_or(|at| at == 0 || at > now)
                        })
                        .map(|c| PreRegisteredClient {
                            issuer: Some(c.issuer),
                            client_id: c.client_id,
                            client_secret: c.client_secret,
                            auth_method: Some(c.auth_method),
                            private_key: c.private_key,
                        }),
                );
                let mut config = DynamicConfig::new(&p.server_url, redirect_uri, &self.client_name);
                config.client_metadata_url = self.client_metadata_url.clone();
                config.clients = clients;
                config.challenge = challenge;
                config.scope = p.scope.clone();
                config.probe = p.probe;
                config.assertion_grant = p.assertion_grant.clone();
                config.network = self.network;
                if let Some(version) = &self.protocol_version {
                    config.protocol_version = version.clone();
                }
                if self.dpop {
                    // A fresh key per sign-in, used only if the AS offers DPoP.
                    config.dpop_key = Some(
                        DpopKey::generate(&mut OsEntropy).map_err(mcp_oauth_core::Error::from)?,
                    );
                }
                match discovered {
                    Some(discovered) => Flow::from(DynamicFlow::reusing(
                        config,
                        discovered,
                        &mut OsEntropy,
                        now,
                    )?),
                    None => Flow::from(DynamicFlow::new(config, &mut OsEntropy)?),
                }
            }
            Preset::Manual(p) => Flow::from(ManualFlow::new(
                ManualConfig {
                    client_id: p.client_id.clone(),
                    client_secret: p.client_secret.clone(),
                    authorization_endpoint: p.authorization_url.clone(),
                    token_endpoint: p.token_url.clone(),
                    scopes: p.scopes.clone(),
                    redirect_uri: redirect_uri.to_owned(),
                    server_url: p.server_url.clone(),
                    auth_method: p.auth_method,
                    issuer: p.issuer.clone(),
                },
                &mut OsEntropy,
            )?),
        };
        Ok(flow)
    }

    /// Sends one of the flow's requests, with a DPoP proof where the flow asks for
    /// one (and once more when the server wants a nonce), and feeds the answer back.
    pub(crate) async fn send(
        &self,
        flow: &mut Flow,
        request: mcp_oauth_core::http::HttpRequest,
    ) -> Result<(), Error> {
        let mut retried = false;
        let response = loop {
            let mut attempt = request.clone();
            if let Some(proof) = flow.dpop_proof(&attempt, self.now(), &mut OsEntropy)? {
                attempt = attempt.with_header(dpop::HEADER, flow.sign_proof(proof)?);
            }
            let response = match self.execute(attempt.clone()).await {
                Ok(response) => response,
                Err(error) if flow.on_unreachable() => {
                    tracing::info!("an optional metadata lookup failed: {error}");
                    return Ok(());
                }
                Err(error) => return Err(error),
            };
            if flow.dpop_retry(&attempt, &response, retried) {
                tracing::info!(url = %attempt.url, "the server wants a DPoP nonce; sending again");
                retried = true;
                continue;
            }
            break response;
        };
        Ok(flow.on_response(response, self.now())?)
    }

    /// Sends an OAuth request, logging it and reporting it as progress.
    pub(crate) async fn execute(
        &self,
        request: mcp_oauth_core::http::HttpRequest,
    ) -> Result<mcp_oauth_core::http::HttpResponse, Error> {
        let (purpose, method, url) = (
            request.purpose,
            request.method.as_str(),
            request.url.to_string(),
        );
        let response = self.executor.execute(request).await?;
        tracing::info!(?purpose, %url, status = response.status, "oauth request");
        self.emit(Progress::Request {
            purpose,
            method,
            url,
            status: response.status,
        });
        Ok(response)
    }

    /// Revokes (RFC 7009) and forgets a connection's tokens, under the store's
    /// lock so that no refresh elsewhere saves a new token after the deletion.
    /// The stored session is the freshest; `current` is used when there is none.
    pub(crate) async fn sign_out(
        &self,
        connection_id: &str,
        current: Option<Session>,
    ) -> Result<Revocation, Error> {
        let _lock = self.store.lock_session(connection_id).await?;
        let stored = match self.store.connection(connection_id).await {
            Ok(stored) => stored.map(|s| s.session),
            Err(error) => {
                tracing::warn!("cannot read the stored session to revoke it: {error}");
                None
            }
        };
        let outcome = match stored.or(current) {
            Some(session) => self.revoke(&session).await,
            None => Revocation::NotSignedIn,
        };
        if let Revocation::Failed(error) = &outcome {
            tracing::warn!(
                code = error.code(),
                "revocation failed; forgetting the tokens anyway: {error}"
            );
        }
        self.store.delete_session(connection_id).await?;
        Ok(outcome)
    }

    async fn revoke(&self, session: &Session) -> Revocation {
        let requests = match revocation::revocation_requests(session, self.now()) {
            Ok(requests) if requests.is_empty() => return Revocation::Unsupported,
            Ok(requests) => requests,
            Err(error) => return Revocation::Failed(mcp_oauth_core::Error::from(error).into()),
        };
        let mut failure = None;
        for request in requests {
            let outcome = match self.execute(request.clone()).await {
                Ok(response) => revocation::check_revocation_response(&request, &response)
                    .map_err(|e| Error::from(mcp_oauth_core::Error::from(e))),
                Err(error) => Err(error),
            };
            if let Err(error) = outcome {
                failure.get_or_insert(error);
            }
        }
        match failure {
            None => Revocation::Revoked,
            Some(error) => Revocation::Failed(error),
        }
    }

    /// Runs a flow to the end, leaving the finished flow with the caller (a
    /// step-up reuses what it discovered). `listener` receives the callback when
    /// the flow needs one; without it the flow must be past that point.
    async fn drive_flow(
        &self,
        flow: &mut Flow,
        mut listener: Option<LoopbackListener>,
    ) -> Result<Session, Error> {
        loop {
            match flow.next_action() {
                Action::Send(request) => self.send(flow, request).await?,
                Action::Authorize { url, .. } => {
                    let listener =
                        listener
                            .take()
                            .ok_or(mcp_oauth_core::Error::UnexpectedEvent {
                                state: "waiting for the authorization callback",
                                event: "a request to continue without a callback listener",
                            })?;
                    tracing::info!(%url, "opening the browser for authorization");
                    self.emit(Progress::OpenBrowser {
                        url: url.to_string(),
                    });
                    open_checked(self.opener.as_ref(), &url)?;
                    let mut failure = None;
                    let clock = self.clock.clone();
                    listener
                        .run(self.callback_timeout, |callback| {
                            match flow.on_callback(callback, clock()) {
                                Ok(()) => {
                                    self.emit(Progress::CallbackAccepted);
                                    CallbackVerdict::Accepted
                                }
                                Err(error) if flow.pending_state().is_some() => {
                                    tracing::warn!(
                                        code = error.code(),
                                        "ignoring a callback: {error}"
                                    );
                                    self.emit(Progress::CallbackIgnored {
                                        reason: error.to_string(),
                                    });
                                    CallbackVerdict::Ignored(error.to_string())
                                }
                                Err(error) => {
                                    let message = error.to_string();
                                    failure = Some(error);
                                    CallbackVerdict::Failed(message)
                                }
                            }
                        })
                        .await?;
                    if let Some(error) = failure {
                        return Err(error.into());
                    }
                }
                Action::Done(session) => return Ok(*session),
                Action::Failed(error) => return Err(error.into()),
            }
        }
    }

    /// Persists a completed sign-in: the session under its connection id, and a
    /// newly registered client under its issuer for the next sign-in.
    pub(crate) async fn remember(&self, preset: &Preset, session: &Session) -> Result<(), Error> {
        let client = &session.grant.client;
        if matches!(preset, Preset::Dynamic(_)) && !assertion::is_anonymous(client) {
            let mut clients = self.registered_clients().await?;
            if clients.get(&client.issuer) != Some(client) {
                clients.insert(client.issuer.clone(), client.clone());
                let raw = serde_json::to_string(&clients)
                    .map_err(|e| crate::StoreError::Backend(e.to_string()))?;
                self.store.raw().set(CLIENTS_KEY, raw).await?;
            }
        }
        self.store.save_connection(preset, session).await?;
        self.emit(Progress::SignedIn {
            issuer: session.grant.issuer.clone(),
            client_id: session.grant.client.client_id.clone(),
            scope: session.grant.scope.clone(),
            expires_at: session.tokens.expires_at,
        });
        Ok(())
    }
}

//! [`Connection`]: a signed-in server. Hands out valid access tokens (refreshing
//! before expiry, once for any number of concurrent callers), reports a status for
//! the UI, and sends authorized requests that recover from 401 and step up on
//! 403 `insufficient_scope`, as core's resource policy decides.
//!
//! A refresh is single-flight at two levels: within the process, callers queue on
//! the session's mutex and re-decide once they hold it; across processes and
//! instances, the refresh runs under the store's lock for this connection
//! ([`crate::store::TokenStore::lock`]) and starts by re-reading the stored
//! session, so a token another process obtained meanwhile is used instead of
//! spending the refresh token again. The refresh runs in a task of its own: once
//! its request is sent it completes and is saved even if every caller stops
//! waiting (a dropped future, an aborted JavaScript `fetch`), because a rotated
//! refresh token that is not saved is a lost grant.

use crate::client::ClientInner;
use crate::error::{Error, TransportError};
use crate::preset::Preset;
use crate::progress::Progress;
use mcp_oauth_core::dpop;
use mcp_oauth_core::entropy::OsEntropy;
use mcp_oauth_core::flow::Discovered;
use mcp_oauth_core::http::HttpResponse;
use mcp_oauth_core::resource::{Credentials, ResourceAnswer, ResourceExchange, ResourcePolicy};
use mcp_oauth_core::scope;
use mcp_oauth_core::session::{Session, Status, TokenDecision};
use mcp_oauth_core::www_authenticate::BearerChallenge;
use mcp_oauth_core::Secret;
use reqwest::header::{HeaderName, HeaderValue};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// How often a refresh is retried when the token endpoint cannot be reached.
const REFRESH_ATTEMPTS: u32 = 3;
const REFRESH_BACKOFF: Duration = Duration::from_millis(250);

/// A signed-in server.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<ConnectionInner>,
}

struct ConnectionInner {
    client: Arc<ClientInner>,
    preset: Preset,
    /// Held across a refresh, which is what makes concurrent callers share one.
    session: Arc<Mutex<Session>>,
    /// The session as of its last change, readable without waiting for `session`
    /// (which a refresh holds across its I/O): what [`Connection::access_token_now`]
    /// and [`Connection::status_now`] answer from.
    published: RwLock<Arc<Session>>,
    /// What the sign-in (or last step-up) discovered, which a step-up moments
    /// later reuses instead of fetching the same metadata again.
    discovered: std::sync::Mutex<Option<Discovered>>,
    /// The last save of the session failed (the store was unavailable), so the
    /// store may hold a refresh token the server has since rotated away; the next
    /// `access_token()` saves again.
    unsaved: AtomicBool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl Connection {
    pub(crate) fn new(client: Arc<ClientInner>, preset: Preset, session: Session) -> Self {
        Self {
            inner: Arc::new(ConnectionInner {
                client,
                preset,
                published: RwLock::new(Arc::new(session.clone())),
                session: Arc::new(Mutex::new(session)),
                discovered: std::sync::Mutex::new(None),
                unsaved: AtomicBool::new(false),
            }),
        }
    }

    /// The key this connection's tokens are stored under.
    pub fn id(&self) -> &str {
        self.inner.preset.connection_id()
    }

    /// A copy of the current session (grant and tokens).
    pub async fn session(&self) -> Session {
        self.inner.session.lock().await.clone()
    }

    /// What a UI should show.
    pub async fn status(&self) -> Status {
        self.inner
            .session
            .lock()
            .await
            .status(self.inner.client.now())
    }

    /// [`Connection::status`] without waiting: while a refresh is in flight it
    /// describes the session as it was before.
    pub fn status_now(&self) -> Status {
        self.published().status(self.inner.client.now())
    }

    /// The access token, if it can be handed out right now without any I/O: it is
    /// not due for a refresh and the last save of the session succeeded. `None`
    /// means "use [`Connection::access_token`]", which refreshes (or reports why
    /// it cannot). Never blocks: hosts that cross a thread boundary for every
    /// async call (Node through N-API) answer most calls from here.
    pub fn access_token_now(&self) -> Option<Secret> {
        if self.inner.unsaved.load(Ordering::SeqCst) {
            return None;
        }
        let session = self.published();
        match session.decide(self.inner.client.now()) {
            TokenDecision::Use => Some(session.tokens.access_token.clone()),
            TokenDecision::Refresh | TokenDecision::ReconnectNeeded => None,
        }
    }

    fn published(&self) -> Arc<Session> {
        // A poisoned lock still holds a whole session: every write replaces it.
        let published = self.inner.published.read();
        Arc::clone(&published.unwrap_or_else(PoisonError::into_inner))
    }

    /// Keeps what a sign-in discovered, for a step-up to reuse.
    pub(crate) fn keep_discovery(&self, discovered: Option<Discovered>) {
        *self
            .inner
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = discovered;
    }

    fn kept_discovery(&self) -> Option<Discovered> {
        self.inner
            .discovered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn publish(&self, session: &Session) {
        self.inner.publish(session);
    }

    /// A valid access token, refreshed first if it expires soon. Concurrent callers
    /// wait for one shared refresh. Fails with `reauth_required` (naming this
    /// connection) when only signing in again can help.
    pub async fn access_token(&self) -> Result<Secret, Error> {
        self.valid_token().await.map_err(|e| self.reauth(e))
    }

    async fn valid_token(&self) -> Result<Secret, Error> {
        let session = Arc::clone(&self.inner.session).lock_owned().await;
        if self.inner.unsaved.load(Ordering::SeqCst) {
            // The caller already got the store error once; keep serving the
            // in-memory token and keep trying to save it.
            if let Err(error) = self.inner.persist(&session).await {
                tracing::warn!(code = error.code(), "tokens are still not saved: {error}");
            }
        }
        let now = self.inner.client.now();
        match session.decide(now) {
            TokenDecision::Use => Ok(session.tokens.access_token.clone()),
            TokenDecision::Refresh => self.renew(session, Renewal::Due).await,
            TokenDecision::ReconnectNeeded if !self.inner.preset.is_interactive() => {
                self.sign_in_again(session).await
            }
            TokenDecision::ReconnectNeeded => Err(reconnect(&session)),
        }
    }

    /// Renews an assertion-grant connection (workload identity, enterprise-managed
    /// authorization) the way it was made: a new sign-in, which needs no user.
    /// Concurrent callers wait on the session lock and share the result.
    async fn sign_in_again(&self, mut session: OwnedMutexGuard<Session>) -> Result<Secret, Error> {
        tracing::info!("the access token is due; presenting the assertion again");
        let fresh = self.inner.client.sign_in(&self.inner.preset, None).await?;
        self.inner
            .client
            .remember(&self.inner.preset, &fresh)
            .await?;
        *session = fresh;
        Ok(session.tokens.access_token.clone())
    }

    /// The server rejected `rejected` with a 401: returns a token to retry with,
    /// refreshing unless another caller (or process) already did.
    pub async fn on_unauthorized(&self, rejected: &Secret) -> Result<Secret, Error> {
        self.token_after_401(rejected)
            .await
            .map_err(|e| self.reauth(e))
    }

    async fn token_after_401(&self, rejected: &Secret) -> Result<Secret, Error> {
        let mut session = Arc::clone(&self.inner.session).lock_owned().await;
        let now = self.inner.client.now();
        let decision = session.on_unauthorized(rejected, now);
        // The rejected token may just have been marked dead.
        self.publish(&session);
        match decision {
            TokenDecision::Use => Ok(session.tokens.access_token.clone()),
            TokenDecision::Refresh => {
                self.renew(session, Renewal::Rejected(rejected.clone()))
                    .await
            }
            TokenDecision::ReconnectNeeded if !self.inner.preset.is_interactive() => {
                self.sign_in_again(session).await
            }
            TokenDecision::ReconnectNeeded => {
                self.inner.persist(&session).await?;
                Err(reconnect(&session))
            }
        }
    }

    /// Forces a refresh now (for hosts that know better than the expiry). A token
    /// another process obtained while this one waited for the store lock counts.
    pub async fn refresh(&self) -> Result<Secret, Error> {
        let session = Arc::clone(&self.inner.session).lock_owned().await;
        self.renew(session, Renewal::Forced)
            .await
            .map_err(|e| self.reauth(e))
    }

    /// Names this connection in a "sign in again" error, so that a backend
    /// serving many connections knows which one to send through `begin`.
    fn reauth(&self, error: Error) -> Error {
        match error {
            Error::Protocol(source @ mcp_oauth_core::Error::ReauthRequired { .. }) => {
                Error::ReauthRequired {
                    connection_id: self.id().to_owned(),
                    source,
                }
            }
            other => other,
        }
    }

    /// Runs the renewal in a task of its own, holding the session's mutex, so that
    /// it completes and is saved whoever stops waiting for it.
    async fn renew(
        &self,
        session: OwnedMutexGuard<Session>,
        reason: Renewal,
    ) -> Result<Secret, Error> {
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move { inner.renew(session, reason).await })
            .await
            .map_err(|e| {
                Error::Transport(TransportError::Setup(format!(
                    "the refresh task failed: {e}"
                )))
            })?
    }

    /// Signs in again with the union of the current scope and the one `challenge`
    /// (a 403 `insufficient_scope`) asks for. Interactive, like `connect`.
    pub async fn step_up(&self, challenge: &BearerChallenge) -> Result<(), Error> {
        let current = self.inner.session.lock().await.grant.scope.clone();
        let wanted = scope::union(current.as_deref(), challenge.scope.as_deref());
        self.step_up_to(wanted, challenge).await
    }

    /// Signs in again asking for `wanted`, steered by `challenge`.
    async fn step_up_to(
        &self,
        wanted: Option<String>,
        challenge: &BearerChallenge,
    ) -> Result<(), Error> {
        tracing::info!(
            scope = wanted.as_deref().unwrap_or(""),
            "step-up authorization"
        );
        let preset = self.inner.preset.with_scope(wanted);
        // The challenge names the PRM, so discovery can skip the probe, and core
        // reuses the metadata found moments before when it still applies. The lock
        // is not held while the user is in the browser: other requests keep using
        // the current token until the wider one arrives.
        let signed_in = self
            .inner
            .client
            .sign_in_reusing(&preset, Some(challenge.clone()), self.kept_discovery())
            .await?;
        let fresh = signed_in.session;
        self.keep_discovery(signed_in.discovered);
        self.inner
            .client
            .remember(&self.inner.preset, &fresh)
            .await?;
        self.publish(&fresh);
        *self.inner.session.lock().await = fresh;
        Ok(())
    }

    /// Signs in again (interactive), steered by the 401's challenge, and returns
    /// the new access token. Used when a 401 cannot be fixed by refreshing.
    async fn reauthorize(&self, challenge: Option<BearerChallenge>) -> Result<Secret, Error> {
        tracing::info!(
            "the server rejected the token and it cannot be refreshed; signing in again"
        );
        let fresh = self
            .inner
            .client
            .sign_in(&self.inner.preset, challenge)
            .await?;
        self.inner
            .client
            .remember(&self.inner.preset, &fresh)
            .await?;
        let token = fresh.tokens.access_token.clone();
        self.publish(&fresh);
        *self.inner.session.lock().await = fresh;
        Ok(token)
    }

    /// Sends `request` with the access token, as core's resource policy
    /// ([`mcp_oauth_core::resource`]) decides: only to the connection's resource
    /// origin over https (or loopback http when the resource is on loopback) or an
    /// origin allowed with [`crate::OAuthClientBuilder::allow_token_origin`];
    /// anything else fails with `origin_not_allowed` before a byte is sent. A
    /// DPoP-bound token goes as `Authorization: DPoP` with a fresh proof (RFC 9449
    /// §7), and the resource's nonce challenge is answered once. A 401 refreshes
    /// once and retries; a 403 `insufficient_scope` steps up (interactive) and
    /// retries while the scope grows, a few times at most. The request body must
    /// be cloneable (not a stream).
    pub async fn send(&self, request: reqwest::Request) -> Result<reqwest::Response, Error> {
        let policy = self.policy().await?;
        let mut exchange = ResourceExchange::new();
        loop {
            let credentials = self.credentials(&policy, &request).await?;
            let mut attempt = request.try_clone().ok_or_else(|| {
                Error::Transport(TransportError::Setup(
                    "the request body cannot be replayed".into(),
                ))
            })?;
            for (name, value) in credentials.headers() {
                let name = HeaderName::from_bytes(name.as_bytes())
                    .map_err(|e| TransportError::Setup(e.to_string()))?;
                let mut value = HeaderValue::from_str(value.expose()).map_err(|_| {
                    Error::Transport(TransportError::Setup(
                        "the access token is not a valid header value".into(),
                    ))
                })?;
                value.set_sensitive(true);
                attempt.headers_mut().insert(name, value);
            }
            let url = attempt.url().clone();
            let response = self
                .inner
                .client
                .executor
                .client()
                .execute(attempt)
                .await
                .map_err(|e| TransportError::from_reqwest(url.as_str(), e))?;
            let answer = {
                let head = head(&response);
                let mut session = self.inner.session.lock().await;
                session.remember_dpop_nonce(dpop::Server::Resource, &url, &head);
                let now = self.inner.client.now();
                exchange.on_response(&session, &credentials, &head, now)?
            };
            match answer {
                ResourceAnswer::Use => return Ok(response),
                ResourceAnswer::Retry => {}
                // The single-flight renewal under the store lock: refreshes once
                // however many callers (or processes) saw the 401, or reports
                // that only a new sign-in helps.
                ResourceAnswer::Refresh | ResourceAnswer::Reconnect { .. } => {
                    let challenge = match answer {
                        ResourceAnswer::Reconnect { challenge } => challenge,
                        _ => None,
                    };
                    match self.on_unauthorized(credentials.token()).await {
                        Ok(_) => {}
                        Err(error)
                            if error.code() == "reauth_required"
                                && self.inner.client.reauthorize =>
                        {
                            self.reauthorize(challenge).await?;
                        }
                        Err(error) => return Err(error),
                    }
                }
                ResourceAnswer::StepUp { scope, challenge } => {
                    self.step_up_to(scope, &challenge).await?;
                }
            }
        }
    }

    /// Core's resource policy for this connection, with the client's allow-list.
    async fn policy(&self) -> Result<ResourcePolicy, Error> {
        let server_url = self.inner.session.lock().await.grant.server_url.clone();
        let policy = ResourcePolicy::new(&server_url)
            .and_then(|p| p.allow_origins(&self.inner.client.token_origins))
            .map_err(mcp_oauth_core::Error::from)?;
        Ok(policy)
    }

    /// The headers that authorize `request`, with a valid token, or the policy's
    /// refusal (checked before any refresh: a refused URL costs nothing).
    async fn credentials(
        &self,
        policy: &ResourcePolicy,
        request: &reqwest::Request,
    ) -> Result<Credentials, Error> {
        policy
            .check(request.url())
            .map_err(mcp_oauth_core::Error::from)?;
        self.access_token().await?;
        let session = self.inner.session.lock().await;
        let now = self.inner.client.now();
        let body = request.body().and_then(reqwest::Body::as_bytes);
        let mut credentials = policy.credentials(
            &session,
            request.method().as_str(),
            request.url(),
            body,
            now,
            &mut OsEntropy,
        )?;
        // A DPoP-bound token: sign its proof with the key the session holds.
        if let Some(proof) = credentials.take_proof() {
            credentials = credentials.with_proof(session.sign_proof(proof)?);
        }
        Ok(credentials)
    }

    /// Signs out: revokes the tokens at the server when it offers RFC 7009
    /// revocation, and forgets them here in any case (a failed revocation is
    /// reported in the result, not as an error).
    pub async fn disconnect(&self) -> Result<crate::client::Revocation, Error> {
        let session = self.session().await;
        self.inner.client.sign_out(self.id(), Some(session)).await
    }
}

/// Why a renewal was asked for.
enum Renewal {
    /// The token is due (or expired).
    Due,
    /// The resource rejected this token.
    Rejected(Secret),
    /// The host asked for a refresh now.
    Forced,
}

impl ConnectionInner {
    fn id(&self) -> &str {
        self.preset.connection_id()
    }

    /// Makes `session` what the synchronous readers see.
    fn publish(&self, session: &Session) {
        let fresh = Arc::new(session.clone());
        *self
            .published
            .write()
            .unwrap_or_else(PoisonError::into_inner) = fresh;
    }

    /// Under the store's lock: re-reads the stored session, uses a token another
    /// process obtained meanwhile, and otherwise refreshes and saves before the
    /// lock is released.
    async fn renew(
        &self,
        mut session: OwnedMutexGuard<Session>,
        reason: Renewal,
    ) -> Result<Secret, Error> {
        let store = &self.client.store;
        let _store_lock = store.lock_session(self.id()).await?;
        let ours = session.tokens.access_token.clone();
        if !self.unsaved.load(Ordering::SeqCst) {
            match store.connection(self.id()).await {
                Ok(Some(stored)) if stored.session != *session => {
                    tracing::debug!("the stored session changed; using it");
                    *session = stored.session;
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(
                    code = Error::from(error.clone()).code(),
                    "cannot re-read the stored session before refreshing: {error}"
                ),
            }
        }
        let now = self.client.now();
        let decision = match &reason {
            Renewal::Due => session.decide(now),
            Renewal::Rejected(rejected) => session.on_unauthorized(rejected, now),
            Renewal::Forced if session.tokens.access_token != ours => TokenDecision::Use,
            Renewal::Forced => TokenDecision::Refresh,
        };
        // The session may now hold another process's tokens, or a rejected one
        // marked dead.
        self.publish(&session);
        match decision {
            TokenDecision::Use => {
                if session.tokens.access_token != ours {
                    tracing::info!("another process refreshed the token; using its token");
                }
                Ok(session.tokens.access_token.clone())
            }
            TokenDecision::Refresh => self.refresh_locked(&mut session).await,
            TokenDecision::ReconnectNeeded => {
                self.persist(&session).await?;
                Err(reconnect(&session))
            }
        }
    }

    async fn refresh_locked(&self, session: &mut Session) -> Result<Secret, Error> {
        let client = &self.client;
        let mut attempt = 0;
        let mut nonce_retried = false;
        let response: HttpResponse = loop {
            attempt += 1;
            // Each attempt is made (and DPoP-proven) afresh: a proof is single-use.
            let mut request = session.refresh_request_at(client.now())?;
            if let Some(proof) = session.token_proof(&request, client.now(), &mut OsEntropy)? {
                request = request.with_header(dpop::HEADER, session.sign_proof(proof)?);
            }
            let url = request.url.clone();
            match client.executor.execute(request).await {
                Ok(response)
                    if session.dpop_retry(
                        dpop::Server::Authorization,
                        &url,
                        &response,
                        nonce_retried,
                    ) =>
                {
                    nonce_retried = true;
                    attempt -= 1;
                }
                Ok(response) => break response,
                Err(error) if attempt < REFRESH_ATTEMPTS => {
                    tracing::warn!(%error, attempt, "refresh failed to reach the token endpoint; retrying");
                    tokio::time::sleep(REFRESH_BACKOFF * attempt).await;
                }
                Err(error) => {
                    client.emit(Progress::RefreshFailed {
                        code: "network_error",
                    });
                    session.on_refresh_unreachable();
                    self.persist(session).await?;
                    return Err(error.into());
                }
            }
        };
        let outcome = session.on_refresh_response(&response, client.now());
        // Persist before handing the token out: a rotated refresh token that is
        // not on disk is a lost grant.
        self.persist(session).await?;
        match outcome {
            Ok(()) => {
                tracing::info!(expires_at = ?session.tokens.expires_at, "access token refreshed");
                client.emit(Progress::Refreshed {
                    expires_at: session.tokens.expires_at,
                });
                Ok(session.tokens.access_token.clone())
            }
            Err(error) => {
                tracing::warn!(code = error.code(), "refresh failed: {error}");
                client.emit(Progress::RefreshFailed { code: error.code() });
                Err(error.into())
            }
        }
    }

    async fn persist(&self, session: &Session) -> Result<(), Error> {
        self.publish(session);
        let saved = self
            .client
            .store
            .save_connection(&self.preset, session)
            .await;
        self.unsaved.store(saved.is_err(), Ordering::SeqCst);
        Ok(saved?)
    }
}

fn reconnect(session: &Session) -> Error {
    mcp_oauth_core::Error::ReauthRequired {
        server: session.grant.server_url.clone(),
        cause: None,
    }
    .into()
}

/// The status and challenges of a resource response, as core reads them.
fn head(response: &reqwest::Response) -> HttpResponse {
    // The challenges, and a resource's DPoP nonce (RFC 9449 §9).
    let headers = response
        .headers()
        .iter()
        .filter(|(name, _)| {
            *name == reqwest::header::WWW_AUTHENTICATE
                || name.as_str().eq_ignore_ascii_case(dpop::NONCE_HEADER)
        })
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    HttpResponse::new(response.status().as_u16(), headers, Vec::new())
}

//! Sign-in for web backends: [`OAuthClient::begin`] on the request that starts
//! it (the user clicked Connect), [`OAuthClient::complete`] on the backend's own
//! callback URL, on this instance or any other sharing the store or the keys.
//!
//! The pending sign-in waits as [`mcp_oauth_core::pending`] describes, in the
//! mode the client was built with ([`PendingMode`]): *stored* in the token store
//! and taken (burned) before its code is exchanged, or *sealed* into `state`.
//! `complete` accepts both, by the shape of the `state`, so instances can switch
//! modes without failing sign-ins in flight. Each is bound to a subject (the
//! app's signed-in user) and expires.
//!
//! ```no_run
//! # async fn run() -> Result<(), mcp_oauth::Error> {
//! use mcp_oauth::{OAuthClient, Preset};
//! let client = OAuthClient::builder("My App").build()?;
//! // GET /oauth/start?server=linear, for the signed-in user-42:
//! let preset = Preset::dynamic("https://mcp.linear.app/mcp").with_connection_id("user-42/linear");
//! let started = client
//!     .begin(preset, "https://app.example.com/oauth/callback", "user-42")
//!     .await?;
//! // redirect the popup to started.authorization_url; then, on GET /oauth/callback:
//! # let callback_url = "";
//! let connection = client.complete(callback_url, "user-42").await?;
//! # let _ = connection; Ok(()) }
//! ```

use crate::client::{ClientInner, OAuthClient};
use crate::connection::Connection;
use crate::error::Error;
use crate::preset::Preset;
use crate::progress::Progress;
use mcp_oauth_core::dpop;
use mcp_oauth_core::entropy::OsEntropy;
use mcp_oauth_core::flow::Action;
use mcp_oauth_core::pending::{self, PendingSignIn, SignInError};
use mcp_oauth_core::seal;
use url::Url;

/// How long a stored pending sign-in is kept after it expires, so that a late
/// callback is told `sign_in_expired` rather than `state_mismatch`.
const EXPIRED_KEPT_SECS: u64 = 3600;

/// Where a web backend's pending sign-ins wait for their callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PendingMode {
    /// In the token store, under a random `state`; taken before the code is
    /// exchanged, so a replayed callback fails with `state_mismatch`.
    #[default]
    Stored,
    /// Sealed into `state` with the client's seal keys; nothing is kept
    /// server-side. A replayed callback is refused by the authorization server
    /// (a code is single-use): `invalid_grant`.
    Sealed,
}

/// A web sign-in waiting for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedSignIn {
    /// Send the user (the popup) here.
    pub authorization_url: Url,
    /// The `state` the callback will carry (sealed mode: the sealed sign-in).
    pub state: String,
    /// When the sign-in stops being accepted (seconds since the epoch).
    pub expires_at: u64,
}

impl OAuthClient {
    /// Web backends: starts a sign-in whose callback goes to `redirect_uri` (the
    /// backend's own URL), for `subject`, the app's signed-in user. Runs
    /// discovery and registration now. The preset must name its connection
    /// ([`Preset::with_connection_id`]), since one backend keeps many users'
    /// connections to the same server.
    pub async fn begin(
        &self,
        preset: impl Into<Preset>,
        redirect_uri: &str,
        subject: &str,
    ) -> Result<StartedSignIn, Error> {
        let preset = preset.into();
        if !preset.has_connection_id() {
            return Err(mcp_oauth_core::Error::Config(
                "a web sign-in needs a connection id (one per user and server), e.g. \"user-42/linear\""
                    .into(),
            )
            .into());
        }
        if subject.is_empty() {
            return Err(mcp_oauth_core::Error::from(SignInError::NoSubject).into());
        }
        let inner = &self.inner;
        let mut flow = inner.new_flow(&preset, redirect_uri, None, None).await?;
        loop {
            match flow.next_action() {
                Action::Send(request) => inner.send(&mut flow, request).await?,
                Action::Authorize { .. } => break,
                Action::Done(_) => {
                    return Err(mcp_oauth_core::Error::Config(
                        "this server signs in without a user (client credentials): use connect"
                            .into(),
                    )
                    .into())
                }
                Action::Failed(error) => return Err(error.into()),
            }
        }
        let grant = flow
            .into_code_grant()
            .map_err(|_| mcp_oauth_core::Error::UnexpectedEvent {
                state: "not waiting for a callback",
                event: "begin",
            })?;
        let now = inner.now();
        let record = PendingSignIn::new(grant, preset, subject, now, inner.sign_in_ttl.as_secs())?;
        let state = match inner.pending_mode {
            PendingMode::Stored => {
                let state = record.stored_state().to_owned();
                inner
                    .store
                    .raw()
                    .set_expiring(
                        &pending::store_key(&state),
                        record.to_json()?,
                        record.expires_at().saturating_add(EXPIRED_KEPT_SECS),
                    )
                    .await?;
                state
            }
            PendingMode::Sealed => {
                let keys = inner.seal_keys.as_ref().ok_or_else(|| {
                    mcp_oauth_core::Error::Config("sealed sign-ins need seal keys".into())
                })?;
                record.seal(keys, &mut OsEntropy)?
            }
        };
        tracing::info!(
            connection_id = record.host().connection_id(),
            mode = ?inner.pending_mode,
            state_len = state.len(),
            "web sign-in started"
        );
        Ok(StartedSignIn {
            authorization_url: record.authorization_url(&state),
            state,
            expires_at: record.expires_at(),
        })
    }

    /// Web backends: finishes a sign-in started by [`OAuthClient::begin`] (here
    /// or on another instance) with the URL that reached the callback, for
    /// `subject`, the app's user whose session received it. The pending sign-in
    /// is used up whatever happens; nothing is stored unless the sign-in
    /// succeeds. Failures after the sign-in was found name its connection
    /// ([`Error::connection_id`]).
    pub async fn complete(&self, callback_url: &str, subject: &str) -> Result<Connection, Error> {
        let inner = &self.inner;
        let state = pending::callback_state(callback_url)?;
        let record = find(inner, &state).await?;
        let connection_id = record.host().connection_id().to_owned();
        let finish = async {
            let (preset, mut exchange) =
                record.complete(callback_url, &state, subject, inner.now())?;
            // The same progress as a desktop sign-in from here on: the callback,
            // the code exchange, then signed in (from `remember`).
            inner.emit(Progress::CallbackAccepted);
            // A sign-in that began bound to a DPoP key proves the exchange with
            // it, and answers the token endpoint's nonce challenge once.
            let mut retried = false;
            let response = loop {
                let mut request = exchange.request().clone();
                if let Some(proof) = exchange.dpop_proof(inner.now(), &mut OsEntropy)? {
                    request = request.with_header(dpop::HEADER, exchange.sign_proof(proof)?);
                }
                let response = inner.execute(request).await?;
                if exchange.dpop_retry(&response, retried) {
                    tracing::info!("the token endpoint wants a DPoP nonce; sending again");
                    retried = true;
                    continue;
                }
                break response;
            };
            let session = exchange.on_response(&response, inner.now())?;
            inner.remember(&preset, &session).await?;
            tracing::info!(
                connection_id = preset.connection_id(),
                "web sign-in completed"
            );
            Ok(Connection::new(inner.clone(), preset, session))
        };
        finish.await.map_err(|source: Error| Error::SignInFailed {
            connection_id,
            source: Box::new(source),
        })
    }
}

/// The pending sign-in a callback's `state` names: opened when sealed, taken
/// from the store otherwise.
async fn find(inner: &ClientInner, state: &str) -> Result<PendingSignIn<Preset>, Error> {
    if state.len() > pending::MAX_SEALED_STATE_LEN {
        return Err(mcp_oauth_core::Error::from(SignInError::UnknownState).into());
    }
    if seal::looks_sealed(state) {
        let Some(keys) = &inner.seal_keys else {
            return Err(mcp_oauth_core::Error::from(SignInError::UnknownState).into());
        };
        return Ok(PendingSignIn::unseal(state, keys)?);
    }
    match inner.store.raw().take(&pending::store_key(state)).await? {
        Some(json) => Ok(PendingSignIn::from_json(&json)?),
        None => Err(mcp_oauth_core::Error::from(SignInError::UnknownState).into()),
    }
}

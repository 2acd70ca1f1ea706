//! The sign-in flows as state machines the host drives (DESIGN.md "Flows as state
//! machines").
//!
//! ```text
//! loop {
//!     match flow.next_action() {
//!         Action::Send(request)                 => flow.on_response(execute(request)?, now)?,
//!         Action::Authorize { url, redirect_uri } => flow.on_callback(&browser_and_listener(url)?, now)?,
//!         Action::Done(session)                 => break *session,
//!         Action::Failed(error)                 => return Err(error),
//!     }
//! }
//! ```
//!
//! [`DynamicFlow`] discovers everything (401 challenge, RFC 9728, RFC 8414/OIDC) and
//! registers a client; [`ManualFlow`] starts from what the user typed in. Both end in
//! the same authorization-code + PKCE grant (`code_grant`). Every state is
//! serializable, so a pending flow can be stored and resumed in another process;
//! once it waits for its callback, what finishing needs can also be kept on its
//! own: a web backend's [`crate::pending::PendingSignIn`], a browser redirect's
//! [`AwaitingCallback`]. A serialized flow holds the PKCE verifier: keep
//! it server-side or sealed.

mod awaiting;
mod code_grant;
mod dynamic;
mod manual;

pub use awaiting::AwaitingCallback;
pub use code_grant::CodeGrant;
pub use dynamic::{
    Discovered, DynamicConfig, DynamicFlow, Probe, DEFAULT_PROTOCOL_VERSION, DISCOVERY_REUSE_SECS,
};
pub use manual::{ManualConfig, ManualFlow};

use crate::dpop::{DpopBinding, UnsignedProof};
use crate::entropy::Entropy;
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::session::Session;
use serde::{Deserialize, Serialize};
use url::Url;

/// What the host must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this request and hand the response to `on_response`.
    Send(HttpRequest),
    /// Open `url` in the user's browser (http/https only, never through a shell) and
    /// hand the URL that arrives at `redirect_uri` to `on_callback`.
    Authorize {
        /// The authorization URL.
        url: Url,
        /// Where the callback will arrive.
        redirect_uri: String,
    },
    /// Signed in.
    Done(Box<Session>),
    /// The flow stopped; this is the error that stopped it.
    Failed(Error),
}

/// Either flow, for hosts that drive both with one loop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Discovery and registration.
    Dynamic(Box<DynamicFlow>),
    /// User-supplied client and endpoints.
    Manual(Box<ManualFlow>),
}

impl From<DynamicFlow> for Flow {
    fn from(flow: DynamicFlow) -> Self {
        Flow::Dynamic(Box::new(flow))
    }
}

impl From<ManualFlow> for Flow {
    fn from(flow: ManualFlow) -> Self {
        Flow::Manual(Box::new(flow))
    }
}

impl Flow {
    /// What the host must do next.
    pub fn next_action(&self) -> Action {
        match self {
            Flow::Dynamic(f) => f.next_action(),
            Flow::Manual(f) => f.next_action(),
        }
    }

    /// Feeds the response to the request of the last `Action::Send`.
    pub fn on_response(&mut self, response: HttpResponse, now: u64) -> Result<(), Error> {
        match self {
            Flow::Dynamic(f) => f.on_response(response, now),
            Flow::Manual(f) => f.on_response(response, now),
        }
    }

    /// The request of the last `Action::Send` could not be sent or answered (a
    /// network error, a browser's CORS refusal). Returns `true` when the flow can
    /// do without it and goes on (the manual preset's optional metadata lookup);
    /// `false` when the host should fail with its transport error.
    pub fn on_unreachable(&mut self) -> bool {
        match self {
            Flow::Dynamic(_) => false,
            Flow::Manual(f) => f.on_unreachable(),
        }
    }

    /// Feeds the URL that reached the redirect URI.
    pub fn on_callback(&mut self, callback_url: &str, now: u64) -> Result<(), Error> {
        match self {
            Flow::Dynamic(f) => f.on_callback(callback_url, now),
            Flow::Manual(f) => f.on_callback(callback_url, now),
        }
    }

    /// The DPoP proof `request` must carry (see [`DynamicFlow::dpop_proof`]).
    pub fn dpop_proof(
        &self,
        request: &HttpRequest,
        now: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<Option<UnsignedProof>, Error> {
        match self {
            Flow::Dynamic(f) => f.dpop_proof(request, now, entropy),
            Flow::Manual(_) => Ok(None),
        }
    }

    /// Signs a proof with the flow's DPoP key, when core holds it.
    pub fn sign_proof(&self, proof: UnsignedProof) -> Result<String, Error> {
        let binding = self.dpop().ok_or(crate::dpop::DpopError::KeyNotHeld)?;
        Ok(binding.key.sign(proof)?)
    }

    /// The DPoP binding of the sign-in, once decided.
    pub fn dpop(&self) -> Option<&DpopBinding> {
        match self {
            Flow::Dynamic(f) => f.dpop(),
            Flow::Manual(_) => None,
        }
    }

    /// The metadata a dynamic flow discovered, for a step-up to reuse
    /// ([`DynamicFlow::reusing`]); `None` for manual flows.
    pub fn discovered(&self) -> Option<Discovered> {
        match self {
            Flow::Dynamic(f) => f.discovered(),
            Flow::Manual(_) => None,
        }
    }

    /// Whether to send `request` once more with the nonce `response` carried (see
    /// [`DynamicFlow::dpop_retry`]).
    pub fn dpop_retry(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
        retried: bool,
    ) -> bool {
        match self {
            Flow::Dynamic(f) => f.dpop_retry(request, response, retried),
            Flow::Manual(_) => false,
        }
    }

    /// The code grant waiting for its callback, once the flow has reached
    /// [`Action::Authorize`]; the flow is given back when it is elsewhere. A web
    /// backend keeps the grant as a [`crate::pending::PendingSignIn`].
    pub fn into_code_grant(self) -> Result<CodeGrant, Flow> {
        match self {
            Flow::Dynamic(f) => f.into_code_grant().map_err(Flow::Dynamic),
            Flow::Manual(f) => f.into_code_grant().map_err(Flow::Manual),
        }
    }

    /// The sign-in waiting for its callback, on its own, once the flow has reached
    /// [`Action::Authorize`] (see [`AwaitingCallback`]); the flow is given back
    /// when it is elsewhere.
    pub fn into_awaiting_callback(self) -> Result<AwaitingCallback, Flow> {
        self.into_code_grant().map(AwaitingCallback::new)
    }

    /// The `state` the callback must carry, once the flow is waiting for it. Hosts
    /// use it to route callbacks to pending flows.
    pub fn pending_state(&self) -> Option<&str> {
        match self {
            Flow::Dynamic(f) => f.pending_state(),
            Flow::Manual(f) => f.pending_state(),
        }
    }
}

/// Whether a callback error should end the flow. A missing or wrong `state`, or a
/// URL that is not a callback at all, is ignored (a stale tab, a forged request);
/// an issuer mix-up, a denial or a missing code ends it.
fn callback_error_is_fatal(error: &crate::authorize::CallbackError) -> bool {
    use crate::authorize::CallbackError::*;
    !matches!(error, StateMissing | StateMismatch | Malformed(_))
}

#[cfg(test)]
mod tests;

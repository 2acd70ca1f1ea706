//! A sign-in that has left its flow to wait for its callback where the flow
//! itself cannot wait: a browser page that redirects its own window to the
//! authorization server keeps it in `sessionStorage` and reads it back on its
//! callback page.
//!
//! What finishing needs is the code grant alone (the PKCE verifier, the `state`
//! and `iss` the callback must carry, the DPoP binding), so that is all that is
//! kept: reading back a whole [`Flow`](super::Flow) would take the
//! deserialization of every step, configuration and metadata document, which a
//! finished discovery no longer needs (and which is a large share of the browser
//! package). The callback rules are the flow's: a callback without this sign-in's
//! `state`, or no callback at all, is ignored and the sign-in keeps waiting; one
//! that carries an error or an issuer mix-up ends it
//! ([RFC 9207](https://www.rfc-editor.org/rfc/rfc9207)).

use super::{callback_error_is_fatal, CodeGrant};
use crate::error::Error;
use crate::pending::CodeExchange;
use serde::{Deserialize, Serialize};
use url::Url;

/// A sign-in waiting for its callback, out of its flow (see
/// [`Flow::into_awaiting_callback`](super::Flow::into_awaiting_callback)).
/// Serialized, it holds the PKCE verifier: keep it where the page keeps tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwaitingCallback {
    grant: CodeGrant,
    /// A callback was accepted, or ended the sign-in: no other is taken.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    ended: bool,
}

impl AwaitingCallback {
    /// Waits for the callback of `grant`, which has not had one yet.
    pub(crate) fn new(grant: CodeGrant) -> Self {
        Self {
            grant,
            ended: false,
        }
    }

    /// Where to send the user.
    pub fn authorization_url(&self) -> Url {
        self.grant.authorization_url()
    }

    /// Where the callback will arrive.
    pub fn redirect_uri(&self) -> &str {
        self.grant.redirect_uri()
    }

    /// The `state` the callback must carry, while the sign-in still waits for it.
    pub fn pending_state(&self) -> Option<&str> {
        (!self.ended).then(|| self.grant.state())
    }

    /// Checks the URL that reached the redirect URI and prepares the code
    /// exchange. An error with [`AwaitingCallback::pending_state`] still `Some`
    /// means the callback was ignored and the sign-in keeps waiting.
    pub fn on_callback(&mut self, callback_url: &str, now: u64) -> Result<CodeExchange, Error> {
        if self.ended {
            return Err(Error::UnexpectedEvent {
                state: "done",
                event: "a callback",
            });
        }
        let mut grant = self.grant.clone();
        match grant.on_callback(callback_url, now) {
            Ok(()) => {
                self.ended = true;
                CodeExchange::accepted(grant)
            }
            Err(Error::Callback(e)) if !callback_error_is_fatal(&e) => Err(Error::Callback(e)),
            Err(error) => {
                self.ended = true;
                Err(error)
            }
        }
    }
}

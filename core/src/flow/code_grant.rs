//! The part both flows share once a client is known: the authorization URL with
//! PKCE, the callback check, and the code exchange.

use crate::authorize::{self, AuthorizationRequest, CallbackExpectation};
use crate::entropy::{random_token, Entropy};
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::pkce;
use crate::registration::ClientCredentials;
use crate::secret::Secret;
use crate::session::{Grant, Session};
use crate::token;
use serde::{Deserialize, Serialize};
use url::Url;

/// Bytes of entropy in `state`: 128 bits, as for PKCE's minimum.
const STATE_BYTES: usize = 16;

/// The per-sign-in secrets, drawn when a flow is created so that the flow itself
/// needs no randomness later (and replays identically in tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuthSecrets {
    state: String,
    code_verifier: Secret,
}

impl AuthSecrets {
    pub(crate) fn generate(entropy: &mut dyn Entropy) -> Result<Self, Error> {
        Ok(Self {
            state: random_token(entropy, STATE_BYTES)?,
            code_verifier: pkce::generate_verifier(entropy)?,
        })
    }
}

/// An authorization-code grant in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGrant {
    grant: Grant,
    authorization_endpoint: Url,
    redirect_uri: String,
    expectation: CallbackExpectation,
    code_verifier: Secret,
    /// The exchange request, once the callback has been accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exchange: Option<HttpRequest>,
}

/// Inputs to a [`CodeGrant`].
pub(crate) struct CodeGrantParams {
    pub grant: Grant,
    pub authorization_endpoint: Url,
    pub redirect_uri: String,
    /// The issuer `iss` must equal; `None` when a manual preset named no issuer.
    pub expected_issuer: Option<String>,
    pub iss_required: bool,
}

impl CodeGrant {
    /// Records what the callback must match.
    pub(crate) fn new(params: CodeGrantParams, secrets: AuthSecrets) -> Self {
        Self {
            expectation: CallbackExpectation {
                state: secrets.state,
                issuer: params.expected_issuer,
                iss_required: params.iss_required,
            },
            grant: params.grant,
            authorization_endpoint: params.authorization_endpoint,
            redirect_uri: params.redirect_uri,
            code_verifier: secrets.code_verifier,
            exchange: None,
        }
    }

    /// The URL to open in the browser.
    pub fn authorization_url(&self) -> Url {
        self.authorization_url_with_state(&self.expectation.state)
    }

    /// The authorization URL carrying `state` instead of the one drawn for this
    /// grant (a sealed pending sign-in travels as the state itself).
    pub(crate) fn authorization_url_with_state(&self, state: &str) -> Url {
        AuthorizationRequest {
            endpoint: &self.authorization_endpoint,
            client_id: &self.grant.client.client_id,
            redirect_uri: &self.redirect_uri,
            scope: self.grant.scope.as_deref(),
            state,
            code_challenge: &pkce::s256_challenge(self.code_verifier.expose()),
            resource: self.grant.resource.as_deref(),
        }
        .to_url()
    }

    /// Where the callback will arrive.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The `state` the callback must carry.
    pub fn state(&self) -> &str {
        &self.expectation.state
    }

    /// Expect `state` on the callback instead of the drawn one.
    pub(crate) fn expect_state(&mut self, state: String) {
        self.expectation.state = state;
    }

    /// The client in use.
    pub fn client(&self) -> &ClientCredentials {
        &self.grant.client
    }

    /// The token request to send, once the callback was accepted.
    pub fn exchange_request(&self) -> Option<&HttpRequest> {
        self.exchange.as_ref()
    }

    /// Checks the callback and prepares the code exchange.
    pub(crate) fn on_callback(&mut self, callback_url: &str, now: u64) -> Result<(), Error> {
        let code = authorize::validate_callback(callback_url, &self.expectation)?;
        self.exchange = Some(token::authorization_code_request(
            &self.grant.token_endpoint,
            &self.grant.client,
            &code,
            &self.redirect_uri,
            &self.code_verifier,
            self.grant.resource.as_deref(),
            now,
        )?);
        Ok(())
    }

    /// Reads the token response into a session.
    pub(crate) fn on_token_response(
        &self,
        response: &HttpResponse,
        now: u64,
    ) -> Result<Session, Error> {
        let tokens = token::parse_token_response(response, now, self.grant.scope.as_deref())?;
        Ok(Session::new(self.grant.clone(), tokens))
    }
}

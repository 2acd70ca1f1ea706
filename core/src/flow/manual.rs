//! The manual flow: the user registered an OAuth app themselves and typed in its
//! client id, optional secret, endpoints and scopes (servers whose registration
//! endpoint answers 403). No discovery or registration; only a metadata lookup to
//! call the token endpoint the way the server advertises (`client_secret_post`
//! rather than the RFC default Basic when that is all it takes) and to learn
//! whether callbacks carry `iss`. With an `issuer`, its RFC 8414 / OIDC URLs; without
//! one, the issuers the authorization URL may belong to ([`MetadataLookup`], the
//! lookup `inspect` uses), keeping only a document that describes the endpoints the
//! user typed. The RFC default applies only when no metadata is found.

use super::code_grant::{AuthSecrets, CodeGrant, CodeGrantParams};
use super::dynamic::check_redirect_uri;
use super::{callback_error_is_fatal, Action};
use crate::client_auth::{self, AuthMethod, SecretRequirement};
use crate::discovery::{self, AuthorizationServerMetadata};
use crate::entropy::Entropy;
use crate::error::Error;
use crate::http::HttpResponse;
use crate::inspect::{LookupStep, MetadataLookup};
use crate::loopback::is_secure_or_loopback;
use crate::registration::ClientCredentials;
use crate::secret::Secret;
use crate::session::{Grant, GrantType, Session};
use serde::{Deserialize, Serialize};
use url::Url;

/// What the user entered for a manually registered OAuth app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualConfig {
    /// The client id of the app the user registered.
    pub client_id: String,
    /// Its secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// The authorization endpoint URL.
    pub authorization_endpoint: String,
    /// The token endpoint URL.
    pub token_endpoint: String,
    /// Space-separated scopes to request, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    /// Where the callback will arrive (as registered with the app).
    pub redirect_uri: String,
    /// The MCP server / API the token is for; sent as RFC 8707 `resource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    /// The client authentication method, if the user knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthMethod>,
    /// The authorization server's issuer, if known: enables the metadata lookup
    /// and the RFC 9207 `iss` check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Step {
    Metadata(MetadataLookup),
    Authorizing(Box<CodeGrant>),
    Done(Box<Session>),
    #[serde(skip)]
    Failed(Error),
}

/// Sign-in with a client the user registered by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualFlow {
    config: ManualConfig,
    authorization_endpoint: Url,
    token_endpoint: Url,
    secrets: AuthSecrets,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata: Option<AuthorizationServerMetadata>,
    step: Step,
}

impl ManualFlow {
    /// Starts a sign-in; validates the URLs the user typed.
    pub fn new(config: ManualConfig, entropy: &mut dyn Entropy) -> Result<Self, Error> {
        let authorization_endpoint = endpoint("authorization URL", &config.authorization_endpoint)?;
        let token_endpoint = endpoint("token URL", &config.token_endpoint)?;
        check_redirect_uri(&config.redirect_uri)?;
        if config.client_id.trim().is_empty() {
            return Err(Error::Config("the client id is empty".into()));
        }
        if let Some(server) = &config.server_url {
            endpoint("server URL", server)?;
        }
        let mut flow = Self {
            authorization_endpoint,
            token_endpoint,
            secrets: AuthSecrets::generate(entropy)?,
            metadata: None,
            config,
            step: Step::Failed(Error::Config("the flow is being set up".into())),
        };
        let lookup = match &flow.config.issuer {
            Some(issuer) => MetadataLookup::for_issuer(issuer)?,
            None => MetadataLookup::for_endpoint(
                &flow.authorization_endpoint,
                vec![
                    flow.authorization_endpoint.clone(),
                    flow.token_endpoint.clone(),
                ],
            ),
        };
        flow.step = match lookup.request() {
            Some(_) => Step::Metadata(lookup),
            None => flow.authorizing_step(None)?,
        };
        Ok(flow)
    }

    /// What the host must do next.
    pub fn next_action(&self) -> Action {
        match &self.step {
            Step::Metadata(lookup) => match lookup.request() {
                Some(request) => Action::Send(request),
                None => Action::Failed(Error::Config("the stored flow state is corrupt".into())),
            },
            Step::Authorizing(grant) => match grant.exchange_request() {
                Some(request) => Action::Send(request.clone()),
                None => Action::Authorize {
                    url: grant.authorization_url(),
                    redirect_uri: grant.redirect_uri().to_owned(),
                },
            },
            Step::Done(session) => Action::Done(session.clone()),
            Step::Failed(error) => Action::Failed(error.clone()),
        }
    }

    /// Feeds the response to the last `Action::Send`. An error ends the flow.
    pub fn on_response(&mut self, response: HttpResponse, now: u64) -> Result<(), Error> {
        let next = match &self.step {
            Step::Metadata(lookup) => {
                let lookup = lookup.clone();
                self.on_metadata(lookup, &response)
            }
            Step::Authorizing(grant) if grant.exchange_request().is_some() => grant
                .on_token_response(&response, now, None)
                .map(|session| Step::Done(Box::new(session))),
            _ => {
                return Err(Error::UnexpectedEvent {
                    state: "not waiting for an HTTP response",
                    event: "an HTTP response",
                })
            }
        };
        match next {
            Ok(step) => {
                self.step = step;
                Ok(())
            }
            Err(error) => {
                self.step = Step::Failed(error.clone());
                Err(error)
            }
        }
    }

    /// The last request could not be sent: a metadata lookup goes on without that
    /// candidate (metadata is optional here, and a browser may be refused it by
    /// CORS); anything else is for the host to report (`false`).
    pub fn on_unreachable(&mut self) -> bool {
        let Step::Metadata(lookup) = &self.step else {
            return false;
        };
        let unanswered = HttpResponse::new(599, Vec::new(), Vec::new());
        let lookup = lookup.clone();
        match self.on_metadata(lookup, &unanswered) {
            Ok(step) => self.step = step,
            Err(error) => self.step = Step::Failed(error),
        }
        true
    }

    /// Feeds the URL that reached the redirect URI. A callback with a missing or
    /// wrong `state` is rejected and the flow keeps waiting for the right one.
    pub fn on_callback(&mut self, callback_url: &str, now: u64) -> Result<(), Error> {
        let Step::Authorizing(grant) = &mut self.step else {
            return Err(Error::UnexpectedEvent {
                state: "not waiting for a callback",
                event: "a callback",
            });
        };
        if grant.exchange_request().is_some() {
            return Err(Error::UnexpectedEvent {
                state: "exchanging the code",
                event: "a second callback",
            });
        }
        match grant.on_callback(callback_url, now) {
            Ok(()) => Ok(()),
            Err(Error::Callback(e)) if !callback_error_is_fatal(&e) => Err(Error::Callback(e)),
            Err(error) => {
                self.step = Step::Failed(error.clone());
                Err(error)
            }
        }
    }

    /// The code grant waiting for its callback, taken out of the flow (web
    /// backends keep it as a pending sign-in); the flow is given back when it is elsewhere.
    pub(crate) fn into_code_grant(self: Box<Self>) -> Result<CodeGrant, Box<Self>> {
        match *self {
            Self {
                step: Step::Authorizing(grant),
                ..
            } if grant.exchange_request().is_none() => Ok(*grant),
            other => Err(Box::new(other)),
        }
    }

    /// The `state` the callback must carry, while waiting for it.
    pub fn pending_state(&self) -> Option<&str> {
        match &self.step {
            Step::Authorizing(grant) if grant.exchange_request().is_none() => Some(grant.state()),
            _ => None,
        }
    }

    /// Whether the UI must ask for a client secret, once the server's metadata is
    /// known (`None` when there is no metadata to tell).
    pub fn secret_requirement(&self) -> Option<SecretRequirement> {
        self.metadata.as_ref().map(|m| {
            client_auth::secret_requirement(m.token_endpoint_auth_methods_supported.as_deref())
        })
    }

    fn on_metadata(
        &mut self,
        mut lookup: MetadataLookup,
        response: &HttpResponse,
    ) -> Result<Step, Error> {
        match lookup.on_response(response)? {
            LookupStep::Found(metadata) => {
                self.metadata = Some((*metadata).clone());
                self.authorizing_step(Some(&metadata))
            }
            LookupStep::Next => Ok(Step::Metadata(lookup)),
            // Without metadata, go on with what the user gave and the RFC defaults.
            LookupStep::Exhausted => self.authorizing_step(None),
        }
    }

    fn authorizing_step(
        &self,
        metadata: Option<&AuthorizationServerMetadata>,
    ) -> Result<Step, Error> {
        let config = &self.config;
        let auth_method = match config.auth_method {
            Some(method) => method,
            None => client_auth::choose(
                metadata.and_then(|m| m.token_endpoint_auth_methods_supported.as_deref()),
                config.client_secret.is_some(),
            )?,
        };
        // The issuer the user gave or the lookup found; without either, the grant
        // is keyed by the token endpoint's origin.
        let known_issuer = config
            .issuer
            .clone()
            .or_else(|| metadata.map(|m| m.issuer.clone()));
        let issuer = known_issuer
            .clone()
            .unwrap_or_else(|| self.token_endpoint.origin().ascii_serialization());
        let resource = match &config.server_url {
            Some(server) => Some(discovery::canonical_resource_uri(&endpoint(
                "server URL",
                server,
            )?)),
            None => None,
        };
        let grant = Grant {
            server_url: config.server_url.clone().unwrap_or_else(|| issuer.clone()),
            resource,
            issuer: issuer.clone(),
            token_endpoint: self.token_endpoint.clone(),
            client: ClientCredentials {
                issuer,
                client_id: config.client_id.trim().to_owned(),
                client_secret: config.client_secret.clone(),
                auth_method,
                client_secret_expires_at: None,
                private_key: None,
            },
            grant_type: GrantType::AuthorizationCode,
            scope: config.scopes.clone().filter(|s| !s.trim().is_empty()),
            revocation_endpoint: metadata.and_then(|m| m.revocation_endpoint.clone()),
        };
        Ok(Step::Authorizing(Box::new(CodeGrant::new(
            CodeGrantParams {
                grant,
                authorization_endpoint: self.authorization_endpoint.clone(),
                redirect_uri: config.redirect_uri.clone(),
                expected_issuer: known_issuer,
                iss_required: metadata
                    .is_some_and(|m| m.authorization_response_iss_parameter_supported),
            },
            self.secrets.clone(),
        ))))
    }
}

fn endpoint(what: &str, value: &str) -> Result<Url, Error> {
    let url = Url::parse(value.trim())
        .map_err(|e| Error::Config(format!("the {what} {value:?} is invalid: {e}")))?;
    if !is_secure_or_loopback(&url) {
        return Err(Error::Config(format!(
            "the {what} {url} must use https (plain http is allowed only on loopback)"
        )));
    }
    Ok(url)
}

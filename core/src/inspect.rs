//! What a connect form needs to know about a server *before* sign-in, and the
//! metadata lookup behind it: which issuer, how the token endpoint authenticates
//! clients, whether the user must type a client secret, whether dynamic
//! registration is open, and which scopes exist (RFC 8414 §2, RFC 9728 §2,
//! RFC 7591 §3).
//!
//! [`Inspection`] is a sans-IO state machine the hosts drive like a flow. Given a
//! URL it tries, in order:
//! 1. the URL as a protected resource: RFC 9728 well-known metadata, then the
//!    authorization servers it lists (in order, the first whose metadata works);
//! 2. the URL as an authorization-server URL (an issuer, an authorization or a
//!    token endpoint): [`MetadataLookup::for_endpoint`] over the issuers the URL
//!    may belong to;
//! 3. the URL as an MCP server that names its metadata only in a `401`
//!    challenge: one MCP `initialize` POST, then step 1 with the advertised URL.
//!
//! Registration is reported `open`, `closed` or `absent`: absent when the metadata
//! has no `registration_endpoint`; otherwise one registration request that no
//! server may accept (a code-flow client without redirect URIs, RFC 7591 §2) tells
//! them apart: an open endpoint looks at the metadata and answers `400`, a closed
//! one answers `401`/`403` before it does (RFC 7591 §3: an initial access token
//! is required). Anything else is `unknown`.
//!
//! [`MetadataLookup`] is also what the manual preset uses when the user gave no
//! issuer: the issuers the authorization URL may belong to, each document accepted
//! only if it describes the endpoints the user typed.

use crate::client_auth::{self, SecretRequirement};
use crate::discovery::{
    self, AuthorizationServerMetadata, DiscoveryError, ProtectedResourceMetadata,
};
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse, Method, Purpose};
use crate::www_authenticate;
use serde::{Deserialize, Serialize};
use url::Url;

/// Whether a client can register itself with RFC 7591 dynamic registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationAvailability {
    /// Anyone may register: the dynamic preset works.
    Open,
    /// A registration endpoint exists but refuses clients without an initial
    /// access token: register an app by hand and use the manual preset.
    Closed,
    /// No registration endpoint is advertised.
    Absent,
    /// A registration endpoint exists, but its answer did not tell.
    Unknown,
}

/// What is known about a server before signing in to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// The authorization server's issuer identifier.
    pub issuer: String,
    /// The protected resource, when the URL was one (RFC 9728 `resource`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Where the user authorizes.
    pub authorization_endpoint: Url,
    /// Where tokens are issued.
    pub token_endpoint: Url,
    /// The token-endpoint client authentication methods the server lists; absent
    /// when it lists none (RFC 8414 then means `client_secret_basic`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Whether a manually registered client needs a secret: `none` is not listed.
    pub client_secret_required: bool,
    /// Whether dynamic client registration is open.
    pub registration: RegistrationAvailability,
    /// The scopes the authorization server lists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// The scopes the protected resource lists, when the URL was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_scopes_supported: Option<Vec<String>>,
    /// Whether Client ID Metadata Documents are accepted as `client_id`.
    pub client_id_metadata_document_supported: bool,
    /// Whether tokens can be revoked at sign-out (RFC 7009).
    pub revocation_supported: bool,
}

impl ServerInfo {
    fn new(
        metadata: &AuthorizationServerMetadata,
        resource: Option<&ProtectedResourceMetadata>,
        registration: RegistrationAvailability,
    ) -> Self {
        let methods = metadata.token_endpoint_auth_methods_supported.clone();
        ServerInfo {
            issuer: metadata.issuer.clone(),
            resource: resource.map(|r| r.resource.clone()),
            authorization_endpoint: metadata.authorization_endpoint.clone(),
            token_endpoint: metadata.token_endpoint.clone(),
            client_secret_required: client_auth::secret_requirement(methods.as_deref())
                == SecretRequirement::Required,
            token_endpoint_auth_methods_supported: methods,
            registration,
            scopes_supported: metadata.scopes_supported.clone(),
            resource_scopes_supported: resource.and_then(|r| r.scopes_supported.clone()),
            client_id_metadata_document_supported: metadata.client_id_metadata_document_supported,
            revocation_supported: metadata.revocation_endpoint.is_some(),
        }
    }
}

/// One URL that may serve an authorization server's metadata, and the issuer it
/// was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Candidate {
    issuer: String,
    url: Url,
}

/// Looks for authorization-server metadata among candidate URLs, one request at
/// a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataLookup {
    candidates: Vec<Candidate>,
    next: usize,
    /// The issuer is known, so a document must name it exactly and any problem
    /// with it is an error. Otherwise documents that do not fit are skipped.
    exact: bool,
    /// Endpoints a guessed document must describe (as its issuer, authorization
    /// or token endpoint); empty when the issuer is exact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    describes: Vec<Url>,
}

/// What one metadata response told a [`MetadataLookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupStep {
    /// The metadata.
    Found(Box<AuthorizationServerMetadata>),
    /// Not here: send [`MetadataLookup::request`] again.
    Next,
    /// Every candidate was tried without success.
    Exhausted,
}

impl MetadataLookup {
    /// The RFC 8414 / OIDC URLs of a known issuer, in the MCP order.
    pub fn for_issuer(issuer: &str) -> Result<Self, DiscoveryError> {
        let candidates = discovery::authorization_server_metadata_urls(issuer)?
            .into_iter()
            .map(|url| Candidate {
                issuer: issuer.to_owned(),
                url,
            })
            .collect();
        Ok(Self {
            candidates,
            next: 0,
            exact: true,
            describes: Vec::new(),
        })
    }

    /// The metadata of whichever server `endpoint` belongs to, trying the issuers
    /// of [`discovery::issuer_candidates`]. A document is used only if its issuer,
    /// authorization endpoint or token endpoint is one of `describes`.
    pub fn for_endpoint(endpoint: &Url, describes: Vec<Url>) -> Self {
        let mut candidates: Vec<Candidate> = Vec::new();
        for issuer in discovery::issuer_candidates(endpoint) {
            for url in discovery::authorization_server_metadata_urls(&issuer).unwrap_or_default() {
                if candidates.iter().all(|c| c.url != url) {
                    candidates.push(Candidate {
                        issuer: issuer.clone(),
                        url,
                    });
                }
            }
        }
        Self {
            candidates,
            next: 0,
            exact: false,
            describes,
        }
    }

    /// The next request to send; `None` once every candidate was tried.
    pub fn request(&self) -> Option<HttpRequest> {
        self.candidates.get(self.next).map(|candidate| {
            HttpRequest::get(candidate.url.clone(), Purpose::AuthorizationServerMetadata)
        })
    }

    /// The URLs tried so far (for error messages).
    pub fn tried(&self) -> Vec<Url> {
        self.candidates
            .iter()
            .take(self.next + 1)
            .map(|c| c.url.clone())
            .collect()
    }

    /// The issuer the lookup is for (exact lookups) or started from.
    pub fn issuer(&self) -> Option<&str> {
        self.candidates.first().map(|c| c.issuer.as_str())
    }

    /// Feeds the response to [`MetadataLookup::request`].
    pub fn on_response(&mut self, response: &HttpResponse) -> Result<LookupStep, DiscoveryError> {
        let Some(candidate) = self.candidates.get(self.next) else {
            return Ok(LookupStep::Exhausted);
        };
        if response.is_success() {
            let parsed = if self.exact {
                Some(discovery::parse_authorization_server_metadata(
                    &candidate.url,
                    &candidate.issuer,
                    response,
                )?)
            } else {
                discovery::parse_authorization_server_metadata_at(
                    &candidate.url,
                    &candidate.issuer,
                    response,
                )
                .ok()
                .filter(|metadata| self.exact || self.describes_wanted(metadata))
            };
            if let Some(metadata) = parsed {
                return Ok(LookupStep::Found(Box::new(metadata)));
            }
        }
        self.next += 1;
        Ok(if self.next < self.candidates.len() {
            LookupStep::Next
        } else {
            LookupStep::Exhausted
        })
    }

    fn describes_wanted(&self, metadata: &AuthorizationServerMetadata) -> bool {
        let issuer = Url::parse(&metadata.issuer).ok();
        self.describes.iter().any(|wanted| {
            discovery::same_endpoint(wanted, &metadata.authorization_endpoint)
                || discovery::same_endpoint(wanted, &metadata.token_endpoint)
                || issuer
                    .as_ref()
                    .is_some_and(|i| discovery::same_endpoint(wanted, i))
        })
    }
}

/// Where an [`Inspection`] is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
enum Step {
    ResourceMetadata {
        candidates: Vec<Url>,
        next: usize,
    },
    AuthorizationServer(MetadataLookup),
    Probe,
    Registration(Box<AuthorizationServerMetadata>),
    Done(Box<ServerInfo>),
    #[serde(skip)]
    Failed(Error),
}

/// What the host must do next for an [`Inspection`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InspectAction {
    /// Send this request and hand the response to [`Inspection::on_response`].
    Send(HttpRequest),
    /// What the server told.
    Done(Box<ServerInfo>),
    /// Nothing usable was found; this error says what was tried.
    Failed(Error),
}

/// Finds out how a server signs clients in, without signing in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inspection {
    target: Url,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_metadata: Option<ProtectedResourceMetadata>,
    /// Authorization servers the resource lists that are still to try.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fallback_issuers: Vec<String>,
    /// Whether the URL was already probed for a `401` challenge.
    #[serde(default)]
    probed: bool,
    #[serde(skip)]
    first_error: Option<Error>,
    step: Step,
}

impl Inspection {
    /// Starts inspecting `url`: a server (MCP) URL, an issuer, or an
    /// authorization or token endpoint URL.
    pub fn new(url: &str) -> Result<Self, Error> {
        let target = Url::parse(url.trim()).map_err(|e| DiscoveryError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        if !crate::loopback::is_secure_or_loopback(&target) {
            return Err(DiscoveryError::InsecureEndpoint {
                what: "server URL",
                url: target.to_string(),
            }
            .into());
        }
        Ok(Self {
            step: Step::ResourceMetadata {
                candidates: discovery::protected_resource_metadata_urls(&target),
                next: 0,
            },
            target,
            resource_metadata: None,
            fallback_issuers: Vec::new(),
            probed: false,
            first_error: None,
        })
    }

    /// What the host must do next.
    pub fn next_action(&self) -> InspectAction {
        match &self.step {
            Step::ResourceMetadata { candidates, next } => match candidates.get(*next) {
                Some(url) => {
                    InspectAction::Send(HttpRequest::get(url.clone(), Purpose::ResourceMetadata))
                }
                None => InspectAction::Failed(self.not_found()),
            },
            Step::AuthorizationServer(lookup) => match lookup.request() {
                Some(request) => InspectAction::Send(request),
                None => InspectAction::Failed(self.not_found()),
            },
            Step::Probe => InspectAction::Send(probe_request(&self.target)),
            Step::Registration(metadata) => match &metadata.registration_endpoint {
                Some(endpoint) => InspectAction::Send(registration_probe(endpoint)),
                None => InspectAction::Failed(self.not_found()),
            },
            Step::Done(info) => InspectAction::Done(info.clone()),
            Step::Failed(error) => InspectAction::Failed(error.clone()),
        }
    }

    /// Feeds the response to the last [`InspectAction::Send`].
    pub fn on_response(&mut self, response: &HttpResponse) -> Result<(), Error> {
        let step = std::mem::replace(&mut self.step, Step::Probe);
        match self.advance(step, response) {
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

    fn advance(&mut self, step: Step, response: &HttpResponse) -> Result<Step, Error> {
        match step {
            Step::ResourceMetadata { candidates, next } => {
                let url = candidates.get(next).cloned();
                let prm = url
                    .as_ref()
                    .filter(|_| response.is_success())
                    .and_then(|url| {
                        let prm =
                            discovery::parse_protected_resource_metadata(url, response).ok()?;
                        discovery::check_resource(&prm, &self.target).ok()?;
                        Some(prm)
                    });
                if let Some(prm) = prm {
                    self.fallback_issuers = prm.authorization_servers.clone();
                    self.resource_metadata = Some(prm);
                    return self.next_authorization_server(None);
                }
                if next + 1 < candidates.len() {
                    return Ok(Step::ResourceMetadata {
                        candidates,
                        next: next + 1,
                    });
                }
                if self.probed {
                    return Err(self.not_found());
                }
                Ok(self.endpoint_lookup())
            }
            Step::AuthorizationServer(mut lookup) => match lookup.on_response(response) {
                Ok(LookupStep::Found(metadata)) => Ok(match metadata.registration_endpoint {
                    Some(_) => Step::Registration(metadata),
                    None => self.done(&metadata, RegistrationAvailability::Absent),
                }),
                Ok(LookupStep::Next) => Ok(Step::AuthorizationServer(lookup)),
                Ok(LookupStep::Exhausted) if self.resource_metadata.is_some() => {
                    let issuer = lookup.issuer().unwrap_or_default().to_owned();
                    let error = DiscoveryError::not_found(&issuer, &lookup.tried());
                    self.next_authorization_server(Some(error.into()))
                }
                Ok(LookupStep::Exhausted) if self.probed => Err(self.not_found()),
                Ok(LookupStep::Exhausted) => {
                    self.probed = true;
                    Ok(Step::Probe)
                }
                Err(error) => self.next_authorization_server(Some(error.into())),
            },
            Step::Probe => {
                let advertised = (response.status == 401)
                    .then(|| www_authenticate::bearer_challenge(response).ok().flatten())
                    .flatten()
                    .and_then(|challenge| challenge.resource_metadata)
                    .and_then(|url| Url::parse(&url).ok())
                    .filter(crate::loopback::is_secure_or_loopback);
                match advertised {
                    Some(url) => Ok(Step::ResourceMetadata {
                        candidates: vec![url],
                        next: 0,
                    }),
                    None => Err(self.not_found()),
                }
            }
            Step::Registration(metadata) => {
                let availability = match response.status {
                    401 | 403 => RegistrationAvailability::Closed,
                    400 | 200 | 201 => RegistrationAvailability::Open,
                    _ => RegistrationAvailability::Unknown,
                };
                Ok(self.done(&metadata, availability))
            }
            Step::Done(_) | Step::Failed(_) => Err(Error::UnexpectedEvent {
                state: "done",
                event: "an HTTP response",
            }),
        }
    }

    fn done(
        &self,
        metadata: &AuthorizationServerMetadata,
        registration: RegistrationAvailability,
    ) -> Step {
        Step::Done(Box::new(ServerInfo::new(
            metadata,
            self.resource_metadata.as_ref(),
            registration,
        )))
    }

    /// The URL as an authorization-server URL, or failing that, a probe.
    fn endpoint_lookup(&mut self) -> Step {
        let lookup = MetadataLookup::for_endpoint(&self.target, vec![self.target.clone()]);
        if lookup.request().is_some() {
            Step::AuthorizationServer(lookup)
        } else {
            self.probed = true;
            Step::Probe
        }
    }

    /// The next authorization server the resource lists, or the first failure.
    fn next_authorization_server(&mut self, failure: Option<Error>) -> Result<Step, Error> {
        if self.first_error.is_none() {
            self.first_error = failure;
        }
        while !self.fallback_issuers.is_empty() {
            let issuer = self.fallback_issuers.remove(0);
            match MetadataLookup::for_issuer(&issuer) {
                Ok(lookup) => return Ok(Step::AuthorizationServer(lookup)),
                Err(error) => {
                    self.first_error.get_or_insert(error.into());
                }
            }
        }
        Err(self.first_error.clone().unwrap_or_else(|| self.not_found()))
    }

    fn not_found(&self) -> Error {
        DiscoveryError::AuthorizationServerNotFound {
            issuer: self.target.to_string(),
            tried: "protected-resource metadata, authorization-server metadata and a 401 challenge"
                .to_owned(),
        }
        .into()
    }
}

/// An MCP `initialize` POST without a token, to provoke the `401` challenge.
fn probe_request(server: &Url) -> HttpRequest {
    HttpRequest {
        method: Method::Post,
        url: server.clone(),
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            (
                "Accept".into(),
                "application/json, text/event-stream".into(),
            ),
        ],
        body: serde_json::json!({
            "jsonrpc": "2.0",
            "id": 0,
            "method": "initialize",
            "params": {
                "protocolVersion": crate::flow::DEFAULT_PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": { "name": "mcp-oauth inspect", "version": env!("CARGO_PKG_VERSION") },
            },
        })
        .to_string()
        .into_bytes(),
        purpose: Purpose::Probe,
    }
}

/// A registration no server may accept (a code-flow client without redirect
/// URIs): an open endpoint refuses it with `400`, a closed one with `401`/`403`.
fn registration_probe(endpoint: &Url) -> HttpRequest {
    HttpRequest::post_json(
        endpoint.clone(),
        Purpose::Registration,
        &serde_json::json!({
            "client_name": "mcp-oauth registration check (not a real client)",
            "redirect_uris": [],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        }),
    )
}

#[cfg(test)]
mod tests;

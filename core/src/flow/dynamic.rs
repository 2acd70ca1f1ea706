//! The dynamic flow: probe the server, discover its authorization server, get a
//! client, then run the shared code grant.
//!
//! A protected resource may list several `authorization_servers` (RFC 9728 §2).
//! They are tried in order, one we already hold a client for first, then the
//! PRM's own order: a server whose metadata cannot be found or used (missing,
//! another issuer, no PKCE S256), or that offers no way to get a client (no
//! registration route, registration refused), is skipped for the next one. The
//! first that works is used; when none does, the first server's error is reported,
//! since it is the one the resource prefers.
//!
//! A step-up (MCP "Step-Up Authorization Flow") follows moments after a sign-in
//! or a request that discovered the server's metadata: [`DynamicFlow::reusing`]
//! starts from that [`Discovered`] metadata instead of fetching it again, when
//! the challenge points to the same protected-resource metadata and it is at
//! most [`DISCOVERY_REUSE_SECS`] old.

use super::code_grant::{AuthSecrets, CodeGrant, CodeGrantParams};
use super::{callback_error_is_fatal, Action};
#[cfg(feature = "assertion-grants")]
use crate::assertion::{self, AssertionGrant};
use crate::discovery::{
    self, AuthorizationServerMetadata, DiscoveryError, ProtectedResourceMetadata,
};
use crate::dpop::{self, DpopBinding, DpopKey, ProofTarget, UnsignedProof};
use crate::entropy::Entropy;
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse, Method, Purpose};
use crate::loopback::is_secure_or_loopback;
use crate::network::NetworkPolicy;
use crate::registration::{
    self, ClientCredentials, PreRegisteredClient, RegistrationError, RegistrationPlan,
};
use crate::scope;
use crate::session::{Grant, GrantType, Session};
use crate::www_authenticate::{self, BearerChallenge};
use serde::{Deserialize, Serialize};
use url::Url;

/// The MCP protocol revision announced on discovery requests unless configured.
pub const DEFAULT_PROTOCOL_VERSION: &str = "2025-11-25";

/// How old discovered metadata may be and still stand in for a lookup in a
/// step-up, in seconds. A step-up follows its discovery within moments; older
/// metadata is fetched again, in case the server changed it.
pub const DISCOVERY_REUSE_SECS: u64 = 600;

/// What discovery found for a server: kept by the host after a sign-in so that a
/// step-up moments later needs no second lookup ([`DynamicFlow::reusing`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovered {
    /// When the authorization server metadata was read (seconds since the epoch).
    pub at: u64,
    /// Where the protected-resource metadata was read.
    pub resource_metadata_url: Url,
    /// The protected-resource metadata (RFC 9728).
    pub resource_metadata: ProtectedResourceMetadata,
    /// The authorization server metadata (RFC 8414 / OpenID Connect discovery).
    pub authorization_server: AuthorizationServerMetadata,
}

/// How to provoke the server's `401` challenge when none is known yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Probe {
    /// POST a JSON-RPC `initialize`, as an MCP client's first request would be.
    #[default]
    McpInitialize,
    /// A plain GET, for REST resources.
    Get,
}

/// What a dynamic sign-in needs to know up front.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicConfig {
    /// The MCP server (protected resource) URL.
    pub server_url: String,
    /// Where the callback will arrive: a loopback URL for native apps, the backend's
    /// https URL for web apps.
    pub redirect_uri: String,
    /// Shown to the user at registration and consent.
    pub client_name: String,
    /// A Client ID Metadata Document URL, used when the AS supports CIMD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata_url: Option<String>,
    /// Clients already known: pre-registered by the app or user, or registered on an
    /// earlier sign-in (each bound to its issuer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<PreRegisteredClient>,
    /// A challenge the host already received (skips the probe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<BearerChallenge>,
    /// The exact scope to request (step-up); otherwise it is chosen from the
    /// challenge and the metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// How to provoke the challenge.
    #[serde(default)]
    pub probe: Probe,
    /// The MCP protocol revision to announce (`MCP-Protocol-Version`).
    #[serde(default = "default_protocol_version")]
    pub protocol_version: String,
    /// Get the tokens with an assertion instead of a browser sign-in: workload
    /// identity federation or enterprise-managed authorization (see
    /// [`crate::assertion`]). `None`: the authorization-code grant (or client
    /// credentials, for a confidential client of a server that offers only that).
    #[cfg(feature = "assertion-grants")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assertion_grant: Option<AssertionGrant>,
    /// A fresh key pair to bind the tokens to (DPoP, RFC 9449), used when the
    /// authorization server advertises ES256 in `dpop_signing_alg_values_supported`
    /// and the resource takes DPoP too (see `DynamicFlow`'s binding decision);
    /// otherwise the tokens are plain bearer tokens. `None`: never use DPoP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_key: Option<DpopKey>,
    /// Which hosts the sign-in may reach (SSRF defence; [`NetworkPolicy`]).
    #[serde(default)]
    pub network: NetworkPolicy,
}

fn default_protocol_version() -> String {
    DEFAULT_PROTOCOL_VERSION.to_owned()
}

impl DynamicConfig {
    /// A configuration with defaults for everything optional.
    pub fn new(
        server_url: impl Into<String>,
        redirect_uri: impl Into<String>,
        client_name: impl Into<String>,
    ) -> Self {
        Self {
            server_url: server_url.into(),
            redirect_uri: redirect_uri.into(),
            client_name: client_name.into(),
            client_metadata_url: None,
            clients: Vec::new(),
            challenge: None,
            scope: None,
            probe: Probe::default(),
            protocol_version: default_protocol_version(),
            #[cfg(feature = "assertion-grants")]
            assertion_grant: None,
            dpop_key: None,
            network: NetworkPolicy::default(),
        }
    }
}

/// Where the dynamic flow is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Step {
    Probe,
    ResourceMetadata {
        candidates: Vec<Url>,
        next: usize,
    },
    AuthorizationServerMetadata {
        issuer: String,
        candidates: Vec<Url>,
        next: usize,
        /// No RFC 9728 metadata: a 2025-03-26 server whose origin is the issuer.
        legacy: bool,
    },
    Registering {
        request: HttpRequest,
        scope: Option<String>,
    },
    Authorizing(Box<CodeGrant>),
    /// A confidential client asking for tokens for itself (RFC 6749 §4.4).
    ClientCredentials {
        grant: Box<Grant>,
        request: HttpRequest,
    },
    /// Enterprise-managed authorization: the user's ID token is being exchanged
    /// at the IdP for an ID-JAG (RFC 8693).
    #[cfg(feature = "assertion-grants")]
    TokenExchange {
        grant: Box<Grant>,
        request: HttpRequest,
    },
    /// An assertion is being presented for tokens (RFC 7523 §2.1).
    #[cfg(feature = "assertion-grants")]
    JwtBearer {
        grant: Box<Grant>,
        request: HttpRequest,
    },
    Done(Box<Session>),
    #[serde(skip)]
    Failed(Error),
}

/// Sign-in with discovery and registration (DESIGN.md "The dynamic flow").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicFlow {
    config: DynamicConfig,
    server: Url,
    secrets: AuthSecrets,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    challenge: Option<BearerChallenge>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_metadata: Option<ProtectedResourceMetadata>,
    /// Where `resource_metadata` was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    resource_metadata_url: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata: Option<AuthorizationServerMetadata>,
    /// The DPoP binding of the token requests, once the authorization server is
    /// known to support it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dpop: Option<DpopBinding>,
    /// When `metadata` was read (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metadata_read_at: Option<u64>,
    /// Authorization servers still to try if the current one cannot be used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    fallback_issuers: Vec<String>,
    /// Why the servers tried so far could not be used, first one first.
    #[serde(skip)]
    skipped: Vec<Error>,
    step: Step,
}

impl DynamicFlow {
    /// Starts a sign-in. The `state` and PKCE verifier are drawn from `entropy` now.
    pub fn new(config: DynamicConfig, entropy: &mut dyn Entropy) -> Result<Self, Error> {
        let server = Url::parse(&config.server_url).map_err(|e| {
            Error::Config(format!(
                "server URL {:?} is invalid: {e}",
                config.server_url
            ))
        })?;
        if !is_secure_or_loopback(&server) {
            return Err(Error::Config(format!(
                "server URL {server} must use https (plain http is allowed only on loopback)"
            )));
        }
        check_redirect_uri(&config.redirect_uri)?;
        config.network.check(&server, &server)?;
        let challenge = config.challenge.clone();
        let mut flow = Self {
            secrets: AuthSecrets::generate(entropy)?,
            server,
            challenge: None,
            resource_metadata: None,
            resource_metadata_url: None,
            metadata: None,
            dpop: None,
            metadata_read_at: None,
            fallback_issuers: Vec::new(),
            skipped: Vec::new(),
            step: Step::Probe,
            config,
        };
        if let Some(challenge) = challenge {
            let step = flow.resource_metadata_step(Some(challenge))?;
            flow.step = flow.reachable(step)?;
        }
        Ok(flow)
    }

    /// Starts a sign-in that may skip discovery: when `discovered` is at most
    /// [`DISCOVERY_REUSE_SECS`] old at `now`, is for this server, and the
    /// configured challenge names no other protected-resource metadata, the flow
    /// goes straight to registration (or authorization, with a known client);
    /// otherwise it is [`DynamicFlow::new`]. For step-up, moments after a
    /// sign-in that discovered the same metadata.
    pub fn reusing(
        config: DynamicConfig,
        discovered: Discovered,
        entropy: &mut dyn Entropy,
        now: u64,
    ) -> Result<Self, Error> {
        let mut flow = Self::new(config, entropy)?;
        let fresh = now.saturating_sub(discovered.at) <= DISCOVERY_REUSE_SECS;
        let challenged_elsewhere = flow
            .config
            .challenge
            .as_ref()
            .and_then(|c| c.resource_metadata.as_deref())
            .is_some_and(|url| url != discovered.resource_metadata_url.as_str());
        let for_this_server =
            discovery::check_resource(&discovered.resource_metadata, &flow.server).is_ok();
        if !fresh || challenged_elsewhere || !for_this_server {
            return Ok(flow);
        }
        flow.challenge = flow.config.challenge.clone();
        flow.resource_metadata = Some(discovered.resource_metadata);
        flow.resource_metadata_url = Some(discovered.resource_metadata_url);
        flow.metadata_read_at = Some(discovered.at);
        flow.step = flow.registration_step(discovered.authorization_server, now)?;
        Ok(flow)
    }

    /// The metadata this flow discovered (or reused), once it has the
    /// authorization server's: what [`DynamicFlow::reusing`] takes. `None` for a
    /// 2025-03-26 server without protected-resource metadata.
    pub fn discovered(&self) -> Option<Discovered> {
        Some(Discovered {
            at: self.metadata_read_at?,
            resource_metadata_url: self.resource_metadata_url.clone()?,
            resource_metadata: self.resource_metadata.clone()?,
            authorization_server: self.metadata.clone()?,
        })
    }

    /// What the host must do next.
    pub fn next_action(&self) -> Action {
        match &self.step {
            Step::Probe => Action::Send(self.probe_request()),
            Step::ResourceMetadata { candidates, next } => match candidates.get(*next) {
                Some(url) => Action::Send(self.metadata_request(url, Purpose::ResourceMetadata)),
                None => Action::Failed(corrupt()),
            },
            Step::AuthorizationServerMetadata {
                candidates, next, ..
            } => match candidates.get(*next) {
                Some(url) => {
                    Action::Send(self.metadata_request(url, Purpose::AuthorizationServerMetadata))
                }
                None => Action::Failed(corrupt()),
            },
            Step::Registering { request, .. } => Action::Send(request.clone()),
            Step::ClientCredentials { request, .. } => Action::Send(request.clone()),
            #[cfg(feature = "assertion-grants")]
            Step::TokenExchange { request, .. } | Step::JwtBearer { request, .. } => {
                Action::Send(request.clone())
            }
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
        match self
            .advance(&response, now)
            .and_then(|step| self.reachable(step))
        {
            Ok(step) => {
                self.step = step;
                Ok(())
            }
            Err(error) => {
                if !matches!(error, Error::UnexpectedEvent { .. }) {
                    self.step = Step::Failed(error.clone());
                }
                Err(error)
            }
        }
    }

    /// Feeds the URL that reached the redirect URI. A callback with a missing or
    /// wrong `state` is rejected and the flow keeps waiting for the right one.
    pub fn on_callback(&mut self, callback_url: &str, now: u64) -> Result<(), Error> {
        let Step::Authorizing(grant) = &mut self.step else {
            return Err(self.unexpected("a callback"));
        };
        if grant.exchange_request().is_some() {
            return Err(self.unexpected("a second callback"));
        }
        match grant.on_callback(callback_url, now) {
            Ok(()) => Ok(()),
            Err(error) => {
                if matches!(&error, Error::Callback(e) if !callback_error_is_fatal(e)) {
                    return Err(error);
                }
                self.step = Step::Failed(error.clone());
                Err(error)
            }
        }
    }

    /// The code grant waiting for its callback, taken out of the flow (web
    /// backends keep it as a pending sign-in); the flow is given back when it is elsewhere.
    pub(crate) fn into_code_grant(self: Box<Self>) -> Result<CodeGrant, Box<Self>> {
        match *self {
            // The grant leaves with the DPoP binding, so that whoever completes
            // it proves the exchange with the key the registration promised.
            Self {
                step: Step::Authorizing(grant),
                dpop,
                ..
            } if grant.exchange_request().is_none() => Ok(grant.with_dpop(dpop)),
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

    /// The authorization server metadata, once discovered.
    pub fn authorization_server_metadata(&self) -> Option<&AuthorizationServerMetadata> {
        self.metadata.as_ref()
    }

    /// The protected-resource metadata, once discovered (absent for 2025-03-26 servers).
    pub fn resource_metadata(&self) -> Option<&ProtectedResourceMetadata> {
        self.resource_metadata.as_ref()
    }

    /// The DPoP binding of this sign-in, once the authorization server is known to
    /// support DPoP (and the configuration brought a key).
    pub fn dpop(&self) -> Option<&DpopBinding> {
        self.dpop.as_ref()
    }

    /// The DPoP proof `request` must carry, made at `now`: one for every request to
    /// the token endpoint of an authorization server that binds tokens (RFC 9449
    /// §5), none otherwise. Sign it with [`DpopKey::sign`] or the host's own key,
    /// and send it in the [`dpop::HEADER`] header.
    pub fn dpop_proof(
        &self,
        request: &HttpRequest,
        now: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<Option<UnsignedProof>, Error> {
        let (Some(binding), Some(metadata)) = (&self.dpop, &self.metadata) else {
            return Ok(None);
        };
        if request.purpose != Purpose::Token || request.url != metadata.token_endpoint {
            return Ok(None);
        }
        let target = ProofTarget {
            method: request.method.as_str(),
            url: &request.url,
            access_token: None,
            body: None,
        };
        Ok(Some(binding.proof(target, now, entropy)?))
    }

    /// Reads the answer to a request that carried a proof: keeps the server's
    /// DPoP nonce and says whether to send the same request once more with it
    /// (RFC 9449 §8). The host then hands only the final answer to `on_response`.
    pub fn dpop_retry(
        &mut self,
        request: &HttpRequest,
        response: &HttpResponse,
        retried: bool,
    ) -> bool {
        self.dpop.as_mut().is_some_and(|binding| {
            binding.on_response(dpop::Server::Authorization, &request.url, response, retried)
        })
    }

    /// The client in use, once registration is settled (to persist it by issuer).
    pub fn client(&self) -> Option<&ClientCredentials> {
        match &self.step {
            Step::Authorizing(grant) => Some(grant.client()),
            Step::ClientCredentials { grant, .. } => Some(&grant.client),
            #[cfg(feature = "assertion-grants")]
            Step::TokenExchange { grant, .. } | Step::JwtBearer { grant, .. } => {
                Some(&grant.client)
            }
            Step::Done(session) => Some(&session.grant.client),
            _ => None,
        }
    }

    /// `step`, if the request it sends next goes to a host the network policy
    /// allows: the URLs a server controls (`resource_metadata`, its
    /// `authorization_servers`) are checked before anything is sent to them.
    fn reachable(&self, step: Step) -> Result<Step, Error> {
        let url = match &step {
            Step::ResourceMetadata { candidates, next }
            | Step::AuthorizationServerMetadata {
                candidates, next, ..
            } => candidates.get(*next),
            Step::Registering { request, .. } | Step::ClientCredentials { request, .. } => {
                Some(&request.url)
            }
            _ => None,
        };
        if let Some(url) = url {
            self.config.network.check(&self.server, url)?;
        }
        Ok(step)
    }

    fn unexpected(&self, event: &'static str) -> Error {
        Error::UnexpectedEvent {
            state: self.step_name(),
            event,
        }
    }

    fn step_name(&self) -> &'static str {
        match &self.step {
            Step::Probe => "probing the server",
            Step::ResourceMetadata { .. } => "fetching protected-resource metadata",
            Step::AuthorizationServerMetadata { .. } => "fetching authorization server metadata",
            Step::Registering { .. } => "registering a client",
            Step::ClientCredentials { .. } => "requesting a client-credentials token",
            #[cfg(feature = "assertion-grants")]
            Step::TokenExchange { .. } => "exchanging the ID token for an ID-JAG at the IdP",
            #[cfg(feature = "assertion-grants")]
            Step::JwtBearer { .. } => "presenting an assertion for tokens",
            Step::Authorizing(grant) if grant.exchange_request().is_some() => "exchanging the code",
            Step::Authorizing(_) => "waiting for the authorization callback",
            Step::Done(_) => "done",
            Step::Failed(_) => "failed",
        }
    }

    fn advance(&mut self, response: &HttpResponse, now: u64) -> Result<Step, Error> {
        match &self.step {
            Step::Probe => {
                // A 401 without a readable Bearer challenge still leaves the
                // well-known URLs to try, so a malformed header is not fatal.
                let challenge = if response.status == 401 {
                    www_authenticate::bearer_challenge(response).ok().flatten()
                } else {
                    None
                };
                self.resource_metadata_step(challenge)
            }
            Step::ResourceMetadata { candidates, next } => {
                let (candidates, next) = (candidates.clone(), *next);
                if !response.is_success() {
                    return match candidates.get(next + 1) {
                        Some(_) => Ok(Step::ResourceMetadata {
                            candidates,
                            next: next + 1,
                        }),
                        None => self.legacy_metadata_step(),
                    };
                }
                let url = candidates.get(next).ok_or_else(corrupt)?;
                let prm = discovery::parse_protected_resource_metadata(url, response)?;
                discovery::check_resource(&prm, &self.server)?;
                self.fallback_issuers = self.authorization_servers_in_order(&prm);
                self.resource_metadata = Some(prm);
                self.resource_metadata_url = Some(url.clone());
                self.next_authorization_server(None)
            }
            Step::AuthorizationServerMetadata {
                issuer,
                candidates,
                next,
                legacy,
            } => {
                let (issuer, candidates, next, legacy) =
                    (issuer.clone(), candidates.clone(), *next, *legacy);
                if response.is_success() {
                    let url = candidates.get(next).ok_or_else(corrupt)?;
                    return match discovery::parse_authorization_server_metadata(
                        url, &issuer, response,
                    ) {
                        Ok(metadata) => {
                            self.metadata_read_at = Some(now);
                            self.registration_step(metadata, now)
                        }
                        Err(error) if !legacy => self.next_authorization_server(Some(error.into())),
                        Err(error) => Err(error.into()),
                    };
                }
                if candidates.get(next + 1).is_some() {
                    return Ok(Step::AuthorizationServerMetadata {
                        issuer,
                        candidates,
                        next: next + 1,
                        legacy,
                    });
                }
                if legacy {
                    return self
                        .registration_step(discovery::legacy_default_metadata(&self.server), now);
                }
                self.next_authorization_server(Some(
                    DiscoveryError::not_found(&issuer, &candidates).into(),
                ))
            }
            Step::Registering { scope, .. } => {
                let scope = scope.clone();
                let metadata = self
                    .metadata
                    .clone()
                    .ok_or(self.unexpected("a registration response"))?;
                match registration::parse_registration_response(&metadata, response) {
                    Ok(client) => self.authorizing_step(&metadata, client, scope, now),
                    Err(error @ RegistrationError::Refused { .. }) => {
                        self.next_authorization_server(Some(error.into()))
                    }
                    Err(error) => Err(error.into()),
                }
            }
            #[cfg(feature = "assertion-grants")]
            Step::TokenExchange { grant, .. } => {
                let id_jag = assertion::parse_id_jag_response(response)?;
                let request = self.jwt_bearer_request(grant, &id_jag, now)?;
                Ok(Step::JwtBearer {
                    grant: grant.clone(),
                    request,
                })
            }
            Step::ClientCredentials { grant, .. } => self.tokens_for(grant, response, now),
            #[cfg(feature = "assertion-grants")]
            Step::JwtBearer { grant, .. } => self.tokens_for(grant, response, now),
            Step::Authorizing(grant) => match grant.exchange_request() {
                Some(_) => Ok(Step::Done(Box::new(grant.on_token_response(
                    response,
                    now,
                    self.dpop.as_ref(),
                )?))),
                None => Err(self.unexpected("an HTTP response")),
            },
            Step::Done(_) | Step::Failed(_) => Err(self.unexpected("an HTTP response")),
        }
    }

    /// PRM candidates: the challenge's `resource_metadata` first, then the RFC 9728
    /// well-known URLs (still worth trying if the advertised URL fails).
    fn resource_metadata_step(
        &mut self,
        challenge: Option<BearerChallenge>,
    ) -> Result<Step, Error> {
        let challenge = challenge.or_else(|| self.config.challenge.clone());
        let mut candidates = Vec::new();
        if let Some(advertised) = challenge
            .as_ref()
            .and_then(|c| c.resource_metadata.as_deref())
        {
            let url = Url::parse(advertised).map_err(|e| DiscoveryError::InvalidUrl {
                url: crate::text::server_text(advertised),
                reason: e.to_string(),
            })?;
            if !is_secure_or_loopback(&url) {
                return Err(DiscoveryError::InsecureEndpoint {
                    what: "resource_metadata",
                    url: url.to_string(),
                }
                .into());
            }
            candidates.push(url);
        }
        for url in discovery::protected_resource_metadata_urls(&self.server) {
            if !candidates.contains(&url) {
                candidates.push(url);
            }
        }
        self.challenge = challenge;
        Ok(Step::ResourceMetadata {
            candidates,
            next: 0,
        })
    }

    /// 2025-03-26: no PRM, so the server's origin is the authorization server.
    fn legacy_metadata_step(&self) -> Result<Step, Error> {
        let issuer = discovery::legacy_issuer(&self.server);
        Ok(Step::AuthorizationServerMetadata {
            candidates: discovery::authorization_server_metadata_urls(&issuer)?,
            issuer,
            next: 0,
            legacy: true,
        })
    }

    /// The PRM's authorization servers in the order to try them: those we already
    /// hold a client for first, then the PRM's order; each once.
    fn authorization_servers_in_order(&self, prm: &ProtectedResourceMetadata) -> Vec<String> {
        let known = |issuer: &String| {
            self.config
                .clients
                .iter()
                .any(|c| c.issuer.as_deref() == Some(issuer.as_str()))
        };
        let mut ordered: Vec<String> = Vec::new();
        let (first, rest): (Vec<&String>, Vec<&String>) =
            prm.authorization_servers.iter().partition(|i| known(i));
        for issuer in first.into_iter().chain(rest) {
            if !ordered.contains(issuer) {
                ordered.push(issuer.clone());
            }
        }
        ordered
    }

    /// Moves on to the next authorization server, after `failure` made the current
    /// one unusable. Without one left, fails with the first server's error.
    fn next_authorization_server(&mut self, failure: Option<Error>) -> Result<Step, Error> {
        self.skipped.extend(failure);
        self.metadata = None;
        while !self.fallback_issuers.is_empty() {
            let issuer = self.fallback_issuers.remove(0);
            match discovery::authorization_server_metadata_urls(&issuer) {
                Ok(candidates) => {
                    return Ok(Step::AuthorizationServerMetadata {
                        candidates,
                        issuer,
                        next: 0,
                        legacy: false,
                    })
                }
                Err(error) => self.skipped.push(error.into()),
            }
        }
        Err(self.skipped.first().cloned().unwrap_or_else(corrupt))
    }

    fn registration_step(
        &mut self,
        metadata: AuthorizationServerMetadata,
        now: u64,
    ) -> Result<Step, Error> {
        // The token endpoint gets the code, refresh tokens and any secret later.
        self.config
            .network
            .check(&self.server, &metadata.token_endpoint)?;
        let scope = self.config.scope.clone().or_else(|| {
            scope::initial_scope(
                self.challenge.as_ref().and_then(|c| c.scope.as_deref()),
                self.resource_metadata
                    .as_ref()
                    .and_then(|p| p.scopes_supported.as_deref()),
                metadata.scopes_supported.as_deref(),
            )
        });
        // Bind the tokens when both ends take DPoP: the authorization server
        // (RFC 9449 §5.1 metadata) and the resource (its `DPoP` challenge, §7.1, or
        // its metadata, RFC 9728 §2). A DPoP-capable server in front of a
        // bearer-only resource is common (oidc-provider offers DPoP by default),
        // and a bound token would be refused there.
        let resource_takes_dpop = self.challenge.as_ref().is_some_and(|c| c.dpop)
            || self
                .resource_metadata
                .as_ref()
                .is_some_and(ProtectedResourceMetadata::takes_dpop);
        self.dpop = self
            .config
            .dpop_key
            .clone()
            .filter(|_| {
                resource_takes_dpop
                    && dpop::supports_es256(metadata.dpop_signing_alg_values_supported.as_deref())
            })
            .map(DpopBinding::new);
        let mut request = registration::client_metadata(
            &self.config.client_name,
            &self.config.redirect_uri,
            scope.as_deref(),
        );
        // RFC 9449 §5.2: a client that always proves possession says so, and the
        // server then refuses its token requests without a proof.
        request.dpop_bound_access_tokens = self.dpop.is_some();
        let plan = registration::plan(
            &metadata,
            &self.config.clients,
            self.config.client_metadata_url.as_deref(),
            &request,
        )?;
        self.metadata = Some(metadata.clone());
        match plan {
            RegistrationPlan::Known(client) => self.authorizing_step(&metadata, client, scope, now),
            // Workload identity needs no client: the assertion is the credential.
            #[cfg(feature = "assertion-grants")]
            _ if matches!(
                self.config.assertion_grant,
                Some(AssertionGrant::Workload { .. })
            ) =>
            {
                let client = assertion::anonymous_client(&metadata.issuer);
                self.authorizing_step(&metadata, client, scope, now)
            }
            RegistrationPlan::ClientIdMetadataDocument(client) => {
                self.authorizing_step(&metadata, client, scope, now)
            }
            RegistrationPlan::Dynamic(request) => Ok(Step::Registering { request, scope }),
            RegistrationPlan::ManualRequired => self.next_authorization_server(Some(
                RegistrationError::ManualRequired {
                    issuer: metadata.issuer.clone(),
                }
                .into(),
            )),
        }
    }

    fn authorizing_step(
        &self,
        metadata: &AuthorizationServerMetadata,
        client: ClientCredentials,
        scope: Option<String>,
        now: u64,
    ) -> Result<Step, Error> {
        #[cfg(feature = "assertion-grants")]
        if let Some(assertion_grant) = &self.config.assertion_grant {
            return self.assertion_step(metadata, assertion_grant, client, scope, now);
        }
        let grant_type = GrantType::choose(
            metadata.grant_types_supported.as_deref(),
            client.auth_method != crate::client_auth::AuthMethod::None,
        );
        let grant = Grant {
            server_url: self.config.server_url.clone(),
            // RFC 8707: the resource the PRM declared (and that matched the server).
            // 2025-03-26 servers predate the parameter, so it is omitted for them.
            resource: self.resource_metadata.as_ref().map(|p| p.resource.clone()),
            issuer: metadata.issuer.clone(),
            token_endpoint: metadata.token_endpoint.clone(),
            client,
            scope,
            grant_type,
            revocation_endpoint: metadata.revocation_endpoint.clone(),
        };
        if grant_type == GrantType::ClientCredentials {
            // RFC 6749 §4.4.3: no refresh token for this grant, so asking for one
            // (`offline_access`) only risks an `invalid_scope`.
            let mut grant = grant;
            grant.scope = without_offline_access(grant.scope);
            let request = crate::token::client_credentials_request(
                &grant.token_endpoint,
                &grant.client,
                grant.scope.as_deref(),
                grant.resource.as_deref(),
                now,
            )?;
            return Ok(Step::ClientCredentials {
                grant: Box::new(grant),
                request,
            });
        }
        Ok(Step::Authorizing(Box::new(CodeGrant::new(
            CodeGrantParams {
                grant,
                authorization_endpoint: metadata.authorization_endpoint.clone(),
                redirect_uri: self.config.redirect_uri.clone(),
                expected_issuer: Some(metadata.issuer.clone()),
                iss_required: metadata.authorization_response_iss_parameter_supported,
            },
            self.secrets.clone(),
        ))))
    }

    /// The session a grant without a browser step (client credentials, JWT
    /// bearer) ends in, from its token response.
    fn tokens_for(&self, grant: &Grant, response: &HttpResponse, now: u64) -> Result<Step, Error> {
        let tokens = crate::token::parse_token_response_with_dpop(
            response,
            now,
            grant.scope.as_deref(),
            self.dpop.is_some(),
        )?;
        Ok(Step::Done(Box::new(
            Session::new(grant.clone(), tokens).with_dpop(self.dpop.clone()),
        )))
    }

    /// The first request of an assertion grant: the token exchange at the IdP
    /// (enterprise), or the JWT-bearer grant itself (workload).
    #[cfg(feature = "assertion-grants")]
    fn assertion_step(
        &self,
        metadata: &AuthorizationServerMetadata,
        assertion_grant: &AssertionGrant,
        client: ClientCredentials,
        scope: Option<String>,
        now: u64,
    ) -> Result<Step, Error> {
        if !assertion::accepts_jwt_bearer(metadata.grant_types_supported.as_deref()) {
            return Err(DiscoveryError::GrantNotSupported {
                issuer: metadata.issuer.clone(),
                grant: assertion::JWT_BEARER_GRANT.to_owned(),
            }
            .into());
        }
        let grant = Box::new(Grant {
            server_url: self.config.server_url.clone(),
            resource: self.resource_metadata.as_ref().map(|p| p.resource.clone()),
            issuer: metadata.issuer.clone(),
            token_endpoint: metadata.token_endpoint.clone(),
            client,
            // A new assertion is how these grants renew; a refresh token is the
            // server's choice, not something to ask for.
            scope: without_offline_access(scope),
            grant_type: GrantType::JwtBearer,
            revocation_endpoint: metadata.revocation_endpoint.clone(),
        });
        match assertion_grant {
            AssertionGrant::Workload { assertion } => {
                let request = self.jwt_bearer_request(&grant, assertion, now)?;
                Ok(Step::JwtBearer { grant, request })
            }
            AssertionGrant::Enterprise(idp) => {
                // The ID-JAG's audience is the issuer exactly as its metadata
                // states it, its resource the MCP server's RFC 9728 identifier.
                let request = idp.id_jag_request(
                    &metadata.issuer,
                    grant.resource.as_deref(),
                    grant.scope.as_deref(),
                    now,
                )?;
                Ok(Step::TokenExchange { grant, request })
            }
        }
    }

    #[cfg(feature = "assertion-grants")]
    fn jwt_bearer_request(
        &self,
        grant: &Grant,
        assertion: &crate::secret::Secret,
        now: u64,
    ) -> Result<HttpRequest, Error> {
        Ok(crate::token::jwt_bearer_request(
            &grant.token_endpoint,
            &grant.client,
            assertion,
            grant.scope.as_deref(),
            grant.resource.as_deref(),
            now,
        )?)
    }

    fn probe_request(&self) -> HttpRequest {
        let request = match self.config.probe {
            Probe::McpInitialize => HttpRequest {
                method: Method::Post,
                url: self.server.clone(),
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    ("Accept".into(), "application/json, text/event-stream".into()),
                ],
                body: serde_json::json!({
                    "jsonrpc": "2.0",
                    "id": 0,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": self.config.protocol_version,
                        "capabilities": {},
                        "clientInfo": { "name": self.config.client_name, "version": env!("CARGO_PKG_VERSION") },
                    },
                })
                .to_string()
                .into_bytes(),
                purpose: Purpose::Probe,
            },
            Probe::Get => HttpRequest::get(self.server.clone(), Purpose::Probe),
        };
        request.with_header("MCP-Protocol-Version", self.config.protocol_version.clone())
    }

    fn metadata_request(&self, url: &Url, purpose: Purpose) -> HttpRequest {
        HttpRequest::get(url.clone(), purpose)
            .with_header("MCP-Protocol-Version", self.config.protocol_version.clone())
    }
}

/// `scope` without `offline_access`, for grants that renew without a refresh token.
fn without_offline_access(scope: Option<String>) -> Option<String> {
    scope.and_then(|scope| {
        let kept: Vec<&str> = scope
            .split_whitespace()
            .filter(|s| *s != crate::scope::OFFLINE_ACCESS)
            .collect();
        (!kept.is_empty()).then(|| kept.join(" "))
    })
}

/// A deserialized flow whose indices point nowhere (edited or truncated by hand).
fn corrupt() -> Error {
    Error::Config("the stored flow state is corrupt; start the sign-in again".into())
}

/// Redirect URIs are loopback http or https (MCP "Communication Security").
pub(crate) fn check_redirect_uri(redirect_uri: &str) -> Result<Url, Error> {
    let url = Url::parse(redirect_uri)
        .map_err(|e| Error::Config(format!("redirect URI {redirect_uri:?} is invalid: {e}")))?;
    if !is_secure_or_loopback(&url) || url.fragment().is_some() {
        return Err(Error::Config(format!(
            "redirect URI {redirect_uri} must be https or http on loopback, without a fragment"
        )));
    }
    Ok(url)
}

//! [`AuthorizationServer`]: one server's configuration, and each decision of
//! the authorization-code flow as a method — validate the authorization request,
//! answer it with a code or a denial, check the token request, mint tokens,
//! rotate refresh tokens. The host owns storage, HTTP, the clock and the user.

use super::authorization::{
    self, AuthorizationParams, AuthorizationRequest, AuthorizationRequestError,
};
use super::client::{unknown_client, Client};
use super::client_metadata::{self, ClientMetadataError};
use super::code::{CodeRecord, IssuedCode};
use super::error::{TokenEndpointError, TokenErrorCode};
use super::metadata::authorization_server_metadata;
use super::refresh::{new_family_id, RefreshFamily};
use super::resource_indicator::{check_same, ResourcePolicy};
use super::response::authorization_response_url;
use super::scope::{narrow, ScopePolicy};
use super::token_request::{TokenGrant, TokenRequest};
use super::tokens::{issue, token_key, Grant, Issuance, IssuedTokens, TOKEN_BYTES};
use crate::client_auth::AuthMethod;
use crate::entropy::{random_token, Entropy, EntropyError};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use url::{Host, Url};

/// How one authorization server behaves. Every field but the three URLs has a
/// default ([`ServerConfig::new`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// The issuer identifier (RFC 8414 §2): https, or http on a loopback host;
    /// no query or fragment.
    pub issuer: String,
    /// The authorization endpoint's URL, as advertised.
    pub authorization_endpoint: String,
    /// The token endpoint's URL, as advertised.
    pub token_endpoint: String,
    /// The RFC 7591 registration endpoint, when the host offers one.
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    /// `scopes_supported`; also the allow-list of clients the server learns at
    /// run time ([`dynamic_client_scope`](AuthorizationServer::dynamic_client_scope)).
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// Granted to a client learned at run time when its request names no scope.
    #[serde(default)]
    pub default_scopes: Vec<String>,
    /// Token-endpoint client authentication methods accepted (and advertised).
    #[serde(default = "default_auth_methods")]
    pub auth_methods: Vec<AuthMethod>,
    /// Which `resource` values tokens may be issued for.
    #[serde(default)]
    pub resources: ResourcePolicy,
    /// Send `iss` on every authorization response (RFC 9207), and advertise it.
    #[serde(default = "yes")]
    pub iss_parameter: bool,
    /// Accept URL client ids (Client ID Metadata Documents), and advertise it.
    #[serde(default)]
    pub client_id_metadata_documents: bool,
    /// Also accept `http://` loopback URL client ids (tests and development
    /// only: real documents are https).
    #[serde(default)]
    pub client_id_metadata_documents_on_loopback_http: bool,
    /// How long a code may wait for its exchange, in seconds.
    #[serde(default = "default_code_lifetime")]
    pub code_lifetime_secs: u64,
    /// Access-token lifetime (`expires_in`), in seconds.
    #[serde(default = "default_access_token_lifetime")]
    pub access_token_lifetime_secs: u64,
    /// Issue refresh tokens (and accept the refresh grant).
    #[serde(default = "yes")]
    pub issue_refresh_tokens: bool,
    /// Rotate refresh tokens on every refresh, with replay detection. Without
    /// rotation a refresh token stays valid and refresh responses carry none.
    #[serde(default = "yes")]
    pub rotate_refresh_tokens: bool,
    /// How long a refresh-token family lives from its code exchange, in seconds;
    /// `None`: until revoked.
    #[serde(default)]
    pub refresh_token_lifetime_secs: Option<u64>,
}

fn default_auth_methods() -> Vec<AuthMethod> {
    vec![
        AuthMethod::None,
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
    ]
}

fn yes() -> bool {
    true
}

fn default_code_lifetime() -> u64 {
    60
}

fn default_access_token_lifetime() -> u64 {
    3600
}

impl ServerConfig {
    /// A configuration with these URLs and every default: public and
    /// secret-based clients, RFC 9207 `iss`, 60-second codes, one-hour access
    /// tokens, rotated refresh tokens, any resource, any scope.
    pub fn new(
        issuer: impl Into<String>,
        authorization_endpoint: impl Into<String>,
        token_endpoint: impl Into<String>,
    ) -> Self {
        ServerConfig {
            issuer: issuer.into(),
            authorization_endpoint: authorization_endpoint.into(),
            token_endpoint: token_endpoint.into(),
            registration_endpoint: None,
            scopes_supported: Vec::new(),
            default_scopes: Vec::new(),
            auth_methods: default_auth_methods(),
            resources: ResourcePolicy::default(),
            iss_parameter: true,
            client_id_metadata_documents: false,
            client_id_metadata_documents_on_loopback_http: false,
            code_lifetime_secs: default_code_lifetime(),
            access_token_lifetime_secs: default_access_token_lifetime(),
            issue_refresh_tokens: true,
            rotate_refresh_tokens: true,
            refresh_token_lifetime_secs: None,
        }
    }
}

/// A configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid authorization server configuration: {0}")]
pub struct ConfigError(pub String);

/// Why an authorization request is refused, and where (if anywhere) to tell the
/// client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct AuthorizationRefusal {
    /// What is wrong.
    pub error: AuthorizationRequestError,
    /// The redirect carrying `error`, `error_description`, `state` and `iss`,
    /// for a [`redirectable`](AuthorizationRequestError::redirectable) error;
    /// `None`: show the user an error page instead, never redirect.
    pub redirect_to: Option<String>,
}

impl From<AuthorizationRequestError> for AuthorizationRefusal {
    /// A refusal that is never redirected (for errors found before the redirect
    /// URI could be trusted, such as a repeated parameter).
    fn from(error: AuthorizationRequestError) -> Self {
        AuthorizationRefusal {
            error,
            redirect_to: None,
        }
    }
}

/// One authorization server's decisions, over its [`ServerConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationServer {
    config: ServerConfig,
}

impl AuthorizationServer {
    /// Checks `config` and wraps it.
    pub fn new(config: ServerConfig) -> Result<Self, ConfigError> {
        check_issuer(&config.issuer)?;
        for (name, url) in [
            (
                "authorization_endpoint",
                Some(&config.authorization_endpoint),
            ),
            ("token_endpoint", Some(&config.token_endpoint)),
            (
                "registration_endpoint",
                config.registration_endpoint.as_ref(),
            ),
        ] {
            if let Some(url) = url {
                if !Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
                    return Err(ConfigError(format!("{name} {url:?} is not an http(s) URL")));
                }
            }
        }
        if config.auth_methods.is_empty() {
            return Err(ConfigError("auth_methods must not be empty".into()));
        }
        if config.auth_methods.contains(&AuthMethod::PrivateKeyJwt) {
            return Err(ConfigError(
                "private_key_jwt cannot be verified by this toolkit; use none, client_secret_basic or client_secret_post".into(),
            ));
        }
        if config.code_lifetime_secs == 0 || config.access_token_lifetime_secs == 0 {
            return Err(ConfigError("lifetimes must be at least one second".into()));
        }
        config.resources.validate().map_err(ConfigError)?;
        if let Some(extra) = config
            .default_scopes
            .iter()
            .find(|s| !config.scopes_supported.is_empty() && !config.scopes_supported.contains(s))
        {
            return Err(ConfigError(format!(
                "default scope {extra} is not in scopes_supported"
            )));
        }
        Ok(AuthorizationServer { config })
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// The RFC 8414 metadata document.
    pub fn metadata(&self) -> serde_json::Value {
        authorization_server_metadata(&self.config)
    }

    /// The scope policy of clients the server learns at run time (registration,
    /// metadata documents): `scopes_supported` (any scope when empty), with
    /// `default_scopes`.
    pub fn dynamic_client_scope(&self) -> ScopePolicy {
        ScopePolicy {
            allowed: (!self.config.scopes_supported.is_empty())
                .then(|| self.config.scopes_supported.clone()),
            default: self.config.default_scopes.clone(),
            required: Vec::new(),
        }
    }

    /// Whether `client_id` is a Client ID Metadata Document URL this server
    /// fetches (never, unless the configuration enables them).
    pub fn is_metadata_client_id(&self, client_id: &str) -> bool {
        self.config.client_id_metadata_documents
            && client_metadata::is_metadata_client_id(
                client_id,
                self.config.client_id_metadata_documents_on_loopback_http,
            )
    }

    /// The client a fetched Client ID Metadata Document describes.
    pub fn client_from_metadata_document(
        &self,
        client_id: &str,
        response: &crate::http::HttpResponse,
    ) -> Result<Client, ClientMetadataError> {
        if !self.is_metadata_client_id(client_id) {
            return Err(ClientMetadataError::NotAUrl);
        }
        client_metadata::client_from_metadata_document(
            client_id,
            response,
            &self.dynamic_client_scope(),
            self.config.client_id_metadata_documents_on_loopback_http,
        )
    }

    /// Validates an authorization request for `client` (the host's lookup of
    /// `params.client_id`; `None` when unknown). On success, show the consent
    /// page for the returned request (or approve it); on refusal, redirect to
    /// `redirect_to` when there is one, else show an error page.
    pub fn validate_authorization_request(
        &self,
        params: &AuthorizationParams,
        client: Option<&Client>,
    ) -> Result<AuthorizationRequest, AuthorizationRefusal> {
        authorization::validate(params, client, &self.config.resources).map_err(|error| {
            let redirect_to = error
                .redirectable()
                .then_some(params.redirect_uri.as_deref())
                .flatten()
                .map(|uri| {
                    let description = error.to_string();
                    authorization_response_url(
                        uri,
                        &[
                            ("error", error.oauth_error()),
                            ("error_description", &description),
                        ],
                        params.state.as_deref(),
                        self.iss(),
                    )
                });
            AuthorizationRefusal { error, redirect_to }
        })
    }

    /// The redirect answering a request the user denied (`access_denied`).
    pub fn deny(&self, request: &AuthorizationRequest) -> String {
        authorization_response_url(
            &request.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "the user denied the request"),
            ],
            request.state.as_deref(),
            self.iss(),
        )
    }

    /// Approves `request` on behalf of `subject` (the host's user id): a fresh
    /// single-use code, its record to store, and the redirect that delivers it.
    pub fn issue_code(
        &self,
        request: &AuthorizationRequest,
        subject: Option<String>,
        now: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<IssuedCode, EntropyError> {
        let code = Secret::new(random_token(entropy, TOKEN_BYTES)?);
        let family_id = new_family_id(entropy)?;
        let record = CodeRecord::new(
            request,
            subject,
            family_id,
            now,
            self.config.code_lifetime_secs,
        );
        let redirect_to = authorization_response_url(
            &request.redirect_uri,
            &[("code", code.expose())],
            request.state.as_deref(),
            self.iss(),
        );
        Ok(IssuedCode {
            key: token_key(code.expose()),
            code,
            record,
            redirect_to,
        })
    }

    /// Authenticates the client of a token request: `client` is the host's
    /// lookup of [`TokenRequest::client_id`] (`None` when unknown).
    pub fn authenticate_client(
        &self,
        request: &TokenRequest,
        client: Option<&Client>,
    ) -> Result<(), TokenEndpointError> {
        match client {
            Some(client) => client.authenticate(&request.client, &self.config.auth_methods),
            None => Err(unknown_client(&request.client)),
        }
    }

    /// The authorization-code grant: authenticates the client, then checks the
    /// code's record — `record` as the host found it under
    /// [`TokenRequest::code_key`] *before* marking it consumed, `None` when there
    /// is none. A refusal with `revoke_family` means the code was replayed: revoke
    /// every token of that family.
    pub fn exchange_code(
        &self,
        request: &TokenRequest,
        client: Option<&Client>,
        record: Option<&CodeRecord>,
        now: u64,
    ) -> Result<Grant, TokenEndpointError> {
        self.authenticate_client(request, client)?;
        let TokenGrant::AuthorizationCode {
            redirect_uri,
            code_verifier,
            ..
        } = &request.grant
        else {
            return Err(wrong_grant("authorization_code"));
        };
        let Some(record) = record else {
            return Err(TokenEndpointError::invalid_grant(
                "unknown or expired authorization code",
            ));
        };
        record.redeem(
            request.client_id(),
            redirect_uri,
            code_verifier.expose(),
            request.resource.as_deref(),
            now,
        )
    }

    /// The refresh grant: authenticates the client, then checks the token
    /// against its family — `family` as the host found it under
    /// [`TokenRequest::refresh_family_id`], `None` when there is none. Pass the
    /// returned grant to [`issue_tokens`](Self::issue_tokens), which rotates the
    /// family. A refusal with `revoke_family` means a rotated token was replayed:
    /// revoke every token of that family.
    pub fn refresh(
        &self,
        request: &TokenRequest,
        client: Option<&Client>,
        family: Option<&RefreshFamily>,
        now: u64,
    ) -> Result<Grant, TokenEndpointError> {
        if !self.config.issue_refresh_tokens {
            return Err(TokenEndpointError::new(
                TokenErrorCode::UnsupportedGrantType,
                "this server issues no refresh tokens",
            ));
        }
        self.authenticate_client(request, client)?;
        let TokenGrant::RefreshToken {
            refresh_token,
            scope,
        } = &request.grant
        else {
            return Err(wrong_grant("refresh_token"));
        };
        let family = match family {
            Some(f) if request.refresh_family_id() == Some(f.id.as_str()) => f,
            _ => {
                return Err(TokenEndpointError::invalid_grant(
                    "unknown or revoked refresh token",
                ))
            }
        };
        family.check(request.client_id(), refresh_token.expose(), now)?;
        check_same(family.resource.as_deref(), request.resource.as_deref())
            .map_err(|e| TokenEndpointError::new(TokenErrorCode::InvalidTarget, e.to_string()))?;
        let scope = narrow(family.scope.as_deref(), scope.as_deref())
            .map_err(|e| TokenEndpointError::new(TokenErrorCode::InvalidScope, e.to_string()))?;
        Ok(Grant {
            client_id: family.client_id.clone(),
            subject: family.subject.clone(),
            scope,
            resource: family.resource.clone(),
            family_id: family.id.clone(),
            refreshing: Some(family.clone()),
        })
    }

    /// Mints the tokens for `grant`: store `access` under `access_key` and, when
    /// present, `family` under its id; send [`IssuedTokens::body`].
    pub fn issue_tokens(
        &self,
        grant: &Grant,
        now: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<IssuedTokens, EntropyError> {
        issue(
            grant,
            Issuance {
                access_token_lifetime_secs: self.config.access_token_lifetime_secs,
                issue_refresh_tokens: self.config.issue_refresh_tokens,
                rotate_refresh_tokens: self.config.rotate_refresh_tokens,
                refresh_token_lifetime_secs: self.config.refresh_token_lifetime_secs,
            },
            now,
            entropy,
        )
    }

    /// `iss` for authorization responses, when RFC 9207 is on.
    fn iss(&self) -> Option<&str> {
        self.config
            .iss_parameter
            .then_some(self.config.issuer.as_str())
    }
}

/// A host called the method for the other grant type.
fn wrong_grant(expected: &str) -> TokenEndpointError {
    TokenEndpointError::new(
        TokenErrorCode::UnsupportedGrantType,
        format!("this is not a {expected} request"),
    )
}

/// RFC 8414 §2: https (http on loopback), a host, no query, no fragment.
fn check_issuer(issuer: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| Err(ConfigError(format!("issuer {issuer:?} {why}")));
    let Ok(url) = Url::parse(issuer) else {
        return bad("is not an absolute URL");
    };
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name == "localhost",
        None => return bad("has no host"),
    };
    if url.scheme() != "https" && !(url.scheme() == "http" && loopback) {
        return bad("must be https (http only on a loopback host)");
    }
    if url.query().is_some() || url.fragment().is_some() || issuer.contains(['?', '#']) {
        return bad("must not have a query or fragment");
    }
    Ok(())
}

//! The knobs of the test server: what it advertises, what it enforces and which
//! misbehaviours it simulates. [`TestServerConfig::default`] is an open,
//! well-behaved server: dynamic registration, public clients, PKCE, RFC 9207 `iss`,
//! refresh-token rotation with replay detection, Client ID Metadata Documents,
//! protected-resource metadata both in the challenge and at the well-known URLs.

use mcp_oauth_core::client_auth::AuthMethod;

/// The scope `tools/call` of `admin_reset` requires on top of the default scopes.
pub const ADMIN_SCOPE: &str = "mcp:admin";

/// How `/register` (RFC 7591) behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Registration {
    /// Advertised and open: anyone may register a client.
    #[default]
    Open,
    /// Advertised, but every registration is refused with `403`.
    Closed,
    /// Not advertised in the metadata; `/register` does not exist (`404`).
    Absent,
}

/// Which RFC 9728 well-known URLs serve the protected-resource metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrmWellKnown {
    /// Both `/.well-known/oauth-protected-resource/mcp` and the root
    /// `/.well-known/oauth-protected-resource`.
    #[default]
    Both,
    /// Only the path-suffixed `/.well-known/oauth-protected-resource/mcp`.
    PathOnly,
    /// Only the root `/.well-known/oauth-protected-resource`.
    RootOnly,
    /// Neither: a client must follow the `resource_metadata` of the 401 challenge.
    Off,
}

impl PrmWellKnown {
    /// Whether the path-suffixed well-known URL is served.
    pub fn at_path(self) -> bool {
        matches!(self, PrmWellKnown::Both | PrmWellKnown::PathOnly)
    }

    /// Whether the root well-known URL is served.
    pub fn at_root(self) -> bool {
        matches!(self, PrmWellKnown::Both | PrmWellKnown::RootOnly)
    }
}

/// A client that exists without registration (an app registered by hand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreRegisteredClient {
    /// Its `client_id`.
    pub client_id: String,
    /// Its secret; `None` makes it a public client (`token_endpoint_auth_method=none`).
    /// A confidential client may use any advertised secret-based method.
    pub client_secret: Option<String>,
    /// Its registered redirect URIs: a loopback one matches on any port (RFC 8252
    /// §7.3) and nothing else varies; others match exactly. A client without a
    /// loopback URI gets no loopback redirect.
    pub redirect_uris: Vec<String>,
}

impl PreRegisteredClient {
    /// Where this project's loopback listener answers, on whatever port it got.
    pub const DESKTOP_REDIRECT_URI: &'static str = "http://127.0.0.1/callback";

    /// A desktop app registered with [`DESKTOP_REDIRECT_URI`](Self::DESKTOP_REDIRECT_URI).
    pub fn desktop(client_id: impl Into<String>, client_secret: Option<&str>) -> Self {
        PreRegisteredClient {
            client_id: client_id.into(),
            client_secret: client_secret.map(str::to_owned),
            redirect_uris: vec![Self::DESKTOP_REDIRECT_URI.to_owned()],
        }
    }
}

/// Everything the test server can be told to do differently.
#[derive(Debug, Clone)]
pub struct TestServerConfig {
    /// TCP port on 127.0.0.1; `0` picks an ephemeral one.
    pub port: u16,
    /// Path of the issuer below the origin, e.g. `/tenant1` (empty: the origin).
    /// The OAuth endpoints live below it (`/tenant1/authorize`, ...), and the RFC
    /// 8414 metadata at `/.well-known/oauth-authorization-server/tenant1`.
    pub issuer_path: String,
    /// Dynamic client registration: open, closed (`403`) or absent.
    pub registration: Registration,
    /// Token-endpoint client authentication methods, advertised and enforced.
    pub token_endpoint_auth_methods: Vec<AuthMethod>,
    /// Lifetime of access tokens (`expires_in`), in seconds.
    pub access_token_lifetime_secs: u64,
    /// Whether token responses carry a refresh token at all.
    pub issue_refresh_tokens: bool,
    /// Refresh-token rotation: each refresh issues a new refresh token and the old
    /// one becomes invalid; presenting it again is a replay, which revokes every
    /// token of the grant (`invalid_grant`). When off, refresh responses omit
    /// `refresh_token` and the original one stays valid.
    pub rotate_refresh_tokens: bool,
    /// Every refresh fails with `invalid_grant` (simulates a revoked grant).
    pub refresh_always_fails: bool,
    /// RFC 9207: advertise `authorization_response_iss_parameter_supported` and send
    /// `iss` on every authorization response.
    pub iss_parameter: bool,
    /// `scopes_supported` of both metadata documents; requested scopes must be among
    /// them. Include [`ADMIN_SCOPE`] for the step-up tool to be usable.
    pub scopes_supported: Vec<String>,
    /// The `scope` of the 401 challenge, also granted when a request names none.
    /// Empty: the challenge carries no `scope`.
    pub default_scopes: Vec<String>,
    /// Whether the 401 challenge carries `resource_metadata`. Its URL is
    /// `/resource-metadata/mcp`, served only when this is on, so a log shows
    /// whether a client followed the header or guessed a well-known URL.
    pub prm_in_header: bool,
    /// Which well-known URLs serve the protected-resource metadata.
    pub prm_well_known: PrmWellKnown,
    /// Whether authorization and token requests must carry `resource` (RFC 8707).
    /// A `resource` naming anything but this server's MCP URL is always refused.
    pub require_resource: bool,
    /// Serve an HTML consent page with Approve/Deny buttons instead of redirecting
    /// straight back (headless consent).
    pub consent_page: bool,
    /// A client that exists without registration.
    pub pre_registered_client: Option<PreRegisteredClient>,
    /// Accept URL client ids (Client ID Metadata Documents, fetched from their
    /// https or loopback http URL) and advertise
    /// `client_id_metadata_document_supported`.
    pub client_id_metadata_documents: bool,
}

impl Default for TestServerConfig {
    fn default() -> Self {
        TestServerConfig {
            port: 0,
            issuer_path: String::new(),
            registration: Registration::Open,
            token_endpoint_auth_methods: vec![
                AuthMethod::None,
                AuthMethod::ClientSecretBasic,
                AuthMethod::ClientSecretPost,
            ],
            access_token_lifetime_secs: 3600,
            issue_refresh_tokens: true,
            rotate_refresh_tokens: true,
            refresh_always_fails: false,
            iss_parameter: true,
            scopes_supported: vec![
                "mcp:read".to_owned(),
                "mcp:write".to_owned(),
                ADMIN_SCOPE.to_owned(),
            ],
            default_scopes: vec!["mcp:read".to_owned(), "mcp:write".to_owned()],
            prm_in_header: true,
            prm_well_known: PrmWellKnown::Both,
            require_resource: false,
            consent_page: false,
            pre_registered_client: None,
            client_id_metadata_documents: true,
        }
    }
}

impl TestServerConfig {
    /// Checks the knobs that could make the server unusable.
    pub(crate) fn validate(&self) -> Result<(), String> {
        let path = &self.issuer_path;
        if !path.is_empty()
            && (!path.starts_with('/')
                || path.ends_with('/')
                || path.contains(['?', '#', ' ', '%']))
        {
            return Err(format!(
                "issuer_path {path:?} must be empty or start with '/', not end with '/', and hold no '?', '#', ' ' or '%'"
            ));
        }
        if path.starts_with("/.well-known") || path == "/mcp" || path == "/resource-metadata" {
            return Err(format!("issuer_path {path:?} collides with another route"));
        }
        if self.token_endpoint_auth_methods.is_empty() {
            return Err("token_endpoint_auth_methods must not be empty".to_owned());
        }
        // The server cannot verify client assertions, so it must not advertise them.
        if self
            .token_endpoint_auth_methods
            .contains(&AuthMethod::PrivateKeyJwt)
        {
            return Err(
                "private_key_jwt is not supported by the test server; use none, client_secret_basic or client_secret_post"
                    .to_owned(),
            );
        }
        if let Some(client) = &self.pre_registered_client {
            if client.client_id.is_empty() {
                return Err("the pre-registered client_id must not be empty".to_owned());
            }
        }
        Ok(())
    }
}

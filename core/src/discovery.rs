//! Finding the authorization server: protected-resource metadata (RFC 9728) and
//! authorization-server metadata (RFC 8414, OpenID Connect Discovery 1.0), with the
//! candidate URLs in exactly the order the MCP specification gives, and the
//! 2025-03-26 fallbacks for servers that predate RFC 9728.
//!
//! Every value a server wrote that ends up in an error (a mismatched `resource` or
//! `issuer`, a bad URL) passes through [`crate::text::server_text`] first.
//!
//! <https://www.rfc-editor.org/rfc/rfc9728>, <https://www.rfc-editor.org/rfc/rfc8414>,
//! <https://modelcontextprotocol.io/specification/2026-07-28/basic/authorization>

use crate::http::{BodyError, HttpResponse};
use crate::loopback::is_secure_or_loopback;
use crate::text::server_text;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

/// RFC 9728 protected-resource metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedResourceMetadata {
    /// The resource identifier; must match the server being accessed.
    pub resource: String,
    /// Issuer identifiers of the authorization servers that protect it.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// Scopes the resource understands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// JWS algorithms the resource accepts in DPoP proofs (RFC 9728 §2): the
    /// resource takes DPoP-bound tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// The resource takes only DPoP-bound tokens (RFC 9728 §2).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dpop_bound_access_tokens_required: bool,
}

impl ProtectedResourceMetadata {
    /// Whether the resource says it takes DPoP-bound ES256 tokens (RFC 9728 §2).
    pub fn takes_dpop(&self) -> bool {
        self.dpop_bound_access_tokens_required
            || crate::dpop::supports_es256(self.dpop_signing_alg_values_supported.as_deref())
    }
}

/// RFC 8414 authorization-server metadata, the fields an OAuth client uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier, exactly as the document states it.
    pub issuer: String,
    /// Where the user authorizes.
    pub authorization_endpoint: Url,
    /// Where codes and refresh tokens are exchanged.
    pub token_endpoint: Url,
    /// RFC 7591 dynamic registration, when offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<Url>,
    /// Scopes the server knows (used to decide on `offline_access`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes_supported: Option<Vec<String>>,
    /// PKCE methods; must contain `S256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Token-endpoint client authentication methods; absent means `client_secret_basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Grant types; absent means `authorization_code` and `implicit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// Whether a URL-formatted `client_id` (a Client ID Metadata Document) is accepted.
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    /// RFC 9207: callbacks carry `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// RFC 9449 §5.1: the JWS algorithms accepted in DPoP proofs; present means the
    /// server can bind tokens to a key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// RFC 7009 token revocation, when offered (RFC 8414 §2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<Url>,
}

impl AuthorizationServerMetadata {
    /// Whether the server lists `scope` in `scopes_supported`.
    pub fn supports_scope(&self, scope: &str) -> bool {
        self.scopes_supported
            .as_deref()
            .is_some_and(|s| s.iter().any(|x| x == scope))
    }
}

/// Discovery failed in a way the user or developer can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    /// A metadata document could not be read.
    #[error("metadata at {url} is unreadable: {source}")]
    Body {
        /// Where the document came from.
        url: String,
        /// Why it could not be read.
        source: BodyError,
    },
    /// A metadata document lacks a required field or has an invalid one.
    #[error("metadata at {url} is invalid: {reason}")]
    Invalid {
        /// Where the document came from.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// RFC 9728 §3.3: the PRM describes a different resource.
    #[error("protected-resource metadata is for {found}, not for {expected}; refusing to use it")]
    ResourceMismatch {
        /// The server URL being accessed.
        expected: String,
        /// The `resource` the metadata named.
        found: String,
    },
    /// RFC 8414 §3.3: the document's issuer differs from the one used to find it.
    #[error("authorization server metadata names issuer {found}, expected exactly {expected}; refusing to use it")]
    IssuerMismatch {
        /// The issuer used to build the metadata URL.
        expected: String,
        /// The issuer the document states.
        found: String,
    },
    /// PKCE S256 is not advertised, so the MCP spec forbids proceeding.
    #[error("authorization server {issuer} does not advertise PKCE S256 support (code_challenge_methods_supported); MCP requires it")]
    PkceNotSupported {
        /// The authorization server.
        issuer: String,
    },
    /// An endpoint is neither https nor loopback.
    #[error("{what} {url} must use https (plain http is allowed only on loopback)")]
    InsecureEndpoint {
        /// Which endpoint.
        what: &'static str,
        /// The offending URL.
        url: String,
    },
    /// No candidate URL produced usable authorization-server metadata.
    #[error("no authorization server metadata found for {issuer} (tried {tried})")]
    AuthorizationServerNotFound {
        /// The issuer being looked up.
        issuer: String,
        /// The URLs tried, comma-separated.
        tried: String,
    },
    /// The configured grant is not among the server's `grant_types_supported`.
    #[error(
        "authorization server {issuer} does not accept the {grant} grant (grant_types_supported)"
    )]
    GrantNotSupported {
        /// The authorization server.
        issuer: String,
        /// The grant type URI or name.
        grant: String,
    },
    /// A URL (server, issuer, metadata) could not be parsed.
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
}

impl DiscoveryError {
    /// [`DiscoveryError::AuthorizationServerNotFound`] after trying every candidate URL.
    pub fn not_found(issuer: &str, tried: &[Url]) -> Self {
        Self::AuthorizationServerNotFound {
            issuer: server_text(issuer),
            tried: tried.iter().map(Url::as_str).collect::<Vec<_>>().join(", "),
        }
    }

    fn invalid(url: &Url, reason: impl Into<String>) -> Self {
        Self::Invalid {
            url: url.to_string(),
            reason: reason.into(),
        }
    }
}

const PROTECTED_RESOURCE_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";
const OAUTH_AUTHORIZATION_SERVER_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
const OPENID_CONFIGURATION_WELL_KNOWN: &str = "/.well-known/openid-configuration";

/// RFC 9728 §3.1 well-known URLs for a resource, in the order to try them:
/// path-suffixed first, then the root (the first is skipped when the path is `/`).
///
/// One trailing slash of the path is dropped before inserting, as RFC 8414 §3.1 asks
/// of issuers. The query and fragment are dropped: the MCP specification's examples
/// build the URL from the path alone, and a query would end up on the metadata URL.
pub fn protected_resource_metadata_urls(server: &Url) -> Vec<Url> {
    let path = trimmed_path(server);
    let root = at_origin(server, PROTECTED_RESOURCE_WELL_KNOWN);
    if path.is_empty() {
        return vec![root];
    }
    let inserted = at_origin(server, &format!("{PROTECTED_RESOURCE_WELL_KNOWN}{path}"));
    vec![inserted, root]
}

/// RFC 8414 §3.1 / OIDC discovery URLs for an issuer, in exactly the MCP order.
///
/// With a path (`https://a/t1`): OAuth path-inserted, OIDC path-inserted, then OIDC
/// path-appended. Without one: OAuth, then OIDC. Nothing else: a root fallback for a
/// path issuer would fetch another tenant's metadata. The issuer must be an absolute
/// http(s) URL without query or fragment (RFC 8414 §2), and https unless loopback.
pub fn authorization_server_metadata_urls(issuer: &str) -> Result<Vec<Url>, DiscoveryError> {
    let url = parse_issuer(issuer)?;
    let path = trimmed_path(&url);
    if path.is_empty() {
        return Ok(vec![
            at_origin(&url, OAUTH_AUTHORIZATION_SERVER_WELL_KNOWN),
            at_origin(&url, OPENID_CONFIGURATION_WELL_KNOWN),
        ]);
    }
    Ok(vec![
        at_origin(
            &url,
            &format!("{OAUTH_AUTHORIZATION_SERVER_WELL_KNOWN}{path}"),
        ),
        at_origin(&url, &format!("{OPENID_CONFIGURATION_WELL_KNOWN}{path}")),
        at_origin(&url, &format!("{path}{OPENID_CONFIGURATION_WELL_KNOWN}")),
    ])
}

/// 2025-03-26 servers without RFC 9728 metadata: the MCP server's origin acts as the
/// issuer (no path, no trailing slash), e.g. `https://h:8443`.
pub fn legacy_issuer(server: &Url) -> String {
    server.origin().ascii_serialization()
}

/// 2025-03-26 default endpoints when the origin has no metadata either:
/// `/authorize`, `/token` and `/register` at the server's origin.
///
/// S256 is listed because the 2025-03-26 revision already made PKCE mandatory, so a
/// server of that revision supports it. The client-auth methods stay unknown
/// (absent, which RFC 8414 reads as `client_secret_basic`).
pub fn legacy_default_metadata(server: &Url) -> AuthorizationServerMetadata {
    AuthorizationServerMetadata {
        issuer: legacy_issuer(server),
        authorization_endpoint: at_origin(server, "/authorize"),
        token_endpoint: at_origin(server, "/token"),
        registration_endpoint: Some(at_origin(server, "/register")),
        scopes_supported: None,
        code_challenge_methods_supported: Some(vec!["S256".into()]),
        token_endpoint_auth_methods_supported: None,
        grant_types_supported: None,
        client_id_metadata_document_supported: false,
        authorization_response_iss_parameter_supported: false,
        dpop_signing_alg_values_supported: None,
        revocation_endpoint: None,
    }
}

/// The canonical resource URI (RFC 8707 §2, MCP "Canonical Server URI") for a server
/// URL: lower-case scheme and host, no fragment, no trailing slash on an empty path.
///
/// Other paths are kept exactly, trailing slash included, since servers may tell
/// `/mcp` and `/mcp/` apart. The query is kept (RFC 8707 only discourages it, and
/// dropping it could name another resource); user info is dropped (it is a
/// credential, not part of the resource's identity).
pub fn canonical_resource_uri(server: &Url) -> String {
    let mut url = server.clone();
    url.set_fragment(None);
    // Fails only for URLs without a host, which have no user info to drop.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    if url.path() != "/" {
        return url.into();
    }
    let mut canonical = url[..url::Position::BeforePath].to_owned();
    if let Some(query) = url.query() {
        canonical.push('?');
        canonical.push_str(query);
    }
    canonical
}

/// Parses a PRM response fetched from `url`.
///
/// `resource` must be a URL. `authorization_servers` is optional in RFC 9728, but a
/// document without one gives an MCP client nowhere to go, so it is required here.
pub fn parse_protected_resource_metadata(
    url: &Url,
    response: &HttpResponse,
) -> Result<ProtectedResourceMetadata, DiscoveryError> {
    let object = json_object(url, response)?;
    let fields = Fields {
        url,
        object: &object,
    };
    let resource = fields.required_string("resource")?;
    Url::parse(&resource).map_err(|e| {
        DiscoveryError::invalid(
            url,
            format!("`resource` {:?} is not a URL: {e}", server_text(&resource)),
        )
    })?;
    let authorization_servers = fields
        .string_array("authorization_servers")?
        .unwrap_or_default();
    if authorization_servers.is_empty() {
        return Err(DiscoveryError::invalid(
            url,
            "the resource names no authorization server (`authorization_servers` is missing or empty)",
        ));
    }
    for server in &authorization_servers {
        Url::parse(server).map_err(|e| {
            DiscoveryError::invalid(
                url,
                format!(
                    "`authorization_servers` entry {:?} is not a URL: {e}",
                    server_text(server)
                ),
            )
        })?;
    }
    Ok(ProtectedResourceMetadata {
        resource,
        authorization_servers,
        scopes_supported: fields.string_array("scopes_supported")?,
        dpop_signing_alg_values_supported: fields
            .string_array("dpop_signing_alg_values_supported")?,
        dpop_bound_access_tokens_required: fields.flag("dpop_bound_access_tokens_required")?,
    })
}

/// RFC 9728 §3.3: the PRM's `resource` must identify the server being accessed.
///
/// Accepted: the same origin (scheme, host, port) and a resource path that is the
/// server's path or a whole-segment prefix of it (one trailing slash ignored on
/// each), so `http://h:3000` covers `http://h:3000/mcp` (servers in the official
/// conformance suite publish the bare origin) while `/mc` does not cover `/mcp`.
/// The query is not compared. The `resource` itself is left untouched: it is sent
/// verbatim as the RFC 8707 `resource` parameter later.
pub fn check_resource(
    metadata: &ProtectedResourceMetadata,
    server: &Url,
) -> Result<(), DiscoveryError> {
    let mismatch = || DiscoveryError::ResourceMismatch {
        expected: server.to_string(),
        found: server_text(&metadata.resource),
    };
    let resource = Url::parse(&metadata.resource).map_err(|_| mismatch())?;
    let same_origin = resource.origin() == server.origin() && resource.origin().is_tuple();
    if same_origin && is_path_prefix(trimmed_path(&resource), trimmed_path(server)) {
        Ok(())
    } else {
        Err(mismatch())
    }
}

/// Parses and validates AS metadata fetched from `url` for `expected_issuer`: the
/// issuer must be identical, endpoints https-or-loopback, S256 advertised.
///
/// Checks run in the order that matters for safety: a document for another issuer is
/// rejected before anything else in it is looked at.
pub fn parse_authorization_server_metadata(
    url: &Url,
    expected_issuer: &str,
    response: &HttpResponse,
) -> Result<AuthorizationServerMetadata, DiscoveryError> {
    let object = json_object(url, response)?;
    let fields = Fields {
        url,
        object: &object,
    };
    let issuer = fields.required_string("issuer")?;
    // RFC 8414 §3.3 and MCP 2026-07-28: identical strings, no normalization.
    if issuer != expected_issuer {
        return Err(DiscoveryError::IssuerMismatch {
            expected: server_text(expected_issuer),
            found: server_text(&issuer),
        });
    }
    let issuer_url = Url::parse(&issuer)
        .map_err(|e| DiscoveryError::invalid(url, format!("`issuer` is not a URL: {e}")))?;
    require_secure("issuer", &issuer_url)?;
    let authorization_endpoint = fields.endpoint("authorization_endpoint")?;
    let token_endpoint = fields.endpoint("token_endpoint")?;
    let registration_endpoint = match fields.optional_string("registration_endpoint")? {
        Some(_) => Some(fields.endpoint("registration_endpoint")?),
        None => None,
    };
    let revocation_endpoint = match fields.optional_string("revocation_endpoint")? {
        Some(_) => Some(fields.endpoint("revocation_endpoint")?),
        None => None,
    };
    let code_challenge_methods_supported =
        fields.string_array("code_challenge_methods_supported")?;
    let has_s256 = code_challenge_methods_supported
        .as_deref()
        .is_some_and(|methods| methods.iter().any(|m| m == "S256"));
    if !has_s256 {
        return Err(DiscoveryError::PkceNotSupported {
            issuer: server_text(&issuer),
        });
    }
    Ok(AuthorizationServerMetadata {
        issuer,
        authorization_endpoint,
        token_endpoint,
        registration_endpoint,
        scopes_supported: fields.string_array("scopes_supported")?,
        code_challenge_methods_supported,
        token_endpoint_auth_methods_supported: fields
            .string_array("token_endpoint_auth_methods_supported")?,
        grant_types_supported: fields.string_array("grant_types_supported")?,
        client_id_metadata_document_supported: fields
            .flag("client_id_metadata_document_supported")?,
        authorization_response_iss_parameter_supported: fields
            .flag("authorization_response_iss_parameter_supported")?,
        dpop_signing_alg_values_supported: fields
            .string_array("dpop_signing_alg_values_supported")?,
        revocation_endpoint,
    })
}

/// How many path levels of a URL are tried as issuers by [`issuer_candidates`]:
/// enough for the deepest common layouts (`/realms/<realm>` of Keycloak,
/// `/oauth2/<server>` of Okta, `/<tenant>/v2.0` of Entra ID) while bounding the
/// requests a lookup sends.
pub const MAX_ISSUER_PATH_LEVELS: usize = 4;

/// The issuers an endpoint URL (an authorization or token endpoint, or an issuer
/// typed by a user) may belong to, for finding its metadata when the issuer is not
/// known: the origin first (where most servers live), then each longer path prefix,
/// up to the whole path. `https://kc/realms/r/protocol/openid-connect/auth` gives
/// `https://kc`, `https://kc/realms`, `https://kc/realms/r`, ... Only https (or
/// loopback http) URLs without user info give candidates.
pub fn issuer_candidates(url: &Url) -> Vec<String> {
    if !is_secure_or_loopback(url) || !url.has_host() {
        return Vec::new();
    }
    let origin = url.origin().ascii_serialization();
    let mut candidates = vec![origin.clone()];
    let mut prefix = String::new();
    for segment in trimmed_path(url)
        .split('/')
        .filter(|s| !s.is_empty())
        .take(MAX_ISSUER_PATH_LEVELS)
    {
        prefix.push('/');
        prefix.push_str(segment);
        candidates.push(format!("{origin}{prefix}"));
    }
    candidates
}

/// Parses AS metadata fetched from `url` while looking for an issuer that is not
/// known for sure (`candidate` is a guess from [`issuer_candidates`]). A document
/// naming another issuer is accepted only when that issuer's own well-known URLs
/// include `url`: `https://a/` and `https://a` share theirs, so a server whose
/// issuer ends in a slash is found, while a document copied from elsewhere is not.
pub fn parse_authorization_server_metadata_at(
    url: &Url,
    candidate: &str,
    response: &HttpResponse,
) -> Result<AuthorizationServerMetadata, DiscoveryError> {
    match parse_authorization_server_metadata(url, candidate, response) {
        Err(DiscoveryError::IssuerMismatch { found, .. })
            if authorization_server_metadata_urls(&found).is_ok_and(|urls| urls.contains(url)) =>
        {
            parse_authorization_server_metadata(url, &found, response)
        }
        other => other,
    }
}

/// Whether two endpoint URLs name the same endpoint: equal once parsed, ignoring
/// one trailing slash, the query and the fragment.
pub fn same_endpoint(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin() && trimmed_path(a) == trimmed_path(b)
}

/// An issuer identifier as RFC 8414 §2 defines it, safe to fetch metadata for.
fn parse_issuer(issuer: &str) -> Result<Url, DiscoveryError> {
    let invalid = |reason: &str| DiscoveryError::InvalidUrl {
        url: issuer.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(issuer).map_err(|e| invalid(&format!("not an absolute URL ({e})")))?;
    if !matches!(url.scheme(), "https" | "http") || !url.has_host() {
        return Err(invalid("an issuer must be an https URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("an issuer must not have a query or fragment"));
    }
    require_secure("issuer", &url)?;
    Ok(url)
}

fn require_secure(what: &'static str, url: &Url) -> Result<(), DiscoveryError> {
    if is_secure_or_loopback(url) {
        Ok(())
    } else {
        Err(DiscoveryError::InsecureEndpoint {
            what,
            url: url.to_string(),
        })
    }
}

/// The URL's path without one trailing slash; empty for the root.
fn trimmed_path(url: &Url) -> &str {
    let path = url.path();
    path.strip_suffix('/').unwrap_or(path)
}

/// `path` at the URL's origin: no user info, query or fragment.
fn at_origin(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    url.set_path(path);
    url.set_query(None);
    url.set_fragment(None);
    // Fails only for URLs without a host, which have no user info to drop.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url
}

/// Whether `prefix` is `path` or a run of its leading whole segments (both trimmed).
fn is_path_prefix(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

fn json_object(
    url: &Url,
    response: &HttpResponse,
) -> Result<serde_json::Map<String, Value>, DiscoveryError> {
    response
        .json_object()
        .map_err(|source| DiscoveryError::Body {
            url: url.to_string(),
            source,
        })
}

/// Typed access to a metadata document's members, with errors naming the member.
/// `null` counts as absent: some servers emit every member, set or not.
struct Fields<'a> {
    url: &'a Url,
    object: &'a serde_json::Map<String, Value>,
}

impl Fields<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        self.object.get(name).filter(|v| !v.is_null())
    }

    fn wrong_type(&self, name: &str, expected: &str) -> DiscoveryError {
        DiscoveryError::invalid(self.url, format!("`{name}` must be {expected}"))
    }

    fn optional_string(&self, name: &str) -> Result<Option<String>, DiscoveryError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(self.wrong_type(name, "a string")),
        }
    }

    fn required_string(&self, name: &str) -> Result<String, DiscoveryError> {
        self.optional_string(name)?.ok_or_else(|| {
            DiscoveryError::invalid(self.url, format!("missing required field `{name}`"))
        })
    }

    fn string_array(&self, name: &str) -> Result<Option<Vec<String>>, DiscoveryError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let wrong = || self.wrong_type(name, "an array of strings");
        let items = value.as_array().ok_or_else(wrong)?;
        items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn flag(&self, name: &str) -> Result<bool, DiscoveryError> {
        match self.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err(self.wrong_type(name, "true or false")),
        }
    }

    /// A required endpoint: a URL that is https, or http on loopback.
    fn endpoint(&self, name: &'static str) -> Result<Url, DiscoveryError> {
        let value = self.required_string(name)?;
        let url = Url::parse(&value).map_err(|e| {
            DiscoveryError::invalid(
                self.url,
                format!("`{name}` {:?} is not a URL: {e}", server_text(&value)),
            )
        })?;
        require_secure(name, &url)?;
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn strings(urls: &[Url]) -> Vec<&str> {
        urls.iter().map(Url::as_str).collect()
    }

    fn as_document(issuer: &str) -> Value {
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": format!("{issuer}/token"),
            "registration_endpoint": format!("{issuer}/register"),
            "code_challenge_methods_supported": ["plain", "S256"],
            "response_types_supported": ["code"],
        })
    }

    fn parse_as(
        issuer: &str,
        document: &Value,
    ) -> Result<AuthorizationServerMetadata, DiscoveryError> {
        let at = url("https://auth.example.com/.well-known/oauth-authorization-server");
        parse_authorization_server_metadata(&at, issuer, &HttpResponse::json_body(200, document))
    }

    fn prm_url() -> Url {
        url("https://mcp.example.com/.well-known/oauth-protected-resource")
    }

    fn parse_prm(document: &Value) -> Result<ProtectedResourceMetadata, DiscoveryError> {
        parse_protected_resource_metadata(&prm_url(), &HttpResponse::json_body(200, document))
    }

    fn invalid(reason: &str) -> DiscoveryError {
        DiscoveryError::Invalid {
            url: "https://auth.example.com/.well-known/oauth-authorization-server".into(),
            reason: reason.into(),
        }
    }

    fn invalid_prm(reason: &str) -> DiscoveryError {
        DiscoveryError::Invalid {
            url: prm_url().to_string(),
            reason: reason.into(),
        }
    }

    #[test]
    fn protected_resource_metadata_url_table() {
        let table: &[(&str, &[&str])] = &[
            // MCP authorization spec example.
            (
                "https://example.com/public/mcp",
                &[
                    "https://example.com/.well-known/oauth-protected-resource/public/mcp",
                    "https://example.com/.well-known/oauth-protected-resource",
                ],
            ),
            // RFC 9728 §3.1 example.
            (
                "https://resource.example.com/resource1",
                &[
                    "https://resource.example.com/.well-known/oauth-protected-resource/resource1",
                    "https://resource.example.com/.well-known/oauth-protected-resource",
                ],
            ),
            (
                "https://resource.example.com",
                &["https://resource.example.com/.well-known/oauth-protected-resource"],
            ),
            (
                "https://resource.example.com/",
                &["https://resource.example.com/.well-known/oauth-protected-resource"],
            ),
            // One trailing slash dropped; port kept; query, fragment and user info dropped.
            (
                "http://localhost:3000/mcp/?session=1#frag",
                &[
                    "http://localhost:3000/.well-known/oauth-protected-resource/mcp",
                    "http://localhost:3000/.well-known/oauth-protected-resource",
                ],
            ),
            (
                "https://user:pw@MCP.Example.com:8443/a/b",
                &[
                    "https://mcp.example.com:8443/.well-known/oauth-protected-resource/a/b",
                    "https://mcp.example.com:8443/.well-known/oauth-protected-resource",
                ],
            ),
        ];
        for (server, expected) in table {
            assert_eq!(
                strings(&protected_resource_metadata_urls(&url(server))),
                *expected,
                "{server}"
            );
        }
    }

    #[test]
    fn authorization_server_metadata_url_table() {
        let table: &[(&str, &[&str])] = &[
            // MCP authorization spec examples.
            (
                "https://auth.example.com/tenant1",
                &[
                    "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                    "https://auth.example.com/.well-known/openid-configuration/tenant1",
                    "https://auth.example.com/tenant1/.well-known/openid-configuration",
                ],
            ),
            (
                "https://auth.example.com",
                &[
                    "https://auth.example.com/.well-known/oauth-authorization-server",
                    "https://auth.example.com/.well-known/openid-configuration",
                ],
            ),
            // RFC 8414 §3.1 example.
            (
                "https://example.com/issuer1",
                &[
                    "https://example.com/.well-known/oauth-authorization-server/issuer1",
                    "https://example.com/.well-known/openid-configuration/issuer1",
                    "https://example.com/issuer1/.well-known/openid-configuration",
                ],
            ),
            // Trailing slashes and ports.
            (
                "https://auth.example.com/",
                &[
                    "https://auth.example.com/.well-known/oauth-authorization-server",
                    "https://auth.example.com/.well-known/openid-configuration",
                ],
            ),
            (
                "https://auth.example.com:8443/a/b/",
                &[
                    "https://auth.example.com:8443/.well-known/oauth-authorization-server/a/b",
                    "https://auth.example.com:8443/.well-known/openid-configuration/a/b",
                    "https://auth.example.com:8443/a/b/.well-known/openid-configuration",
                ],
            ),
            (
                "http://localhost:3000",
                &[
                    "http://localhost:3000/.well-known/oauth-authorization-server",
                    "http://localhost:3000/.well-known/openid-configuration",
                ],
            ),
        ];
        for (issuer, expected) in table {
            assert_eq!(
                strings(&authorization_server_metadata_urls(issuer).unwrap()),
                *expected,
                "{issuer}"
            );
        }
    }

    #[test]
    fn invalid_issuers_are_rejected_before_any_fetch() {
        for issuer in [
            "",
            "auth.example.com",
            "/tenant1",
            "https://auth.example.com/?tenant=1",
            "https://auth.example.com/#x",
            "ftp://auth.example.com",
            "mailto:a@example.com",
        ] {
            assert!(
                matches!(
                    authorization_server_metadata_urls(issuer),
                    Err(DiscoveryError::InvalidUrl { ref url, .. }) if url == issuer
                ),
                "{issuer}"
            );
        }
        assert_eq!(
            authorization_server_metadata_urls("http://auth.example.com"),
            Err(DiscoveryError::InsecureEndpoint {
                what: "issuer",
                url: "http://auth.example.com/".into()
            })
        );
    }

    #[test]
    fn issuer_candidates_table() {
        let table: &[(&str, &[&str])] = &[
            (
                "http://127.0.0.1:3000/auth",
                &["http://127.0.0.1:3000", "http://127.0.0.1:3000/auth"],
            ),
            ("https://as.example.com/", &["https://as.example.com"]),
            (
                "https://kc.example.com/realms/r1/protocol/openid-connect/auth?x=1",
                &[
                    "https://kc.example.com",
                    "https://kc.example.com/realms",
                    "https://kc.example.com/realms/r1",
                    "https://kc.example.com/realms/r1/protocol",
                    "https://kc.example.com/realms/r1/protocol/openid-connect",
                ],
            ),
            ("http://as.example.com/authorize", &[]),
        ];
        for (endpoint, want) in table {
            assert_eq!(issuer_candidates(&url(endpoint)), *want, "{endpoint}");
        }
    }

    #[test]
    fn metadata_found_by_guessing_may_name_an_issuer_with_a_trailing_slash() {
        let at = url("https://tenant.example.com/.well-known/openid-configuration");
        let response = HttpResponse::json_body(200, &as_document("https://tenant.example.com/"));
        let metadata =
            parse_authorization_server_metadata_at(&at, "https://tenant.example.com", &response)
                .unwrap();
        assert_eq!(metadata.issuer, "https://tenant.example.com/");
        // A document for an issuer whose well-known URLs are elsewhere is refused.
        let response = HttpResponse::json_body(200, &as_document("https://other.example.com"));
        assert!(matches!(
            parse_authorization_server_metadata_at(&at, "https://tenant.example.com", &response),
            Err(DiscoveryError::IssuerMismatch { .. })
        ));
    }

    #[test]
    fn legacy_issuer_is_the_origin_without_a_trailing_slash() {
        let table = [
            ("http://localhost:3000/mcp", "http://localhost:3000"),
            ("https://h:8443/a/b?q#f", "https://h:8443"),
            ("https://MCP.example.com:443/", "https://mcp.example.com"),
        ];
        for (server, expected) in table {
            assert_eq!(legacy_issuer(&url(server)), expected, "{server}");
        }
    }

    #[test]
    fn legacy_default_metadata_uses_the_origin_endpoints() {
        let metadata = legacy_default_metadata(&url("http://localhost:3000/mcp?x=1"));
        assert_eq!(
            metadata,
            AuthorizationServerMetadata {
                issuer: "http://localhost:3000".into(),
                authorization_endpoint: url("http://localhost:3000/authorize"),
                token_endpoint: url("http://localhost:3000/token"),
                registration_endpoint: Some(url("http://localhost:3000/register")),
                scopes_supported: None,
                code_challenge_methods_supported: Some(vec!["S256".into()]),
                token_endpoint_auth_methods_supported: None,
                grant_types_supported: None,
                client_id_metadata_document_supported: false,
                authorization_response_iss_parameter_supported: false,
                dpop_signing_alg_values_supported: None,
                revocation_endpoint: None,
            }
        );
    }

    #[test]
    fn canonical_resource_uri_table() {
        let table = [
            ("https://mcp.example.com/", "https://mcp.example.com"),
            ("https://mcp.example.com", "https://mcp.example.com"),
            ("HTTPS://MCP.Example.COM/mcp", "https://mcp.example.com/mcp"),
            (
                "https://mcp.example.com/mcp/",
                "https://mcp.example.com/mcp/",
            ),
            (
                "https://mcp.example.com:8443/server/mcp#frag",
                "https://mcp.example.com:8443/server/mcp",
            ),
            (
                "https://mcp.example.com:443/mcp",
                "https://mcp.example.com/mcp",
            ),
            (
                "https://mcp.example.com/?tenant=a#f",
                "https://mcp.example.com?tenant=a",
            ),
            (
                "https://mcp.example.com/mcp?tenant=a",
                "https://mcp.example.com/mcp?tenant=a",
            ),
            (
                "https://user:pw@mcp.example.com/mcp",
                "https://mcp.example.com/mcp",
            ),
            ("http://127.0.0.1:3000/", "http://127.0.0.1:3000"),
        ];
        for (server, expected) in table {
            assert_eq!(canonical_resource_uri(&url(server)), expected, "{server}");
        }
    }

    #[test]
    fn protected_resource_metadata_parses_rfc9728_example() {
        // RFC 9728 §3.2, trimmed to the members core reads (others are ignored).
        let prm = parse_prm(&json!({
            "resource": "https://resource.example.com",
            "authorization_servers": ["https://as1.example.com", "https://as2.example.net"],
            "bearer_methods_supported": ["header", "body"],
            "scopes_supported": ["profile", "email", "phone"],
            "resource_documentation": "https://resource.example.com/resource_documentation.html",
        }))
        .unwrap();
        assert_eq!(
            prm,
            ProtectedResourceMetadata {
                resource: "https://resource.example.com".into(),
                authorization_servers: vec![
                    "https://as1.example.com".into(),
                    "https://as2.example.net".into()
                ],
                scopes_supported: Some(vec!["profile".into(), "email".into(), "phone".into()]),
                dpop_signing_alg_values_supported: None,
                dpop_bound_access_tokens_required: false,
            }
        );
    }

    #[test]
    fn protected_resource_metadata_error_table() {
        let table = [
            (json!({ "authorization_servers": ["https://as"] }), "missing required field `resource`"),
            (json!({ "resource": 7, "authorization_servers": ["https://as"] }), "`resource` must be a string"),
            (
                json!({ "resource": "https://r" }),
                "the resource names no authorization server (`authorization_servers` is missing or empty)",
            ),
            (
                json!({ "resource": "https://r", "authorization_servers": [] }),
                "the resource names no authorization server (`authorization_servers` is missing or empty)",
            ),
            (
                json!({ "resource": "https://r", "authorization_servers": "https://as" }),
                "`authorization_servers` must be an array of strings",
            ),
            (
                json!({ "resource": "https://r", "authorization_servers": [1] }),
                "`authorization_servers` must be an array of strings",
            ),
            (
                json!({ "resource": "https://r", "authorization_servers": ["https://as"], "scopes_supported": "a b" }),
                "`scopes_supported` must be an array of strings",
            ),
        ];
        for (document, reason) in table {
            assert_eq!(parse_prm(&document), Err(invalid_prm(reason)), "{document}");
        }
        for (document, prefix) in [
            (
                json!({ "resource": "/mcp", "authorization_servers": ["https://as"] }),
                "`resource` \"/mcp\" is not a URL",
            ),
            (
                json!({ "resource": "https://r", "authorization_servers": ["as.example"] }),
                "`authorization_servers` entry \"as.example\" is not a URL",
            ),
        ] {
            match parse_prm(&document) {
                Err(DiscoveryError::Invalid { reason, .. }) => {
                    assert!(reason.starts_with(prefix), "{reason}")
                }
                other => panic!("{document}: {other:?}"),
            }
        }
    }

    #[test]
    fn unreadable_bodies_name_the_url() {
        let at = prm_url();
        let html = HttpResponse::new(
            200,
            vec![("Content-Type".into(), "text/html".into())],
            "<html>",
        );
        assert_eq!(
            parse_protected_resource_metadata(&at, &html),
            Err(DiscoveryError::Body {
                url: at.to_string(),
                source: BodyError::NotJson {
                    content_type: "text/html".into()
                }
            })
        );
        let array = HttpResponse::json_body(200, &json!([]));
        assert!(matches!(
            parse_authorization_server_metadata(&at, "https://as", &array),
            Err(DiscoveryError::Body {
                source: BodyError::Json { .. },
                ..
            })
        ));
    }

    #[test]
    fn check_resource_table() {
        let table = [
            // (resource, server, accepted)
            (
                "https://mcp.example.com/mcp",
                "https://mcp.example.com/mcp",
                true,
            ),
            (
                "https://mcp.example.com/mcp/",
                "https://mcp.example.com/mcp",
                true,
            ),
            (
                "https://mcp.example.com/mcp",
                "https://mcp.example.com/mcp/",
                true,
            ),
            (
                "https://MCP.example.com:443/mcp",
                "https://mcp.example.com/mcp",
                true,
            ),
            // Bare origin, as the official conformance suite's servers publish it.
            ("http://localhost:3000", "http://localhost:3000/mcp", true),
            ("http://localhost:3000/", "http://localhost:3000/mcp", true),
            (
                "https://mcp.example.com/a",
                "https://mcp.example.com/a/b/mcp",
                true,
            ),
            (
                "https://mcp.example.com/mcp",
                "https://mcp.example.com/mcp?x=1",
                true,
            ),
            // Segment prefix only.
            (
                "https://mcp.example.com/mc",
                "https://mcp.example.com/mcp",
                false,
            ),
            (
                "https://mcp.example.com/mcp/sub",
                "https://mcp.example.com/mcp",
                false,
            ),
            // Siblings, other origins.
            (
                "https://mcp.example.com/other",
                "https://mcp.example.com/mcp",
                false,
            ),
            ("http://localhost:3001", "http://localhost:3000/mcp", false),
            (
                "http://mcp.example.com/mcp",
                "https://mcp.example.com/mcp",
                false,
            ),
            (
                "https://evil.example.com/mcp",
                "https://mcp.example.com/mcp",
                false,
            ),
            (
                "https://mcp.example.com.evil/mcp",
                "https://mcp.example.com/mcp",
                false,
            ),
            ("not a url", "https://mcp.example.com/mcp", false),
        ];
        for (resource, server, accepted) in table {
            let metadata = ProtectedResourceMetadata {
                resource: resource.into(),
                authorization_servers: vec!["https://as".into()],
                scopes_supported: None,
                dpop_signing_alg_values_supported: None,
                dpop_bound_access_tokens_required: false,
            };
            let expected = if accepted {
                Ok(())
            } else {
                Err(DiscoveryError::ResourceMismatch {
                    expected: url(server).to_string(),
                    found: resource.into(),
                })
            };
            assert_eq!(
                check_resource(&metadata, &url(server)),
                expected,
                "{resource} for {server}"
            );
        }
    }

    #[test]
    fn authorization_server_metadata_parses_a_valid_document() {
        let mut document = as_document("https://auth.example.com/tenant1");
        document["scopes_supported"] = json!(["openid", "offline_access"]);
        document["token_endpoint_auth_methods_supported"] = json!(["none"]);
        document["grant_types_supported"] = json!(["authorization_code", "refresh_token"]);
        document["client_id_metadata_document_supported"] = json!(true);
        document["authorization_response_iss_parameter_supported"] = json!(true);
        let metadata = parse_as("https://auth.example.com/tenant1", &document).unwrap();
        assert_eq!(metadata.issuer, "https://auth.example.com/tenant1");
        assert_eq!(
            metadata.token_endpoint,
            url("https://auth.example.com/tenant1/token")
        );
        assert_eq!(
            metadata.registration_endpoint,
            Some(url("https://auth.example.com/tenant1/register"))
        );
        assert!(metadata.supports_scope("offline_access"));
        assert!(metadata.client_id_metadata_document_supported);
        assert!(metadata.authorization_response_iss_parameter_supported);
        assert_eq!(
            metadata.token_endpoint_auth_methods_supported,
            Some(vec!["none".into()])
        );
    }

    #[test]
    fn authorization_server_metadata_treats_null_and_absent_alike() {
        let mut document = as_document("http://localhost:3000");
        document["registration_endpoint"] = Value::Null;
        document["scopes_supported"] = Value::Null;
        let metadata = parse_as("http://localhost:3000", &document).unwrap();
        assert_eq!(metadata.registration_endpoint, None);
        assert_eq!(metadata.scopes_supported, None);
        assert!(!metadata.client_id_metadata_document_supported);
    }

    #[test]
    fn authorization_server_metadata_error_table() {
        let issuer = "https://auth.example.com";
        let with = |name: &str, value: Value| {
            let mut document = as_document(issuer);
            document[name] = value;
            document
        };
        let without = |name: &str| {
            let mut document = as_document(issuer);
            document.as_object_mut().unwrap().remove(name);
            document
        };
        let table = [
            (
                without("issuer"),
                invalid("missing required field `issuer`"),
            ),
            (
                without("authorization_endpoint"),
                invalid("missing required field `authorization_endpoint`"),
            ),
            (
                without("token_endpoint"),
                invalid("missing required field `token_endpoint`"),
            ),
            (
                with("issuer", json!(["x"])),
                invalid("`issuer` must be a string"),
            ),
            (
                with("client_id_metadata_document_supported", json!("yes")),
                invalid("`client_id_metadata_document_supported` must be true or false"),
            ),
            (
                with("code_challenge_methods_supported", json!("S256")),
                invalid("`code_challenge_methods_supported` must be an array of strings"),
            ),
            // Identical strings only: a trailing slash is a different issuer.
            (
                with("issuer", json!("https://auth.example.com/")),
                DiscoveryError::IssuerMismatch {
                    expected: issuer.into(),
                    found: "https://auth.example.com/".into(),
                },
            ),
            (
                with("issuer", json!("https://evil.example.com")),
                DiscoveryError::IssuerMismatch {
                    expected: issuer.into(),
                    found: "https://evil.example.com".into(),
                },
            ),
            (
                with(
                    "authorization_endpoint",
                    json!("http://auth.example.com/authorize"),
                ),
                DiscoveryError::InsecureEndpoint {
                    what: "authorization_endpoint",
                    url: "http://auth.example.com/authorize".into(),
                },
            ),
            (
                with("token_endpoint", json!("http://auth.example.com/token")),
                DiscoveryError::InsecureEndpoint {
                    what: "token_endpoint",
                    url: "http://auth.example.com/token".into(),
                },
            ),
            (
                with(
                    "registration_endpoint",
                    json!("http://auth.example.com/register"),
                ),
                DiscoveryError::InsecureEndpoint {
                    what: "registration_endpoint",
                    url: "http://auth.example.com/register".into(),
                },
            ),
            (
                without("code_challenge_methods_supported"),
                DiscoveryError::PkceNotSupported {
                    issuer: issuer.into(),
                },
            ),
            (
                with("code_challenge_methods_supported", json!(["plain"])),
                DiscoveryError::PkceNotSupported {
                    issuer: issuer.into(),
                },
            ),
            (
                with("code_challenge_methods_supported", json!(["s256"])),
                DiscoveryError::PkceNotSupported {
                    issuer: issuer.into(),
                },
            ),
        ];
        for (document, expected) in table {
            assert_eq!(parse_as(issuer, &document), Err(expected), "{document}");
        }
        match parse_as(issuer, &with("token_endpoint", json!("/token"))) {
            Err(DiscoveryError::Invalid { reason, .. }) => {
                assert!(
                    reason.starts_with("`token_endpoint` \"/token\" is not a URL"),
                    "{reason}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_insecure_issuer_is_refused_even_when_it_matches() {
        let issuer = "http://auth.example.com";
        let mut document = as_document("https://auth.example.com");
        document["issuer"] = json!(issuer);
        assert_eq!(
            parse_as(issuer, &document),
            Err(DiscoveryError::InsecureEndpoint {
                what: "issuer",
                url: "http://auth.example.com/".into()
            })
        );
    }

    #[test]
    fn loopback_http_is_allowed_for_local_test_servers() {
        for issuer in [
            "http://localhost:3000",
            "http://127.0.0.1:9000/t1",
            "http://[::1]:8080",
        ] {
            assert!(parse_as(issuer, &as_document(issuer)).is_ok(), "{issuer}");
        }
    }

    #[test]
    fn mismatch_messages_show_server_text_cleaned_and_bounded() {
        let hostile = format!(
            "https://mcp.example.com/\u{1b}]0;owned\u{7}{}",
            "x".repeat(10_000)
        );
        let prm = ProtectedResourceMetadata {
            resource: hostile.clone(),
            authorization_servers: vec!["https://auth.example.com".into()],
            scopes_supported: None,
            dpop_signing_alg_values_supported: None,
            dpop_bound_access_tokens_required: false,
        };
        let error = check_resource(&prm, &url("https://mcp.example.com/mcp")).unwrap_err();
        let issuer = parse_as("https://auth.example.com", &as_document(&hostile)).unwrap_err();
        for message in [error.to_string(), issuer.to_string()] {
            assert!(
                !message.contains('\u{1b}') && !message.contains('\u{7}'),
                "{message}"
            );
            assert!(message.len() < 1_000, "{} bytes", message.len());
        }
    }

    #[test]
    fn not_found_lists_every_url_tried() {
        let tried = authorization_server_metadata_urls("https://auth.example.com").unwrap();
        assert_eq!(
            DiscoveryError::not_found("https://auth.example.com", &tried),
            DiscoveryError::AuthorizationServerNotFound {
                issuer: "https://auth.example.com".into(),
                tried: "https://auth.example.com/.well-known/oauth-authorization-server, https://auth.example.com/.well-known/openid-configuration".into(),
            }
        );
    }
}

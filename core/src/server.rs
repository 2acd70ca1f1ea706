//! Checks for an authorization server that serves MCP clients: loopback redirect
//! URIs on any port ([RFC 8252 §7.3](https://www.rfc-editor.org/rfc/rfc8252#section-7.3)),
//! PKCE verification ([RFC 7636 §4.6](https://www.rfc-editor.org/rfc/rfc7636#section-4.6))
//! and authorization-request validation
//! ([RFC 6749 §4.1.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1),
//! [RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
//!
//! Redirect-URI policy, in short:
//! - `http://127.0.0.1`, `http://[::1]` and `http://localhost` are accepted on any
//!   port (or none) and any path and query. Only these exact spellings count: other
//!   `127.0.0.0/8` addresses and non-canonical spellings that a URL parser would
//!   normalise to a loopback address (`http://0x7f.1/`, `http://127.1/`,
//!   `http://[0:0:0:0:0:0:0:1]/`, `http://127.0.0.1./`) are refused, because the
//!   client and the browser may not parse them the way this server does.
//! - The same hosts over `https` are accepted as well. RFC 8252 §7.3 describes
//!   loopback redirects with `http`, but `https` to the same machine is never
//!   weaker, and refusing it would only break clients that bother with TLS.
//! - Any other URI must be `https` and appear verbatim in
//!   [`RedirectPolicy::allowed_https`] (simple string comparison, RFC 6749 §3.1.2.3).
//!   Private-use schemes (RFC 8252 §7.1) are refused: MCP redirect URIs are
//!   loopback or https.

use crate::http::read_unique_params;
use crate::pkce;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Which redirect URIs a server accepts for a client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectPolicy {
    /// Exact https redirect URIs registered for web clients.
    pub allowed_https: Vec<String>,
}

/// Why a redirect URI is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    /// Not an absolute URL, or spelled in a way parsers may disagree on
    /// (whitespace, backslashes, a non-canonical loopback host).
    #[error("redirect_uri is not a valid absolute URL")]
    Malformed,
    /// Carries a fragment (RFC 6749 §3.1.2).
    #[error("redirect_uri must not contain a fragment")]
    Fragment,
    /// Carries userinfo (`user@host`), a classic host-confusion trick.
    #[error("redirect_uri must not contain user information")]
    UserInfo,
    /// Neither loopback http nor an allowlisted https URI.
    #[error("redirect_uri is neither a loopback http URI nor a registered https URI")]
    NotAllowed,
}

/// RFC 8252 §7.3: `http://127.0.0.1`, `http://[::1]` and `http://localhost` on any
/// port and path; otherwise only exact allowlisted https URIs. See the module
/// documentation for the exact policy.
pub fn validate_redirect_uri(
    redirect_uri: &str,
    policy: &RedirectPolicy,
) -> Result<(), RedirectUriError> {
    let url = Url::parse(redirect_uri).map_err(|_| RedirectUriError::Malformed)?;
    if url.fragment().is_some() {
        return Err(RedirectUriError::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectUriError::UserInfo);
    }
    if !matches!(url.scheme(), "http" | "https") {
        return Err(RedirectUriError::NotAllowed);
    }
    // The parser silently drops whitespace and treats `\` as `/`; the client or
    // the browser may not, so such a URI could mean different hosts to each.
    if !redirect_uri
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'\\')
    {
        return Err(RedirectUriError::Malformed);
    }
    let authority = raw_authority(redirect_uri, url.scheme()).ok_or(RedirectUriError::Malformed)?;
    // `http://@127.0.0.1/` has an empty userinfo the parser does not report.
    if authority.contains('@') {
        return Err(RedirectUriError::UserInfo);
    }
    if is_loopback_host(&url) {
        // The parsed host is loopback; insist it was also written canonically so
        // that every party reading the raw string agrees.
        return if is_canonical_loopback_authority(authority) {
            Ok(())
        } else {
            Err(RedirectUriError::Malformed)
        };
    }
    if url.scheme() == "https" && policy.allowed_https.iter().any(|a| a == redirect_uri) {
        return Ok(());
    }
    Err(RedirectUriError::NotAllowed)
}

/// The authority exactly as written: between `scheme://` and the first `/`, `?`
/// or `#`. `None` when the URI does not start with `scheme://` followed by a
/// non-empty authority (`http:127.0.0.1`, `http:///x` parse, but are not canonical).
fn raw_authority<'a>(raw: &'a str, scheme: &str) -> Option<&'a str> {
    let head = raw.get(..scheme.len() + 3)?;
    if !head.eq_ignore_ascii_case(&format!("{scheme}://")) {
        return None;
    }
    let rest = &raw[head.len()..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|a| !a.is_empty())
}

/// Whether the parsed host is one of the three loopback hosts RFC 8252 names.
/// Other `127.0.0.0/8` addresses are not: clients are told to use `127.0.0.1`.
fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        Some(Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// Whether the raw authority is `127.0.0.1`, `[::1]` or `localhost` (any case),
/// optionally followed by `:` and a decimal port.
fn is_canonical_loopback_authority(authority: &str) -> bool {
    let (host, port) = match authority.rsplit_once(':') {
        // `[::1]` alone contains colons; only a colon after `]` starts a port.
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = host == "127.0.0.1" || host == "[::1]" || host.eq_ignore_ascii_case("localhost");
    let port_ok = port.is_none_or(|p| p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

/// A registered client as the AS sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredClient {
    /// The client identifier.
    pub client_id: String,
    /// Redirect policy for this client.
    pub redirect_policy: RedirectPolicy,
    /// Scopes this client may request; empty means any of the server's scopes.
    pub allowed_scopes: Vec<String>,
}

/// An authorization request's parameters as received (RFC 6749 §4.1.1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationParams {
    /// `response_type`.
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `scope`.
    pub scope: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `code_challenge`.
    pub code_challenge: Option<String>,
    /// `code_challenge_method`.
    pub code_challenge_method: Option<String>,
    /// `resource` (RFC 8707).
    pub resource: Option<String>,
}

impl AuthorizationParams {
    /// Reads the parameters from a query string (a leading `?` is tolerated).
    ///
    /// A known parameter that appears twice is an error (RFC 6749 §3.1), even with
    /// an empty value; this includes `resource`, which RFC 8707 would allow to
    /// repeat but MCP clients send once. A parameter with an empty value counts as
    /// omitted (RFC 6749 §3.1). Unknown parameters are ignored.
    pub fn from_query(query: &str) -> Result<Self, AuthorizationRequestError> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let mut params = Self::default();
        read_unique_params(
            url::form_urlencoded::parse(query.as_bytes()),
            |name, value| match params.slot(name) {
                Some(slot) => {
                    *slot = Some(value).filter(|v| !v.is_empty());
                    true
                }
                None => false,
            },
        )
        .map_err(AuthorizationRequestError::DuplicateParameter)?;
        Ok(params)
    }

    /// The field a known parameter name fills.
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "response_type" => &mut self.response_type,
            "client_id" => &mut self.client_id,
            "redirect_uri" => &mut self.redirect_uri,
            "scope" => &mut self.scope,
            "state" => &mut self.state,
            "code_challenge" => &mut self.code_challenge,
            "code_challenge_method" => &mut self.code_challenge_method,
            "resource" => &mut self.resource,
            _ => return None,
        })
    }
}

/// A validated authorization request, ready for consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidAuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// Where to send the user back.
    pub redirect_uri: String,
    /// Granted scopes (space-separated), if any were requested.
    pub scope: Option<String>,
    /// The client's state, echoed back.
    pub state: Option<String>,
    /// The S256 challenge to check at the token endpoint.
    pub code_challenge: String,
    /// The resource the token will be bound to.
    pub resource: Option<String>,
}

impl ValidAuthorizationRequest {
    /// Token endpoint: whether `code_verifier` matches this request's S256
    /// challenge (RFC 7636 §4.6), compared in constant time.
    pub fn verify_code_verifier(&self, code_verifier: &str) -> bool {
        pkce::verify_s256(code_verifier, &self.code_challenge)
    }
}

/// Why an authorization request is refused; `redirectable` errors may be sent to
/// the redirect URI (RFC 6749 §4.1.2.1), the others must be shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationRequestError {
    /// Missing or unknown client: never redirect.
    #[error("unknown or missing client_id")]
    UnknownClient,
    /// No `redirect_uri`: never redirect. It is required because loopback
    /// clients pick their port at run time, so no single URI is registered.
    #[error("redirect_uri is required")]
    RedirectUriMissing,
    /// Bad redirect URI: never redirect.
    #[error(transparent)]
    RedirectUri(#[from] RedirectUriError),
    /// A parameter appears more than once.
    #[error("parameter {0} is repeated")]
    DuplicateParameter(String),
    /// No `response_type`.
    #[error("invalid_request: response_type is required")]
    ResponseTypeMissing,
    /// `response_type` is not `code`.
    #[error("unsupported_response_type: only response_type=code is supported")]
    UnsupportedResponseType,
    /// No `code_challenge`: PKCE is mandatory.
    #[error("invalid_request: code_challenge is required (PKCE)")]
    PkceMissing,
    /// A method other than S256, or none (which would mean `plain`).
    #[error("invalid_request: code_challenge_method must be S256")]
    PkceMethod,
    /// The `code_challenge` is not a base64url SHA-256 digest (43 characters).
    #[error("invalid_request: code_challenge is not a valid S256 challenge")]
    PkceChallenge,
    /// A scope outside the allowlist.
    #[error("invalid_scope: {0} is not allowed for this client")]
    InvalidScope(String),
    /// `resource` is not an absolute URI without a fragment (RFC 8707 §2).
    #[error("invalid_target: resource must be an absolute URI without a fragment")]
    InvalidTarget,
}

impl AuthorizationRequestError {
    /// The RFC 6749 error code to send to the client.
    pub fn oauth_error(&self) -> &'static str {
        match self {
            AuthorizationRequestError::UnknownClient
            | AuthorizationRequestError::RedirectUriMissing
            | AuthorizationRequestError::RedirectUri(_)
            | AuthorizationRequestError::DuplicateParameter(_)
            | AuthorizationRequestError::ResponseTypeMissing
            | AuthorizationRequestError::PkceMissing
            | AuthorizationRequestError::PkceMethod
            | AuthorizationRequestError::PkceChallenge => "invalid_request",
            AuthorizationRequestError::UnsupportedResponseType => "unsupported_response_type",
            AuthorizationRequestError::InvalidScope(_) => "invalid_scope",
            AuthorizationRequestError::InvalidTarget => "invalid_target",
        }
    }

    /// Whether the error may be reported by redirecting to the client. Errors
    /// found before the client and its redirect URI are trusted may not: that
    /// would make the server an open redirector (RFC 6749 §4.1.2.1).
    pub fn redirectable(&self) -> bool {
        !matches!(
            self,
            AuthorizationRequestError::UnknownClient
                | AuthorizationRequestError::RedirectUriMissing
                | AuthorizationRequestError::RedirectUri(_)
                | AuthorizationRequestError::DuplicateParameter(_)
        )
    }
}

/// Validates an authorization request against the registered client and the
/// server's scopes: client, redirect URI, response type, PKCE S256, scope
/// allowlist, resource. Checks run in that order, so every error after the
/// redirect URI is [`redirectable`](AuthorizationRequestError::redirectable).
pub fn validate_authorization_request(
    params: &AuthorizationParams,
    client: Option<&RegisteredClient>,
    server_scopes: &[String],
) -> Result<ValidAuthorizationRequest, AuthorizationRequestError> {
    let client = match (params.client_id.as_deref(), client) {
        (Some(id), Some(client)) if client.client_id == id => client,
        _ => return Err(AuthorizationRequestError::UnknownClient),
    };
    let redirect_uri = params
        .redirect_uri
        .as_deref()
        .ok_or(AuthorizationRequestError::RedirectUriMissing)?;
    validate_redirect_uri(redirect_uri, &client.redirect_policy)?;
    match params.response_type.as_deref() {
        None => return Err(AuthorizationRequestError::ResponseTypeMissing),
        Some("code") => {}
        Some(_) => return Err(AuthorizationRequestError::UnsupportedResponseType),
    }
    let code_challenge = check_pkce(params)?;
    let scope = check_scope(params.scope.as_deref(), client, server_scopes)?;
    if let Some(resource) = params.resource.as_deref() {
        check_resource(resource)?;
    }
    Ok(ValidAuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        scope,
        state: params.state.clone(),
        code_challenge: code_challenge.to_owned(),
        resource: params.resource.clone(),
    })
}

/// PKCE is mandatory and S256 only: an absent method means `plain` (RFC 7636
/// §4.3), which MCP forbids.
fn check_pkce(params: &AuthorizationParams) -> Result<&str, AuthorizationRequestError> {
    let challenge = params
        .code_challenge
        .as_deref()
        .ok_or(AuthorizationRequestError::PkceMissing)?;
    if params.code_challenge_method.as_deref() != Some("S256") {
        return Err(AuthorizationRequestError::PkceMethod);
    }
    if !is_s256_challenge(challenge) {
        return Err(AuthorizationRequestError::PkceChallenge);
    }
    Ok(challenge)
}

/// Whether `challenge` is unpadded base64url of exactly 32 bytes. The decoder also
/// refuses non-zero trailing bits, so only challenges a real SHA-256 could produce
/// pass.
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && URL_SAFE_NO_PAD
            .decode(challenge)
            .is_ok_and(|bytes| bytes.len() == 32)
}

/// Checks each requested scope against the client's allowlist, or the server's
/// scopes when the client has none; with neither, any well-formed scope passes.
/// Returns the scopes normalised (single spaces, duplicates dropped), or `None`
/// when none were requested.
fn check_scope(
    scope: Option<&str>,
    client: &RegisteredClient,
    server_scopes: &[String],
) -> Result<Option<String>, AuthorizationRequestError> {
    let allowed = if client.allowed_scopes.is_empty() {
        server_scopes
    } else {
        &client.allowed_scopes
    };
    let mut granted: Vec<&str> = Vec::new();
    for token in scope
        .unwrap_or_default()
        .split(' ')
        .filter(|t| !t.is_empty())
    {
        let permitted = if allowed.is_empty() {
            is_scope_token(token)
        } else {
            allowed.iter().any(|a| a == token)
        };
        if !permitted {
            return Err(AuthorizationRequestError::InvalidScope(token.to_owned()));
        }
        if !granted.contains(&token) {
            granted.push(token);
        }
    }
    Ok(Some(granted.join(" ")).filter(|s| !s.is_empty()))
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

/// RFC 8707 §2: the resource must be an absolute URI and must not carry a fragment.
fn check_resource(resource: &str) -> Result<(), AuthorizationRequestError> {
    match Url::parse(resource) {
        Ok(url) if url.fragment().is_none() && !resource.contains('#') => Ok(()),
        _ => Err(AuthorizationRequestError::InvalidTarget),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn policy() -> RedirectPolicy {
        RedirectPolicy {
            allowed_https: vec!["https://app.example.com/oauth/callback".into()],
        }
    }

    #[test]
    fn accepted_redirect_uris() {
        let accepted = [
            "http://127.0.0.1/callback",
            "http://127.0.0.1:33418/callback",
            "http://127.0.0.1",
            "http://127.0.0.1/",
            "http://127.0.0.1:1/a/b/c?x=1&y=2",
            "http://[::1]/callback",
            "http://[::1]:8080/callback",
            "http://localhost/callback",
            "http://localhost:65535/cb?client=desktop",
            "http://LOCALHOST:3000/cb",
            "HTTP://127.0.0.1:3000/cb",
            "https://127.0.0.1:8443/callback",
            "https://localhost/callback",
            "https://app.example.com/oauth/callback",
        ];
        for uri in accepted {
            assert_eq!(validate_redirect_uri(uri, &policy()), Ok(()), "{uri}");
        }
    }

    #[test]
    fn rejected_redirect_uris() {
        use RedirectUriError::*;
        let rejected = [
            ("http://127.0.0.1/cb#frag", Fragment),
            ("http://127.0.0.1/cb#", Fragment),
            ("https://app.example.com/oauth/callback#x", Fragment),
            ("http://user@127.0.0.1/cb", UserInfo),
            ("http://user:pw@localhost/cb", UserInfo),
            ("http://127.0.0.1:80@evil.com/", UserInfo),
            ("http://@127.0.0.1/cb", UserInfo),
            ("http://127.0.0.1.evil.com/cb", NotAllowed),
            ("http://localhost.evil.com", NotAllowed),
            ("http://localhost.evil.com/cb", NotAllowed),
            ("http://127.0.0.2/cb", NotAllowed),
            ("http://127.255.255.254/cb", NotAllowed),
            ("http://10.0.0.1/cb", NotAllowed),
            ("http://0.0.0.0/cb", NotAllowed),
            ("http://[::2]/cb", NotAllowed),
            ("http://[::ffff:127.0.0.1]/cb", NotAllowed),
            ("http://app.example.com/oauth/callback", NotAllowed),
            ("https://app.example.com/oauth/callback/", NotAllowed),
            ("https://app.example.com/oauth/callback?x=1", NotAllowed),
            ("https://APP.example.com/oauth/callback", NotAllowed),
            ("https://evil.com/cb", NotAllowed),
            ("javascript:alert(1)", NotAllowed),
            ("data:text/html,hi", NotAllowed),
            ("com.example.app:/oauth2redirect", NotAllowed),
            ("ftp://127.0.0.1/cb", NotAllowed),
            ("file:///etc/passwd", NotAllowed),
            ("/callback", Malformed),
            ("127.0.0.1/callback", Malformed),
            ("", Malformed),
            ("not a url", Malformed),
            ("http://", Malformed),
            ("http://[::1/cb", Malformed),
            // Parser normalisation tricks: each parses to a loopback host.
            ("http://0x7f.1/cb", Malformed),
            ("http://127.1/cb", Malformed),
            ("http://2130706433/cb", Malformed),
            ("http://0177.0.0.1/cb", Malformed),
            ("http://127.0.0.1./cb", Malformed),
            ("http://%31%32%37.0.0.1/cb", Malformed),
            ("http://[0:0:0:0:0:0:0:1]/cb", Malformed),
            ("http:127.0.0.1/cb", Malformed),
            ("http:/127.0.0.1/cb", Malformed),
            ("http:///127.0.0.1/cb", Malformed),
            ("http:\\\\127.0.0.1\\cb", Malformed),
            ("http://127.0.0.1\\@evil.com/", Malformed),
            (" http://127.0.0.1/cb", Malformed),
            ("http://127.0.0.1/cb\n", Malformed),
            ("http://127.0.0.1/c\tb", Malformed),
        ];
        for (uri, expected) in rejected {
            assert_eq!(
                validate_redirect_uri(uri, &policy()),
                Err(expected),
                "{uri:?}"
            );
        }
    }

    #[test]
    fn https_uris_need_the_policy() {
        let uri = "https://app.example.com/oauth/callback";
        assert_eq!(
            validate_redirect_uri(uri, &RedirectPolicy::default()),
            Err(RedirectUriError::NotAllowed)
        );
    }

    fn client() -> RegisteredClient {
        RegisteredClient {
            client_id: "client-1".into(),
            redirect_policy: policy(),
            allowed_scopes: vec![],
        }
    }

    fn good_params() -> AuthorizationParams {
        AuthorizationParams {
            response_type: Some("code".into()),
            client_id: Some("client-1".into()),
            redirect_uri: Some("http://127.0.0.1:40000/callback".into()),
            scope: Some("mcp:read mcp:write".into()),
            state: Some("xyz".into()),
            code_challenge: Some(CHALLENGE.into()),
            code_challenge_method: Some("S256".into()),
            resource: Some("https://mcp.example.com/mcp".into()),
        }
    }

    fn server_scopes() -> Vec<String> {
        vec!["mcp:read".into(), "mcp:write".into(), "admin".into()]
    }

    fn validate(
        params: &AuthorizationParams,
    ) -> Result<ValidAuthorizationRequest, AuthorizationRequestError> {
        validate_authorization_request(params, Some(&client()), &server_scopes())
    }

    #[test]
    fn a_good_request_is_accepted_and_echoes_its_fields() {
        let valid = validate(&good_params()).unwrap();
        assert_eq!(
            valid,
            ValidAuthorizationRequest {
                client_id: "client-1".into(),
                redirect_uri: "http://127.0.0.1:40000/callback".into(),
                scope: Some("mcp:read mcp:write".into()),
                state: Some("xyz".into()),
                code_challenge: CHALLENGE.into(),
                resource: Some("https://mcp.example.com/mcp".into()),
            }
        );
        assert!(valid.verify_code_verifier(VERIFIER));
    }

    #[test]
    fn query_round_trip_to_a_valid_request() {
        let query = format!(
            "response_type=code&client_id=client-1&redirect_uri=http%3A%2F%2F127.0.0.1%3A40000%2Fcallback\
             &scope=mcp%3Aread+mcp%3Awrite&state=xyz&code_challenge={CHALLENGE}\
             &code_challenge_method=S256&resource=https%3A%2F%2Fmcp.example.com%2Fmcp&prompt=consent"
        );
        let params = AuthorizationParams::from_query(&query).unwrap();
        assert_eq!(params, good_params());
        assert_eq!(
            AuthorizationParams::from_query(&format!("?{query}")).unwrap(),
            good_params()
        );
    }

    #[test]
    fn repeated_known_parameters_are_refused_unknown_ones_ignored() {
        for name in [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
            "resource",
        ] {
            let query = format!("{name}=a&client_id_x=1&{name}=b");
            assert_eq!(
                AuthorizationParams::from_query(&query),
                Err(AuthorizationRequestError::DuplicateParameter(name.into())),
                "{name}"
            );
            let query = format!("{name}=&{name}=b");
            assert!(AuthorizationParams::from_query(&query).is_err(), "{name}");
        }
        let params = AuthorizationParams::from_query("foo=1&foo=2&state=s").unwrap();
        assert_eq!(params.state.as_deref(), Some("s"));
    }

    #[test]
    fn empty_values_count_as_omitted() {
        let params = AuthorizationParams::from_query("scope=&state=&client_id=c").unwrap();
        assert_eq!(params.scope, None);
        assert_eq!(params.state, None);
        assert_eq!(params.client_id.as_deref(), Some("c"));
        assert_eq!(
            AuthorizationParams::from_query(""),
            Ok(AuthorizationParams::default())
        );
    }

    #[test]
    fn client_must_be_known_and_match() {
        let mut params = good_params();
        params.client_id = None;
        assert_eq!(
            validate(&params),
            Err(AuthorizationRequestError::UnknownClient)
        );
        params.client_id = Some("client-2".into());
        assert_eq!(
            validate(&params),
            Err(AuthorizationRequestError::UnknownClient)
        );
        assert_eq!(
            validate_authorization_request(&good_params(), None, &server_scopes()),
            Err(AuthorizationRequestError::UnknownClient)
        );
    }

    #[test]
    fn client_is_checked_before_anything_else() {
        let params = AuthorizationParams {
            client_id: Some("nobody".into()),
            ..AuthorizationParams::default()
        };
        assert_eq!(
            validate(&params),
            Err(AuthorizationRequestError::UnknownClient)
        );
    }

    #[test]
    fn redirect_uri_is_required_and_checked_before_response_type() {
        let mut params = good_params();
        params.response_type = Some("token".into());
        params.redirect_uri = None;
        assert_eq!(
            validate(&params),
            Err(AuthorizationRequestError::RedirectUriMissing)
        );
        params.redirect_uri = Some("https://evil.com/cb".into());
        assert_eq!(
            validate(&params),
            Err(AuthorizationRequestError::RedirectUri(
                RedirectUriError::NotAllowed
            ))
        );
    }

    #[test]
    fn response_type_must_be_code() {
        let mut params = good_params();
        params.response_type = None;
        assert_eq!(
            validate(&params),
            Err(AuthorizationRequestError::ResponseTypeMissing)
        );
        for bad in ["token", "code id_token", "CODE"] {
            params.response_type = Some(bad.into());
            assert_eq!(
                validate(&params),
                Err(AuthorizationRequestError::UnsupportedResponseType),
                "{bad}"
            );
        }
    }

    /// `code_challenge`, `code_challenge_method`, and the expected outcome.
    type PkceCase<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        Result<(), AuthorizationRequestError>,
    );

    #[test]
    fn pkce_table() {
        use AuthorizationRequestError::*;
        let table: [PkceCase; 10] = [
            (Some(CHALLENGE), Some("S256"), Ok(())),
            (None, Some("S256"), Err(PkceMissing)),
            (None, None, Err(PkceMissing)),
            (Some(CHALLENGE), None, Err(PkceMethod)),
            (Some(CHALLENGE), Some("plain"), Err(PkceMethod)),
            (Some(CHALLENGE), Some("s256"), Err(PkceMethod)),
            (Some(VERIFIER), Some("S256"), Ok(())), // 43 base64url chars: shape only
            (Some(&CHALLENGE[..42]), Some("S256"), Err(PkceChallenge)),
            (
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM"),
                Some("S256"),
                Err(PkceChallenge),
            ),
            (
                Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"),
                Some("S256"),
                Err(PkceChallenge),
            ),
        ];
        for (challenge, method, expected) in table {
            let params = AuthorizationParams {
                code_challenge: challenge.map(Into::into),
                code_challenge_method: method.map(Into::into),
                ..good_params()
            };
            assert_eq!(
                validate(&params).map(|_| ()),
                expected,
                "{challenge:?} {method:?}"
            );
        }
    }

    #[test]
    fn s256_challenge_shape() {
        assert!(is_s256_challenge(CHALLENGE));
        assert!(is_s256_challenge(&pkce::s256_challenge("anything")));
        assert!(!is_s256_challenge(""));
        assert!(!is_s256_challenge(&format!("{CHALLENGE}=")));
        assert!(!is_s256_challenge(&format!("{CHALLENGE}A")));
        assert!(!is_s256_challenge(&"~".repeat(43)));
    }

    #[test]
    fn code_verifier_is_checked_against_the_challenge() {
        let valid = validate(&good_params()).unwrap();
        assert!(valid.verify_code_verifier(VERIFIER));
        assert!(!valid.verify_code_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"));
        assert!(!valid.verify_code_verifier(CHALLENGE));
        assert!(!valid.verify_code_verifier(""));
        assert!(!valid.verify_code_verifier("short"));
    }

    #[test]
    fn scope_allowlists() {
        let restricted = RegisteredClient {
            allowed_scopes: vec!["mcp:read".into()],
            ..client()
        };
        let with = |scope: Option<&str>, client: &RegisteredClient, server: &[String]| {
            let params = AuthorizationParams {
                scope: scope.map(Into::into),
                ..good_params()
            };
            validate_authorization_request(&params, Some(client), server).map(|v| v.scope)
        };
        let server = server_scopes();
        let invalid = |s: &str| Err(AuthorizationRequestError::InvalidScope(s.into()));
        // The client's own allowlist wins over the server's scopes.
        assert_eq!(
            with(Some("mcp:read"), &restricted, &server),
            Ok(Some("mcp:read".into()))
        );
        assert_eq!(
            with(Some("mcp:read mcp:write"), &restricted, &server),
            invalid("mcp:write")
        );
        // Without a client allowlist, the server's scopes apply.
        assert_eq!(
            with(Some("admin mcp:read"), &client(), &server),
            Ok(Some("admin mcp:read".into()))
        );
        assert_eq!(
            with(Some("mcp:read other"), &client(), &server),
            invalid("other")
        );
        // With neither, any well-formed scope token passes.
        assert_eq!(
            with(Some("anything"), &client(), &[]),
            Ok(Some("anything".into()))
        );
        assert_eq!(
            with(Some("bad\"quote"), &client(), &[]),
            invalid("bad\"quote")
        );
        // Normalised: extra spaces and duplicates dropped; none requested → None.
        assert_eq!(
            with(Some(" mcp:read  mcp:read mcp:write "), &client(), &server),
            Ok(Some("mcp:read mcp:write".into()))
        );
        assert_eq!(with(None, &restricted, &server), Ok(None));
        assert_eq!(with(Some("  "), &restricted, &server), Ok(None));
        // Comparison is exact.
        assert_eq!(
            with(Some("MCP:READ"), &restricted, &server),
            invalid("MCP:READ")
        );
    }

    #[test]
    fn resource_must_be_absolute_without_fragment() {
        let with = |resource: &str| {
            let params = AuthorizationParams {
                resource: Some(resource.into()),
                ..good_params()
            };
            validate(&params).map(|v| v.resource)
        };
        assert_eq!(
            with("https://mcp.example.com"),
            Ok(Some("https://mcp.example.com".into()))
        );
        assert_eq!(
            with("http://127.0.0.1:9000/mcp"),
            Ok(Some("http://127.0.0.1:9000/mcp".into()))
        );
        for bad in [
            "/mcp",
            "mcp.example.com",
            "https://mcp.example.com/mcp#x",
            "https://mcp.example.com#",
        ] {
            assert_eq!(
                with(bad),
                Err(AuthorizationRequestError::InvalidTarget),
                "{bad}"
            );
        }
        let params = AuthorizationParams {
            resource: None,
            ..good_params()
        };
        assert_eq!(validate(&params).unwrap().resource, None);
    }

    #[test]
    fn error_codes_and_redirectability() {
        use AuthorizationRequestError::*;
        let table = [
            (UnknownClient, "invalid_request", false),
            (RedirectUriMissing, "invalid_request", false),
            (
                RedirectUri(RedirectUriError::Malformed),
                "invalid_request",
                false,
            ),
            (
                RedirectUri(RedirectUriError::Fragment),
                "invalid_request",
                false,
            ),
            (
                RedirectUri(RedirectUriError::UserInfo),
                "invalid_request",
                false,
            ),
            (
                RedirectUri(RedirectUriError::NotAllowed),
                "invalid_request",
                false,
            ),
            (DuplicateParameter("state".into()), "invalid_request", false),
            (ResponseTypeMissing, "invalid_request", true),
            (UnsupportedResponseType, "unsupported_response_type", true),
            (PkceMissing, "invalid_request", true),
            (PkceMethod, "invalid_request", true),
            (PkceChallenge, "invalid_request", true),
            (InvalidScope("x".into()), "invalid_scope", true),
            (InvalidTarget, "invalid_target", true),
        ];
        for (error, code, redirectable) in table {
            assert_eq!(error.oauth_error(), code, "{error:?}");
            assert_eq!(error.redirectable(), redirectable, "{error:?}");
        }
    }
}

//! The authorization endpoint's checks
//! ([RFC 6749 §4.1.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1)):
//! client, redirect URI, `response_type=code`, PKCE S256 (mandatory,
//! [RFC 7636 §4.3](https://www.rfc-editor.org/rfc/rfc7636#section-4.3)), scope and
//! `resource` ([RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)).
//!
//! The order matters: until the client and its redirect URI are trusted, an error
//! is shown to the user and never redirected, or the server would be an open
//! redirector (RFC 6749 §4.1.2.1). Every later error goes back to the client.

use super::client::Client;
use super::redirect::RedirectUriError;
use super::resource_indicator::{ResourceError, ResourcePolicy};
use super::scope::ScopeError;
use crate::http::read_unique_params;
use crate::pkce;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

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

/// A validated authorization request, waiting for the user's consent. It is
/// plain data: a host may keep it in a session, or seal it into a form field,
/// between the consent page and its answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// Where to send the user back, exactly as requested.
    pub redirect_uri: String,
    /// The scopes to grant (space-separated), after the client's scope policy.
    pub scope: Option<String>,
    /// The client's `state`, echoed back.
    pub state: Option<String>,
    /// The S256 challenge the token request's verifier must match.
    pub code_challenge: String,
    /// The resource the tokens will be bound to.
    pub resource: Option<String>,
}

impl AuthorizationRequest {
    /// Whether `code_verifier` matches this request's S256 challenge
    /// (RFC 7636 §4.6), compared in constant time.
    pub fn verify_code_verifier(&self, code_verifier: &str) -> bool {
        pkce::verify_s256(code_verifier, &self.code_challenge)
    }
}

/// Why an authorization request is refused. Only
/// [`redirectable`](Self::redirectable) errors may be sent to the redirect URI
/// (RFC 6749 §4.1.2.1); the others must be shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationRequestError {
    /// Missing or unknown client: never redirect.
    #[error("unknown or missing client_id")]
    UnknownClient,
    /// No `redirect_uri`: never redirect. It is required because loopback
    /// clients pick their port at run time, so no single URI is registered.
    #[error("redirect_uri is required")]
    RedirectUriMissing,
    /// A redirect URI this client may not use: never redirect.
    #[error(transparent)]
    RedirectUri(#[from] RedirectUriError),
    /// A parameter appears more than once: never redirect, since which
    /// `redirect_uri` or `state` counts is ambiguous.
    #[error("parameter {0} is repeated")]
    DuplicateParameter(String),
    /// No `response_type`.
    #[error("response_type is required")]
    ResponseTypeMissing,
    /// `response_type` is not `code`.
    #[error("only response_type=code is supported")]
    UnsupportedResponseType,
    /// No `code_challenge`: PKCE is mandatory.
    #[error("code_challenge is required (PKCE)")]
    PkceMissing,
    /// A method other than S256, or none (which would mean `plain`).
    #[error("code_challenge_method must be S256")]
    PkceMethod,
    /// The `code_challenge` is not a base64url SHA-256 digest (43 characters).
    #[error("code_challenge is not a valid S256 challenge")]
    PkceChallenge,
    /// The scope is refused by the client's scope policy.
    #[error(transparent)]
    InvalidScope(#[from] ScopeError),
    /// The resource is malformed, not served here, or missing when required.
    #[error(transparent)]
    InvalidTarget(#[from] ResourceError),
}

impl AuthorizationRequestError {
    /// The RFC 6749 §4.1.2.1 error code (`invalid_target` from RFC 8707).
    pub fn oauth_error(&self) -> &'static str {
        use AuthorizationRequestError::*;
        match self {
            UnknownClient
            | RedirectUriMissing
            | RedirectUri(_)
            | DuplicateParameter(_)
            | ResponseTypeMissing
            | PkceMissing
            | PkceMethod
            | PkceChallenge => "invalid_request",
            UnsupportedResponseType => "unsupported_response_type",
            InvalidScope(_) => "invalid_scope",
            InvalidTarget(_) => "invalid_target",
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

/// Validates an authorization request for `client` (the host's lookup of
/// `params.client_id`, `None` when unknown): client, redirect URI, response type,
/// PKCE S256, scope, resource. Checks run in that order, so every error after
/// the redirect URI is [`redirectable`](AuthorizationRequestError::redirectable).
pub fn validate(
    params: &AuthorizationParams,
    client: Option<&Client>,
    resources: &ResourcePolicy,
) -> Result<AuthorizationRequest, AuthorizationRequestError> {
    let client = match (params.client_id.as_deref(), client) {
        (Some(id), Some(client)) if client.client_id == id => client,
        _ => return Err(AuthorizationRequestError::UnknownClient),
    };
    let redirect_uri = params
        .redirect_uri
        .as_deref()
        .ok_or(AuthorizationRequestError::RedirectUriMissing)?;
    client.redirect.check(redirect_uri)?;
    match params.response_type.as_deref() {
        None => return Err(AuthorizationRequestError::ResponseTypeMissing),
        Some("code") => {}
        Some(_) => return Err(AuthorizationRequestError::UnsupportedResponseType),
    }
    let code_challenge = check_pkce(params)?;
    let scope = client.scope.grant(params.scope.as_deref())?;
    resources.check(params.resource.as_deref())?;
    Ok(AuthorizationRequest {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::redirect::RedirectPolicy;
    use crate::server::scope::ScopePolicy;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    const MCP: &str = "https://mcp.example.com/mcp";

    fn client() -> Client {
        Client::public(
            "client-1",
            RedirectPolicy::registered([
                "http://127.0.0.1/callback",
                "https://app.example.com/oauth/callback",
            ]),
            ScopePolicy::allow(["mcp:read", "mcp:write", "admin"], []),
        )
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
            resource: Some(MCP.into()),
        }
    }

    fn validate_(
        params: &AuthorizationParams,
    ) -> Result<AuthorizationRequest, AuthorizationRequestError> {
        validate(params, Some(&client()), &ResourcePolicy::default())
    }

    #[test]
    fn a_good_request_is_accepted_and_echoes_its_fields() {
        let valid = validate_(&good_params()).unwrap();
        assert_eq!(
            valid,
            AuthorizationRequest {
                client_id: "client-1".into(),
                redirect_uri: "http://127.0.0.1:40000/callback".into(),
                scope: Some("mcp:read mcp:write".into()),
                state: Some("xyz".into()),
                code_challenge: CHALLENGE.into(),
                resource: Some(MCP.into()),
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
            validate_(&params),
            Err(AuthorizationRequestError::UnknownClient)
        );
        params.client_id = Some("client-2".into());
        assert_eq!(
            validate_(&params),
            Err(AuthorizationRequestError::UnknownClient)
        );
        assert_eq!(
            validate(&good_params(), None, &ResourcePolicy::default()),
            Err(AuthorizationRequestError::UnknownClient)
        );
        // Checked before anything else.
        let bare = AuthorizationParams {
            client_id: Some("nobody".into()),
            ..AuthorizationParams::default()
        };
        assert_eq!(
            validate_(&bare),
            Err(AuthorizationRequestError::UnknownClient)
        );
    }

    #[test]
    fn redirect_uri_is_required_and_checked_before_response_type() {
        let mut params = good_params();
        params.response_type = Some("token".into());
        params.redirect_uri = None;
        assert_eq!(
            validate_(&params),
            Err(AuthorizationRequestError::RedirectUriMissing)
        );
        for refused in [
            "https://evil.example/cb",
            "http://127.0.0.2/",
            "http://localhost.evil.com/",
        ] {
            params.redirect_uri = Some(refused.into());
            let error = validate_(&params).unwrap_err();
            assert_eq!(
                error,
                AuthorizationRequestError::RedirectUri(RedirectUriError::NotRegistered),
                "{refused}"
            );
            assert!(!error.redirectable());
        }
        // Registered for loopback on /callback: another path is not.
        params.redirect_uri = Some("http://127.0.0.1:40000/elsewhere".into());
        assert!(matches!(
            validate_(&params),
            Err(AuthorizationRequestError::RedirectUri(_))
        ));
    }

    /// Issue 10, item 9: a client registered only with an https redirect URI
    /// used to be handed codes for any loopback URI.
    #[test]
    fn a_web_client_gets_no_code_on_a_loopback_redirect() {
        let web = Client::public(
            "client-1",
            RedirectPolicy::registered(["https://app.example/cb"]),
            ScopePolicy::default(),
        );
        let params = good_params();
        assert_eq!(
            validate(&params, Some(&web), &ResourcePolicy::default()),
            Err(AuthorizationRequestError::RedirectUri(
                RedirectUriError::NotRegistered
            ))
        );
    }

    #[test]
    fn response_type_must_be_code() {
        let mut params = good_params();
        params.response_type = None;
        assert_eq!(
            validate_(&params),
            Err(AuthorizationRequestError::ResponseTypeMissing)
        );
        for bad in ["token", "code id_token", "CODE"] {
            params.response_type = Some(bad.into());
            assert_eq!(
                validate_(&params),
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
                validate_(&params).map(|_| ()),
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
        let valid = validate_(&good_params()).unwrap();
        assert!(valid.verify_code_verifier(VERIFIER));
        assert!(!valid.verify_code_verifier("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl"));
        assert!(!valid.verify_code_verifier(CHALLENGE));
        assert!(!valid.verify_code_verifier(""));
        assert!(!valid.verify_code_verifier("short"));
    }

    #[test]
    fn scope_and_resource_errors_are_redirectable() {
        let params = AuthorizationParams {
            scope: Some("mcp:read unknown".into()),
            ..good_params()
        };
        let error = validate_(&params).unwrap_err();
        assert_eq!(
            error,
            AuthorizationRequestError::InvalidScope(ScopeError::NotAllowed("unknown".into()))
        );
        assert!(error.redirectable());
        let served = ResourcePolicy {
            allowed: vec!["https://other.example/mcp".into()],
            required: false,
        };
        let error = validate(&good_params(), Some(&client()), &served).unwrap_err();
        assert_eq!(error.oauth_error(), "invalid_target");
        assert!(error.redirectable());
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
                RedirectUri(RedirectUriError::Scheme),
                "invalid_request",
                false,
            ),
            (
                RedirectUri(RedirectUriError::NotRegistered),
                "invalid_request",
                false,
            ),
            (DuplicateParameter("state".into()), "invalid_request", false),
            (ResponseTypeMissing, "invalid_request", true),
            (UnsupportedResponseType, "unsupported_response_type", true),
            (PkceMissing, "invalid_request", true),
            (PkceMethod, "invalid_request", true),
            (PkceChallenge, "invalid_request", true),
            (
                InvalidScope(ScopeError::Missing("x".into())),
                "invalid_scope",
                true,
            ),
            (
                InvalidTarget(ResourceError::Malformed),
                "invalid_target",
                true,
            ),
        ];
        for (error, code, redirectable) in table {
            assert_eq!(error.oauth_error(), code, "{error:?}");
            assert_eq!(error.redirectable(), redirectable, "{error:?}");
        }
    }
}

//! Token requests (RFC 6749 §4.1.3, §6, §4.4) and responses (§5.1, §5.2).
//!
//! Every request carries `resource` (RFC 8707) when there is one, and the client
//! authentication of the original grant. Responses become a [`TokenSet`] with an
//! absolute expiry computed from the `now` the caller passes.
//!
//! Parsing is strict where a mistake would be silent (a missing or non-`Bearer`
//! `token_type`, an empty `access_token`) and lenient where servers commonly
//! deviate without harm: `expires_in` may be a JSON integer or a string of digits
//! (Azure AD v1 and others send `"3599"`), `null` counts as absent for optional
//! fields, and a 2xx body carrying `error` but no `access_token` (GitHub answers
//! failed exchanges with 200) is read as the §5.2 error it is.
//!
//! No error message ever contains a token value: fields are reported by name only.

use crate::client_auth;
use crate::entropy::OsEntropy;
use crate::http::{BodyError, HttpRequest, HttpResponse, Purpose};
use crate::registration::ClientCredentials;
use crate::secret::Secret;
pub(crate) use crate::text::server_text;
use serde::{Deserialize, Serialize};
use url::Url;

/// Tokens from one grant, with absolute times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    /// The bearer token.
    pub access_token: Secret,
    /// `Bearer`, or `DPoP` for a token bound to the connection's DPoP key
    /// (compared case-insensitively when parsed, stored in this spelling).
    pub token_type: String,
    /// When the access token expires, in seconds since the epoch; `None` if the server
    /// did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// The refresh token, if one was issued (or kept from an earlier response).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<Secret>,
    /// The granted scope: the response's `scope`, else the requested one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// When these tokens were received (seconds since the epoch).
    pub received_at: u64,
}

/// The `token_type` of a plain bearer token (RFC 6750).
pub const BEARER: &str = "Bearer";

impl TokenSet {
    /// Whether the access token is DPoP-bound (RFC 9449): it is presented as
    /// `Authorization: DPoP …` with a proof, never as a bearer token.
    pub fn is_dpop(&self) -> bool {
        self.token_type
            .eq_ignore_ascii_case(crate::dpop::TOKEN_TYPE)
    }

    /// The `Authorization` header value that presents the access token: `DPoP …`
    /// for a bound token (RFC 9449 §7.1), `Bearer …` otherwise (RFC 6750 §2.1).
    pub fn authorization(&self) -> Secret {
        let scheme = if self.is_dpop() {
            crate::dpop::TOKEN_TYPE
        } else {
            BEARER
        };
        Secret::new(format!("{scheme} {}", self.access_token.expose()))
    }

    /// Folds a refresh response into the current tokens: a response without a
    /// `refresh_token` keeps the old one (RFC 6749 §6), and one without `scope`
    /// keeps the old scope.
    pub fn refreshed(self, newer: TokenSet) -> TokenSet {
        TokenSet {
            refresh_token: newer.refresh_token.or(self.refresh_token),
            scope: newer.scope.or(self.scope),
            ..newer
        }
    }
}

/// An RFC 6749 §5.2 error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    /// The code or refresh token is invalid, expired, revoked or reused.
    InvalidGrant,
    /// Client authentication failed.
    InvalidClient,
    /// The request is malformed.
    InvalidRequest,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The scope is invalid or exceeds the grant.
    InvalidScope,
    /// Any other code the server sent.
    #[serde(untagged)]
    Other(String),
}

impl OAuthErrorCode {
    /// Parses the `error` string.
    pub fn from_name(name: &str) -> Self {
        match name {
            "invalid_grant" => OAuthErrorCode::InvalidGrant,
            "invalid_client" => OAuthErrorCode::InvalidClient,
            "invalid_request" => OAuthErrorCode::InvalidRequest,
            "unauthorized_client" => OAuthErrorCode::UnauthorizedClient,
            "unsupported_grant_type" => OAuthErrorCode::UnsupportedGrantType,
            "invalid_scope" => OAuthErrorCode::InvalidScope,
            other => OAuthErrorCode::Other(other.to_owned()),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::Other(s) => s,
        }
    }
}

/// The token endpoint did not issue tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// An RFC 6749 §5.2 error response.
    #[error("token request rejected ({status}): {}{}", error.as_str(), description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The OAuth error code.
        error: OAuthErrorCode,
        /// The server's explanation.
        description: Option<String>,
    },
    /// A non-2xx status without an RFC 6749 error body.
    #[error("token endpoint answered HTTP {status} without an OAuth error")]
    UnexpectedStatus {
        /// The HTTP status.
        status: u16,
    },
    /// The body could not be read.
    #[error("token response is unreadable: {0}")]
    Body(BodyError),
    /// The body lacks a required field or has an invalid one.
    #[error("token response is invalid: {0}")]
    Invalid(String),
    /// A token type this client cannot use (`DPoP` when no proof was sent).
    #[error(
        "token type {0} is not supported for this request; Bearer (or DPoP, after a DPoP proof) is"
    )]
    UnsupportedTokenType(String),
    /// A secret-based client has no secret.
    #[error(transparent)]
    ClientAuth(#[from] crate::client_auth::ClientAuthError),
}

/// The authorization-code exchange (RFC 6749 §4.1.3 + PKCE + RFC 8707).
pub fn authorization_code_request(
    token_endpoint: &Url,
    client: &ClientCredentials,
    code: &Secret,
    redirect_uri: &str,
    code_verifier: &Secret,
    resource: Option<&str>,
    now: u64,
) -> Result<HttpRequest, TokenError> {
    let mut form = pairs([
        ("grant_type", "authorization_code"),
        ("code", code.expose()),
        ("redirect_uri", redirect_uri),
        ("code_verifier", code_verifier.expose()),
    ]);
    push_optional(&mut form, "resource", resource);
    token_request(token_endpoint, client, form, Some(now))
}

/// A refresh (RFC 6749 §6) carrying the original grant's resource and scope.
pub fn refresh_request(
    token_endpoint: &Url,
    client: &ClientCredentials,
    refresh_token: &Secret,
    resource: Option<&str>,
    scope: Option<&str>,
    now: u64,
) -> Result<HttpRequest, TokenError> {
    refresh_request_inner(
        token_endpoint,
        client,
        refresh_token,
        resource,
        scope,
        Some(now),
    )
}

pub(crate) fn refresh_request_inner(
    token_endpoint: &Url,
    client: &ClientCredentials,
    refresh_token: &Secret,
    resource: Option<&str>,
    scope: Option<&str>,
    now: Option<u64>,
) -> Result<HttpRequest, TokenError> {
    let mut form = pairs([
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose()),
    ]);
    push_optional(&mut form, "resource", resource);
    push_optional(&mut form, "scope", scope);
    token_request(token_endpoint, client, form, now)
}

/// A client-credentials grant (RFC 6749 §4.4) for machine-to-machine access.
///
/// §4.4 reserves this grant for confidential clients; a client whose method is
/// `none` is still sent as such, and the server's `unauthorized_client` or
/// `invalid_client` answer comes back as a typed [`TokenError::Rejected`].
pub fn client_credentials_request(
    token_endpoint: &Url,
    client: &ClientCredentials,
    scope: Option<&str>,
    resource: Option<&str>,
    now: u64,
) -> Result<HttpRequest, TokenError> {
    client_credentials_request_inner(token_endpoint, client, scope, resource, Some(now))
}

pub(crate) fn client_credentials_request_inner(
    token_endpoint: &Url,
    client: &ClientCredentials,
    scope: Option<&str>,
    resource: Option<&str>,
    now: Option<u64>,
) -> Result<HttpRequest, TokenError> {
    let mut form = pairs([("grant_type", "client_credentials")]);
    push_optional(&mut form, "scope", scope);
    push_optional(&mut form, "resource", resource);
    token_request(token_endpoint, client, form, now)
}

/// The JWT-bearer authorization grant (RFC 7523 §2.1): `assertion` is presented
/// for tokens, with the client's authentication when it has an identity (an
/// anonymous workload client sends none), `scope` and the RFC 8707 `resource`.
#[cfg(feature = "assertion-grants")]
pub fn jwt_bearer_request(
    token_endpoint: &Url,
    client: &ClientCredentials,
    assertion: &Secret,
    scope: Option<&str>,
    resource: Option<&str>,
    now: u64,
) -> Result<HttpRequest, TokenError> {
    let mut form = pairs([
        ("grant_type", crate::assertion::JWT_BEARER_GRANT),
        ("assertion", assertion.expose()),
    ]);
    push_optional(&mut form, "scope", scope);
    push_optional(&mut form, "resource", resource);
    token_request(token_endpoint, client, form, Some(now))
}

/// The issued token of a token-exchange response (RFC 8693 §2.2.1), which must be
/// of `expected_type` (`issued_token_type`). Its `token_type` is not checked:
/// for tokens that are not access tokens it is `N_A`, and nothing depends on it.
#[cfg(feature = "assertion-grants")]
pub fn parse_token_exchange_response(
    response: &HttpResponse,
    expected_type: &str,
) -> Result<Secret, TokenError> {
    let body = success_body(response)?;
    match optional_string(&body, "issued_token_type")? {
        Some(kind) if kind == expected_type => {}
        Some(kind) => {
            return Err(TokenError::Invalid(format!(
                "issued_token_type is {}, not {expected_type}",
                server_text(kind)
            )))
        }
        None => return Err(invalid("issued_token_type is missing")),
    }
    access_token(&body)
}

/// Reads a token response received at `now`; `requested_scope` fills in `scope`
/// when the response omits it (RFC 6749 §5.1: omitted means "as requested").
pub fn parse_token_response(
    response: &HttpResponse,
    now: u64,
    requested_scope: Option<&str>,
) -> Result<TokenSet, TokenError> {
    parse_token_response_with_dpop(response, now, requested_scope, false)
}

/// [`parse_token_response`] for a request that did (`dpop`) or did not carry a
/// DPoP proof. With a proof, a `DPoP` token (RFC 9449 §5) is accepted as well as
/// `Bearer` (a server may decline to bind); without one, a `DPoP` token could not
/// be used and is refused.
pub fn parse_token_response_with_dpop(
    response: &HttpResponse,
    now: u64,
    requested_scope: Option<&str>,
    dpop: bool,
) -> Result<TokenSet, TokenError> {
    let body = success_body(response)?;
    let access_token = access_token(&body)?;
    let token_type = match optional_string(&body, "token_type")? {
        Some(kind) if kind.eq_ignore_ascii_case(BEARER) => BEARER,
        Some(kind) if dpop && kind.eq_ignore_ascii_case(crate::dpop::TOKEN_TYPE) => {
            crate::dpop::TOKEN_TYPE
        }
        Some(kind) => return Err(TokenError::UnsupportedTokenType(server_text(kind))),
        None => return Err(invalid("token_type is missing")),
    };
    let expires_at = expires_in(&body)?.map(|secs| now.saturating_add(secs));
    let refresh_token = optional_string(&body, "refresh_token")?
        .filter(|t| !t.is_empty())
        .map(Secret::new);
    let scope = optional_string(&body, "scope")?
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .or_else(|| requested_scope.map(str::trim).filter(|s| !s.is_empty()))
        .map(str::to_owned);

    Ok(TokenSet {
        access_token,
        token_type: token_type.to_owned(),
        expires_at,
        refresh_token,
        scope,
        received_at: now,
    })
}

fn pairs<const N: usize>(items: [(&str, &str); N]) -> Vec<(String, String)> {
    items
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn push_optional(form: &mut Vec<(String, String)>, name: &str, value: Option<&str>) {
    if let Some(value) = value {
        form.push((name.to_owned(), value.to_owned()));
    }
}

/// Adds the client's authentication to `form` and builds the POST.
pub(crate) fn token_request(
    token_endpoint: &Url,
    client: &ClientCredentials,
    mut form: Vec<(String, String)>,
    now: Option<u64>,
) -> Result<HttpRequest, TokenError> {
    let mut headers = Vec::new();
    let auth = client_auth::ClientAuthentication {
        method: client.auth_method,
        client_id: &client.client_id,
        client_secret: client.client_secret.as_ref(),
        private_key: client.private_key.as_ref(),
        audience: &client.issuer,
        now,
    };
    client_auth::apply_to(&auth, &mut OsEntropy, &mut form, &mut headers)?;
    let request = HttpRequest::post_form(token_endpoint.clone(), Purpose::Token, form);
    Ok(headers.into_iter().fold(request, |request, (name, value)| {
        request.with_header(name, value)
    }))
}

/// The JSON object of a successful token response (RFC 6749 §5.1). A non-2xx
/// answer is its RFC 6749 §5.2 error (or the bare status); so is a 2xx body that
/// carries an `error` and no `access_token`, which some servers send.
fn success_body(
    response: &HttpResponse,
) -> Result<serde_json::Map<String, serde_json::Value>, TokenError> {
    if !response.is_success() {
        return Err(
            error_response(response).unwrap_or(TokenError::UnexpectedStatus {
                status: response.status,
            }),
        );
    }
    let body = response.json_object().map_err(TokenError::Body)?;
    if !body.contains_key("access_token") {
        if let Some(rejected) = rejection(response.status, &body) {
            return Err(rejected);
        }
    }
    Ok(body)
}

/// The response's `access_token`, which must be a non-empty string.
fn access_token(body: &serde_json::Map<String, serde_json::Value>) -> Result<Secret, TokenError> {
    match optional_string(body, "access_token")? {
        Some(token) if !token.is_empty() => Ok(Secret::new(token)),
        Some(_) => Err(invalid("access_token is empty")),
        None => Err(invalid("access_token is missing")),
    }
}

/// An RFC 6749 §5.2 error from a non-2xx response, if the body is one. Error bodies
/// mislabelled as `text/plain` are common, so the content type is not insisted on
/// here; the size cap still is.
fn error_response(response: &HttpResponse) -> Option<TokenError> {
    let body = match response.json_object() {
        Ok(body) => body,
        Err(BodyError::NotJson { .. }) if response.body.len() <= crate::http::MAX_BODY_BYTES => {
            match serde_json::from_slice::<serde_json::Value>(&response.body).ok()? {
                serde_json::Value::Object(body) => body,
                _ => return None,
            }
        }
        Err(_) => return None,
    };
    rejection(response.status, &body)
}

/// `Rejected` when `body` has a string `error`.
fn rejection(status: u16, body: &serde_json::Map<String, serde_json::Value>) -> Option<TokenError> {
    let error = body.get("error")?.as_str()?;
    Some(TokenError::Rejected {
        status,
        error: OAuthErrorCode::from_name(&server_text(error)),
        description: body
            .get("error_description")
            .and_then(serde_json::Value::as_str)
            .map(server_text),
    })
}

fn invalid(reason: &str) -> TokenError {
    TokenError::Invalid(reason.to_owned())
}

/// A string field; `null` or absent is `None`, any other type an error naming the
/// field (never its value).
fn optional_string<'a>(
    body: &'a serde_json::Map<String, serde_json::Value>,
    name: &str,
) -> Result<Option<&'a str>, TokenError> {
    match body.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(TokenError::Invalid(format!("{name} is not a string"))),
    }
}

/// `expires_in` in seconds: a non-negative JSON integer or a string of ASCII digits.
fn expires_in(
    body: &serde_json::Map<String, serde_json::Value>,
) -> Result<Option<u64>, TokenError> {
    let bad = || invalid("expires_in is not a non-negative integer");
    match body.get("expires_in") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            // `3600.0` is still a number of seconds; `as` saturates huge values.
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .map(Some)
            .ok_or_else(bad),
        Some(serde_json::Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            // Digits only, so the one failure left is overflow: saturate, as for
            // `now + expires_in`.
            Ok(Some(s.parse().unwrap_or(u64::MAX)))
        }
        Some(_) => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_auth::{AuthMethod, ClientAuthError};
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;
    const RESOURCE: &str = "https://mcp.example.com/mcp";

    fn endpoint() -> Url {
        Url::parse("https://auth.example.com/token").unwrap()
    }

    fn client(auth_method: AuthMethod, secret: Option<&str>) -> ClientCredentials {
        ClientCredentials {
            issuer: "https://auth.example.com".into(),
            client_id: "s6BhdRkqt3".into(),
            client_secret: secret.map(Secret::new),
            auth_method,
            client_secret_expires_at: None,
            private_key: None,
        }
    }

    fn form(request: &HttpRequest) -> Vec<(String, String)> {
        request.form_pairs()
    }

    fn get<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn ok(body: serde_json::Value) -> HttpResponse {
        HttpResponse::json_body(200, &body)
    }

    #[test]
    fn authorization_code_request_carries_code_verifier_redirect_and_resource() {
        let request = authorization_code_request(
            &endpoint(),
            &client(AuthMethod::None, None),
            &Secret::new("SplxlOBeZQQYbYS6WxSbIA"),
            "http://127.0.0.1:33418/callback",
            &Secret::new("dBjftJeZ4CVP-mJ92K9FLH0GPKWNKwDqLTgpYAn4z5M"),
            Some(RESOURCE),
            NOW,
        )
        .unwrap();
        assert_eq!(request.url, endpoint());
        assert_eq!(request.purpose, Purpose::Token);
        assert_eq!(
            request.header("content-type"),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            form(&request),
            pairs([
                ("grant_type", "authorization_code"),
                ("code", "SplxlOBeZQQYbYS6WxSbIA"),
                ("redirect_uri", "http://127.0.0.1:33418/callback"),
                (
                    "code_verifier",
                    "dBjftJeZ4CVP-mJ92K9FLH0GPKWNKwDqLTgpYAn4z5M"
                ),
                ("resource", RESOURCE),
                ("client_id", "s6BhdRkqt3"),
            ])
        );
        assert_eq!(request.header("authorization"), None);
    }

    #[test]
    fn authorization_code_request_omits_resource_when_there_is_none() {
        let request = authorization_code_request(
            &endpoint(),
            &client(AuthMethod::None, None),
            &Secret::new("c"),
            "https://app.example.com/cb",
            &Secret::new("v"),
            None,
            NOW,
        )
        .unwrap();
        assert_eq!(get(&form(&request), "resource"), None);
    }

    #[test]
    fn refresh_carries_resource_and_scope() {
        let request = refresh_request(
            &endpoint(),
            &client(AuthMethod::None, None),
            &Secret::new("tGzv3JOkF0XG5Qx2TlKWIA"),
            Some(RESOURCE),
            Some("files:read offline_access"),
            NOW,
        )
        .unwrap();
        assert_eq!(
            form(&request),
            pairs([
                ("grant_type", "refresh_token"),
                ("refresh_token", "tGzv3JOkF0XG5Qx2TlKWIA"),
                ("resource", RESOURCE),
                ("scope", "files:read offline_access"),
                ("client_id", "s6BhdRkqt3"),
            ])
        );
    }

    #[test]
    fn refresh_omits_scope_and_resource_when_absent() {
        let request = refresh_request(
            &endpoint(),
            &client(AuthMethod::None, None),
            &Secret::new("rt"),
            None,
            None,
            NOW,
        )
        .unwrap();
        let pairs = form(&request);
        assert_eq!(get(&pairs, "scope"), None);
        assert_eq!(get(&pairs, "resource"), None);
    }

    #[test]
    fn refresh_carries_client_secret_with_basic() {
        let request = refresh_request(
            &endpoint(),
            &client(
                AuthMethod::ClientSecretBasic,
                Some("7Fjfp0ZBr1KtDRbnfVdmIw"),
            ),
            &Secret::new("rt"),
            Some(RESOURCE),
            None,
            NOW,
        )
        .unwrap();
        assert_eq!(
            request.header("authorization"),
            Some("Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3")
        );
        let pairs = form(&request);
        assert_eq!(get(&pairs, "client_id"), None);
        assert_eq!(get(&pairs, "client_secret"), None);
        assert_eq!(get(&pairs, "resource"), Some(RESOURCE));
    }

    #[test]
    fn refresh_carries_client_secret_with_post() {
        let request = refresh_request(
            &endpoint(),
            &client(AuthMethod::ClientSecretPost, Some("7Fjfp0ZBr1KtDRbnfVdmIw")),
            &Secret::new("rt"),
            Some(RESOURCE),
            None,
            NOW,
        )
        .unwrap();
        let pairs = form(&request);
        assert_eq!(get(&pairs, "client_id"), Some("s6BhdRkqt3"));
        assert_eq!(get(&pairs, "client_secret"), Some("7Fjfp0ZBr1KtDRbnfVdmIw"));
        assert_eq!(request.header("authorization"), None);
    }

    #[test]
    fn requests_fail_when_a_secret_method_has_no_secret() {
        let err = refresh_request(
            &endpoint(),
            &client(AuthMethod::ClientSecretPost, None),
            &Secret::new("rt"),
            None,
            None,
            NOW,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            TokenError::ClientAuth(ClientAuthError::SecretRequired { .. })
        ));
        let err = client_credentials_request(
            &endpoint(),
            &client(AuthMethod::ClientSecretBasic, None),
            None,
            None,
            NOW,
        )
        .unwrap_err();
        assert!(matches!(err, TokenError::ClientAuth(_)));
    }

    #[test]
    fn client_credentials_request_carries_scope_resource_and_secret() {
        let request = client_credentials_request(
            &endpoint(),
            &client(AuthMethod::ClientSecretPost, Some("s")),
            Some("mcp:tools"),
            Some(RESOURCE),
            NOW,
        )
        .unwrap();
        assert_eq!(
            form(&request),
            pairs([
                ("grant_type", "client_credentials"),
                ("scope", "mcp:tools"),
                ("resource", RESOURCE),
                ("client_id", "s6BhdRkqt3"),
                ("client_secret", "s"),
            ])
        );
    }

    #[test]
    fn parses_the_rfc_6749_example_response() {
        let tokens = parse_token_response(
            &ok(json!({
                "access_token": "2YotnFZFEjr1zCsicMWpAA",
                "token_type": "example",
                "expires_in": 3600,
            })),
            NOW,
            None,
        );
        // RFC 6749 §5.1's example uses token_type "example", which is not Bearer.
        assert_eq!(
            tokens,
            Err(TokenError::UnsupportedTokenType("example".into()))
        );

        let tokens = parse_token_response(
            &ok(json!({
                "access_token": "2YotnFZFEjr1zCsicMWpAA",
                "token_type": "bearer",
                "expires_in": 3600,
                "refresh_token": "tGzv3JOkF0XG5Qx2TlKWIA",
                "scope": "files:read",
            })),
            NOW,
            Some("ignored"),
        )
        .unwrap();
        assert_eq!(
            tokens,
            TokenSet {
                access_token: Secret::new("2YotnFZFEjr1zCsicMWpAA"),
                token_type: "Bearer".into(),
                expires_at: Some(NOW + 3600),
                refresh_token: Some(Secret::new("tGzv3JOkF0XG5Qx2TlKWIA")),
                scope: Some("files:read".into()),
                received_at: NOW,
            }
        );
    }

    #[test]
    fn missing_scope_means_the_requested_scope() {
        let body = json!({"access_token": "at", "token_type": "Bearer"});
        let tokens = parse_token_response(&ok(body.clone()), NOW, Some("a b")).unwrap();
        assert_eq!(tokens.scope.as_deref(), Some("a b"));
        assert_eq!(tokens.expires_at, None);
        assert_eq!(tokens.refresh_token, None);
        let tokens = parse_token_response(&ok(body), NOW, None).unwrap();
        assert_eq!(tokens.scope, None);
    }

    #[test]
    fn expires_in_forms() {
        let table = [
            (json!(3600), Ok(Some(NOW + 3600))),
            (json!("3599"), Ok(Some(NOW + 3599))),
            (json!(0), Ok(Some(NOW))),
            (json!(3600.0), Ok(Some(NOW + 3600))),
            (json!(null), Ok(None)),
            (json!(u64::MAX), Ok(Some(u64::MAX))),
            (json!("99999999999999999999999"), Ok(Some(u64::MAX))),
            (json!(-1), Err(())),
            (json!("-5"), Err(())),
            (json!("soon"), Err(())),
            (json!(""), Err(())),
            (json!(true), Err(())),
        ];
        for (expires_in, want) in table {
            let got = parse_token_response(
                &ok(
                    json!({"access_token": "at", "token_type": "Bearer", "expires_in": expires_in}),
                ),
                NOW,
                None,
            );
            match (got, want) {
                (Ok(t), Ok(at)) => assert_eq!(t.expires_at, at, "{expires_in}"),
                (Err(TokenError::Invalid(_)), Err(())) => {}
                (got, want) => panic!("{expires_in}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn invalid_success_bodies_are_typed_and_never_echo_tokens() {
        let table = [
            json!({"token_type": "Bearer"}),
            json!({"access_token": "", "token_type": "Bearer"}),
            json!({"access_token": 42, "token_type": "Bearer"}),
            json!({"access_token": "SECRET-AT"}),
            json!({"access_token": "SECRET-AT", "token_type": 1}),
            json!({"access_token": "SECRET-AT", "token_type": "Bearer", "refresh_token": ["SECRET-RT"]}),
            json!({"access_token": "SECRET-AT", "token_type": "Bearer", "scope": 7}),
        ];
        for body in table {
            let err = parse_token_response(&ok(body.clone()), NOW, None).unwrap_err();
            assert!(matches!(err, TokenError::Invalid(_)), "{body}: {err:?}");
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains("SECRET"), "{shown}");
        }
    }

    #[test]
    fn token_type_is_compared_case_insensitively_and_stored_as_bearer() {
        for kind in ["Bearer", "bearer", "BEARER"] {
            let tokens = parse_token_response(
                &ok(json!({"access_token": "at", "token_type": kind})),
                NOW,
                None,
            )
            .unwrap();
            assert_eq!(tokens.token_type, "Bearer");
        }
        assert_eq!(
            parse_token_response(
                &ok(json!({"access_token": "at", "token_type": "DPoP"})),
                NOW,
                None
            ),
            Err(TokenError::UnsupportedTokenType("DPoP".into()))
        );
    }

    #[test]
    fn after_a_dpop_proof_a_dpop_or_a_bearer_token_is_accepted() {
        let parse = |kind: &str| {
            parse_token_response_with_dpop(
                &ok(json!({"access_token": "at", "token_type": kind})),
                NOW,
                None,
                true,
            )
        };
        let bound = parse("dpop").unwrap();
        assert_eq!(bound.token_type, "DPoP");
        assert!(bound.is_dpop());
        assert_eq!(bound.authorization().expose(), "DPoP at");
        let bearer = parse("Bearer").unwrap();
        assert!(!bearer.is_dpop());
        assert_eq!(bearer.authorization().expose(), "Bearer at");
        assert_eq!(
            parse("N_A"),
            Err(TokenError::UnsupportedTokenType("N_A".into()))
        );
    }

    #[test]
    fn unreadable_bodies_are_body_errors() {
        let html = HttpResponse::new(
            200,
            vec![("Content-Type".into(), "text/html".into())],
            "<html>",
        );
        assert!(matches!(
            parse_token_response(&html, NOW, None),
            Err(TokenError::Body(BodyError::NotJson { .. }))
        ));
        let broken = HttpResponse::new(
            200,
            vec![("Content-Type".into(), "application/json".into())],
            r#"{"access_token": "SECRET-AT", "#,
        );
        let err = parse_token_response(&broken, NOW, None).unwrap_err();
        assert!(matches!(err, TokenError::Body(BodyError::Json { .. })));
        assert!(!err.to_string().contains("SECRET"));
        assert!(matches!(
            parse_token_response(&ok(json!(["at"])), NOW, None),
            Err(TokenError::Body(BodyError::Json { .. }))
        ));
    }

    #[test]
    fn invalid_grant_is_typed() {
        let response = HttpResponse::json_body(
            400,
            &json!({"error": "invalid_grant", "error_description": "refresh token revoked"}),
        );
        assert_eq!(
            parse_token_response(&response, NOW, None),
            Err(TokenError::Rejected {
                status: 400,
                error: OAuthErrorCode::InvalidGrant,
                description: Some("refresh token revoked".into()),
            })
        );
    }

    #[test]
    fn error_codes_round_trip() {
        for name in [
            "invalid_grant",
            "invalid_client",
            "invalid_request",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "temporarily_unavailable",
        ] {
            let code = OAuthErrorCode::from_name(name);
            assert_eq!(code.as_str(), name);
            assert_eq!(serde_json::to_value(&code).unwrap(), json!(name));
            let back: OAuthErrorCode = serde_json::from_value(json!(name)).unwrap();
            assert_eq!(back, code);
        }
        assert_eq!(
            OAuthErrorCode::from_name("server_error"),
            OAuthErrorCode::Other("server_error".into())
        );
    }

    #[test]
    fn invalid_client_on_401_is_typed_even_when_mislabelled_as_text() {
        let response = HttpResponse::new(
            401,
            vec![("Content-Type".into(), "text/plain".into())],
            r#"{"error":"invalid_client"}"#,
        );
        assert_eq!(
            parse_token_response(&response, NOW, None),
            Err(TokenError::Rejected {
                status: 401,
                error: OAuthErrorCode::InvalidClient,
                description: None,
            })
        );
    }

    #[test]
    fn error_in_a_200_body_is_a_rejection() {
        let response = ok(
            json!({"error": "bad_verification_code", "error_description": "The code passed is incorrect or expired."}),
        );
        assert!(matches!(
            parse_token_response(&response, NOW, None),
            Err(TokenError::Rejected { status: 200, error: OAuthErrorCode::Other(ref e), .. }) if e == "bad_verification_code"
        ));
    }

    #[test]
    fn non_2xx_without_an_oauth_error_is_unexpected_status() {
        let table = [
            HttpResponse::new(
                502,
                vec![("Content-Type".into(), "text/html".into())],
                "<h1>Bad gateway</h1>",
            ),
            HttpResponse::json_body(500, &json!({"message": "boom"})),
            HttpResponse::json_body(400, &json!({"error": 5})),
            HttpResponse::json_body(400, &json!("invalid_grant")),
            HttpResponse::new(400, vec![], ""),
        ];
        for response in table {
            assert_eq!(
                parse_token_response(&response, NOW, None),
                Err(TokenError::UnexpectedStatus {
                    status: response.status
                }),
                "{response:?}"
            );
        }
    }

    #[test]
    fn server_error_descriptions_are_sanitized_and_bounded() {
        let long = format!("line1\nline2{}", "x".repeat(1000));
        let response = HttpResponse::json_body(
            400,
            &json!({"error": "invalid_request", "error_description": long}),
        );
        let Err(TokenError::Rejected {
            description: Some(d),
            ..
        }) = parse_token_response(&response, NOW, None)
        else {
            panic!("expected a rejection");
        };
        assert!(!d.contains('\n'));
        assert!(d.chars().count() <= 301, "{}", d.len());
    }

    #[test]
    fn expiry_saturates_instead_of_overflowing() {
        let tokens = parse_token_response(
            &ok(json!({"access_token": "at", "token_type": "Bearer", "expires_in": 10})),
            u64::MAX - 1,
            None,
        )
        .unwrap();
        assert_eq!(tokens.expires_at, Some(u64::MAX));
    }

    fn tokens(access: &str, refresh: Option<&str>, scope: Option<&str>, at: u64) -> TokenSet {
        TokenSet {
            access_token: Secret::new(access),
            token_type: "Bearer".into(),
            expires_at: Some(at + 3600),
            refresh_token: refresh.map(Secret::new),
            scope: scope.map(str::to_owned),
            received_at: at,
        }
    }

    #[test]
    fn refresh_keeps_old_refresh_token_when_response_omits_it() {
        let old = tokens("at1", Some("rt1"), Some("a"), 1);
        let merged = old.refreshed(tokens("at2", None, Some("a"), 2));
        assert_eq!(merged.refresh_token, Some(Secret::new("rt1")));
        assert_eq!(merged.access_token, Secret::new("at2"));
        assert_eq!(merged.received_at, 2);
        assert_eq!(merged.expires_at, Some(3602));
    }

    #[test]
    fn refresh_takes_a_rotated_refresh_token() {
        let old = tokens("at1", Some("rt1"), None, 1);
        let merged = old.refreshed(tokens("at2", Some("rt2"), None, 2));
        assert_eq!(merged.refresh_token, Some(Secret::new("rt2")));
    }

    #[test]
    fn refresh_keeps_old_scope_when_response_omits_it() {
        let old = tokens("at1", Some("rt1"), Some("files:read"), 1);
        assert_eq!(
            old.clone()
                .refreshed(tokens("at2", None, None, 2))
                .scope
                .as_deref(),
            Some("files:read")
        );
        assert_eq!(
            old.refreshed(tokens("at2", None, Some("narrower"), 2))
                .scope
                .as_deref(),
            Some("narrower")
        );
    }

    #[test]
    fn refresh_does_not_keep_an_expiry_the_new_token_lacks() {
        let old = tokens("at1", Some("rt1"), None, 1);
        let mut newer = tokens("at2", None, None, 2);
        newer.expires_at = None;
        assert_eq!(old.refreshed(newer).expires_at, None);
    }

    #[test]
    fn debug_of_tokens_hides_token_values() {
        let shown = format!("{:?}", tokens("SECRET-AT", Some("SECRET-RT"), None, 1));
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}

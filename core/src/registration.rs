//! Getting a `client_id`, in the MCP priority order: a pre-registered client for
//! this authorization server, a Client ID Metadata Document, RFC 7591 dynamic
//! registration, and finally telling the user to register one by hand (MCP
//! 2026-07-28 "Client Registration"; RFC 7591 §2, §3.2; OpenID Connect Dynamic
//! Client Registration 1.0 §2 for `application_type`;
//! draft-ietf-oauth-client-id-metadata-document §3 for client ID URLs).
//!
//! Credentials are bound to the issuer of the AS that issued them ("Authorization
//! Server Binding"): a pre-registered client whose issuer is set is only used with
//! that exact issuer string, and an issuer-exact entry wins over an issuer-less
//! one. An issuer-less entry is a *public* client (or a `private_key_jwt` one,
//! whose assertions name their audience): it is used with whatever AS the MCP
//! server names. An issuer-less entry with a `client_secret` is refused
//! ([`RegistrationError::IssuerRequired`]): any MCP server, hostile ones included,
//! could otherwise name an AS of its choosing and receive the secret. A Client ID Metadata Document URL that is not a valid client ID URL is not
//! used (registration falls through to DCR) rather than sent to a server that would
//! reject it.

use crate::client_auth::{self, AuthMethod, ClientAuthError, ClientKey};
use crate::discovery::AuthorizationServerMetadata;
use crate::http::{BodyError, HttpRequest, HttpResponse, Purpose};
use crate::loopback::is_loopback;
use crate::secret::Secret;
use crate::token::server_text;
use serde::{Deserialize, Serialize};
use url::Url;

/// Client credentials, bound to the one authorization server that issued them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientCredentials {
    /// The issuer these credentials belong to; never used with another AS.
    pub issuer: String,
    /// The client identifier.
    pub client_id: String,
    /// The client secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// How to authenticate at the token endpoint.
    pub auth_method: AuthMethod,
    /// When the secret expires (seconds since the epoch); absent or 0 means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
    /// The signing key, for `private_key_jwt` clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<ClientKey>,
}

/// A client the user or app registered beforehand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreRegisteredClient {
    /// The issuer it was registered with. `None` means "whatever AS this server
    /// uses", which only a client without a `client_secret` may say: a secret is
    /// never sent to an authorization server it was not registered with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The client identifier.
    pub client_id: String,
    /// The secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// A fixed auth method; otherwise chosen from the AS metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthMethod>,
    /// The client's signing key, for `private_key_jwt` (RFC 7523).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<ClientKey>,
}

/// `native` for loopback redirect URIs, `web` for remote https ones (OIDC Registration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationType {
    /// Desktop/CLI apps receiving the callback on loopback.
    Native,
    /// Backends receiving the callback on an https URL.
    Web,
}

/// What the client sends to register itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientMetadata {
    /// Shown to the user on the consent screen.
    pub client_name: String,
    /// Exactly the redirect URI(s) the client will use.
    pub redirect_uris: Vec<String>,
    /// `authorization_code` and `refresh_token`.
    pub grant_types: Vec<String>,
    /// `code`.
    pub response_types: Vec<String>,
    /// `none` for public clients.
    pub token_endpoint_auth_method: String,
    /// Native or web, from the redirect URI.
    pub application_type: ApplicationType,
    /// Scopes the client intends to request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The next registration step for an authorization server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationPlan {
    /// Use these credentials as they are.
    Known(ClientCredentials),
    /// Use the Client ID Metadata Document URL as `client_id` (auth method `none`).
    ClientIdMetadataDocument(ClientCredentials),
    /// POST this RFC 7591 request.
    Dynamic(HttpRequest),
    /// Nothing automatic is possible: the user must register a client by hand.
    ManualRequired,
}

/// Registration failed or is impossible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// 401/403 from the registration endpoint: registration is closed.
    #[error("registration refused ({status}) by {issuer}: register an OAuth app with this server yourself and use the manual preset")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The authorization server.
        issuer: String,
    },
    /// The server rejected the metadata (RFC 7591 §3.2.2), e.g. `invalid_redirect_uri`.
    #[error("registration rejected by {issuer}: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        /// The authorization server.
        issuer: String,
        /// The RFC 7591 error code.
        error: String,
        /// The server's explanation.
        description: Option<String>,
    },
    /// No pre-registered client, no usable CIMD, no registration endpoint.
    #[error("{issuer} supports neither dynamic client registration nor client ID metadata documents: register an OAuth app with this server yourself and use the manual preset")]
    ManualRequired {
        /// The authorization server.
        issuer: String,
    },
    /// The registration response could not be used.
    #[error("registration response from {issuer} is invalid: {reason}")]
    InvalidResponse {
        /// The authorization server.
        issuer: String,
        /// What is wrong.
        reason: String,
    },
    /// A pre-registered client has a secret but no issuer, so nothing says the AS
    /// the MCP server names is the one it was registered with.
    #[error("pre-registered client {client_id} has a client secret but no issuer, so it is not sent to {issuer}: set the issuer of the authorization server it was registered with (an issuer-less client must be public)")]
    IssuerRequired {
        /// The client.
        client_id: String,
        /// The AS the MCP server named.
        issuer: String,
    },
    /// A pre-registered client cannot authenticate the way the AS demands.
    #[error(transparent)]
    ClientAuth(#[from] crate::client_auth::ClientAuthError),
    /// The registration response body could not be read.
    #[error("registration response from {issuer} is unreadable: {source}")]
    Body {
        /// The authorization server.
        issuer: String,
        /// Why.
        source: BodyError,
    },
}

/// The metadata to register a public client using `redirect_uri`.
pub fn client_metadata(
    client_name: &str,
    redirect_uri: &str,
    scope: Option<&str>,
) -> ClientMetadata {
    ClientMetadata {
        client_name: client_name.to_owned(),
        redirect_uris: vec![redirect_uri.to_owned()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        response_types: vec!["code".into()],
        token_endpoint_auth_method: AuthMethod::None.as_str().to_owned(),
        application_type: application_type(redirect_uri),
        scope: scope
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    }
}

/// The `token_endpoint_auth_method` to register with (RFC 7591 §2): one the server
/// lists in `token_endpoint_auth_methods_supported`, since a server refuses a
/// registration asking for a method it does not accept. `none` (a public client,
/// which is what a native app is) when listed, or when nothing is listed (RFC 8414
/// would read that as Basic, but servers that omit the list commonly accept public
/// clients, and asking for Basic would leave the client with a secret to keep);
/// otherwise `client_secret_basic`, then `client_secret_post`: the server then
/// issues a secret, which is kept with the client.
pub fn registration_auth_method(
    metadata: &AuthorizationServerMetadata,
) -> Result<AuthMethod, ClientAuthError> {
    let Some(listed) = metadata
        .token_endpoint_auth_methods_supported
        .as_deref()
        .filter(|list| !list.is_empty())
    else {
        return Ok(AuthMethod::None);
    };
    [
        AuthMethod::None,
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
    ]
    .into_iter()
    .find(|method| listed.iter().any(|m| m == method.as_str()))
    .ok_or_else(|| ClientAuthError::NoSupportedMethod {
        advertised: listed.join(", "),
    })
}

/// OIDC Registration §2: `native` for loopback redirect URIs (RFC 8252 §7.3, which
/// includes locally-served web apps on `localhost`) and for private-use URI schemes
/// (RFC 8252 §7.1); `web` for everything else.
fn application_type(redirect_uri: &str) -> ApplicationType {
    match Url::parse(redirect_uri) {
        Ok(url) if is_loopback(&url) => ApplicationType::Native,
        Ok(url) if !matches!(url.scheme(), "http" | "https") => ApplicationType::Native,
        _ => ApplicationType::Web,
    }
}

/// Decides how to get a client for `metadata`'s AS, in the MCP priority order.
/// `preregistered` entries whose issuer is set and differs are skipped; the auth
/// method of a pre-registered client without one is chosen from the AS metadata.
pub fn plan(
    metadata: &AuthorizationServerMetadata,
    preregistered: &[PreRegisteredClient],
    client_metadata_url: Option<&str>,
    request: &ClientMetadata,
) -> Result<RegistrationPlan, RegistrationError> {
    let for_this_issuer = preregistered
        .iter()
        .find(|c| c.issuer.as_deref() == Some(metadata.issuer.as_str()))
        .or_else(|| preregistered.iter().find(|c| c.issuer.is_none()));
    if let Some(client) = for_this_issuer {
        if client.issuer.is_none() && client.client_secret.is_some() {
            return Err(RegistrationError::IssuerRequired {
                client_id: server_text(&client.client_id),
                issuer: server_text(&metadata.issuer),
            });
        }
        let auth_method = match client.auth_method {
            Some(method) => method,
            None => client_auth::choose_for(
                metadata.token_endpoint_auth_methods_supported.as_deref(),
                client.client_secret.is_some(),
                client.private_key.is_some(),
            )?,
        };
        match auth_method {
            AuthMethod::None => {}
            AuthMethod::PrivateKeyJwt if client.private_key.is_none() => {
                return Err(ClientAuthError::KeyRequired.into())
            }
            AuthMethod::PrivateKeyJwt => {}
            _ if client.client_secret.is_none() => {
                return Err(ClientAuthError::SecretRequired {
                    advertised: auth_method.as_str().to_owned(),
                }
                .into())
            }
            _ => {}
        }
        return Ok(RegistrationPlan::Known(ClientCredentials {
            issuer: metadata.issuer.clone(),
            client_id: client.client_id.clone(),
            client_secret: client.client_secret.clone(),
            auth_method,
            client_secret_expires_at: None,
            private_key: client.private_key.clone(),
        }));
    }

    if metadata.client_id_metadata_document_supported {
        if let Some(url) = client_metadata_url.filter(|u| is_client_id_metadata_url(u)) {
            return Ok(RegistrationPlan::ClientIdMetadataDocument(
                ClientCredentials {
                    issuer: metadata.issuer.clone(),
                    client_id: url.to_owned(),
                    client_secret: None,
                    auth_method: AuthMethod::None,
                    client_secret_expires_at: None,
                    private_key: None,
                },
            ));
        }
    }

    if let Some(endpoint) = &metadata.registration_endpoint {
        let mut request = request.clone();
        request.token_endpoint_auth_method =
            registration_auth_method(metadata)?.as_str().to_owned();
        return Ok(RegistrationPlan::Dynamic(HttpRequest::post_json(
            endpoint.clone(),
            Purpose::Registration,
            &request,
        )));
    }

    Ok(RegistrationPlan::ManualRequired)
}

/// Reads a registration response into credentials bound to `metadata.issuer`.
///
/// RFC 7591 §3.2.1 answers `201 Created`; `200` is accepted too because several
/// servers send it. A `token_endpoint_auth_method` this client implements is used
/// as registered; an absent or unknown one is chosen from the AS metadata, given
/// whether a secret came back.
pub fn parse_registration_response(
    metadata: &AuthorizationServerMetadata,
    response: &HttpResponse,
) -> Result<ClientCredentials, RegistrationError> {
    let issuer = || metadata.issuer.clone();
    let invalid = |reason: &str| RegistrationError::InvalidResponse {
        issuer: issuer(),
        reason: reason.to_owned(),
    };
    let body = |response: &HttpResponse| {
        response
            .json_object()
            .map_err(|source| RegistrationError::Body {
                issuer: issuer(),
                source,
            })
    };

    match response.status {
        200 | 201 => {}
        401 | 403 => {
            return Err(RegistrationError::Refused {
                status: response.status,
                issuer: issuer(),
            })
        }
        400 => {
            let body = body(response)?;
            return Err(match body.get("error").and_then(|e| e.as_str()) {
                Some(error) => RegistrationError::Rejected {
                    issuer: issuer(),
                    error: server_text(error),
                    description: body
                        .get("error_description")
                        .and_then(|d| d.as_str())
                        .map(server_text),
                },
                None => invalid("HTTP 400 without an RFC 7591 error code"),
            });
        }
        status => {
            return Err(invalid(&format!(
                "unexpected HTTP status {status} (expected 201)"
            )))
        }
    }

    let body = body(response)?;
    let string = |name: &str| match body.get(name) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(invalid(&format!("{name} is not a string"))),
    };

    let client_id = match string("client_id")? {
        Some(id) if !id.is_empty() => id.to_owned(),
        Some(_) => return Err(invalid("client_id is empty")),
        None => return Err(invalid("client_id is missing")),
    };
    let client_secret = string("client_secret")?
        .filter(|s| !s.is_empty())
        .map(Secret::new);
    let client_secret_expires_at =
        match body.get("client_secret_expires_at") {
            None | Some(serde_json::Value::Null) => None,
            Some(value) => Some(value.as_u64().ok_or_else(|| {
                invalid("client_secret_expires_at is not a non-negative integer")
            })?),
        };
    // A registration carries no key of ours, so `private_key_jwt` is as unusable
    // here as a method this client does not know.
    let auth_method = match string("token_endpoint_auth_method")?
        .and_then(AuthMethod::from_name)
        .filter(|m| *m != AuthMethod::PrivateKeyJwt)
    {
        Some(method) => {
            if method != AuthMethod::None && client_secret.is_none() {
                return Err(invalid(&format!(
                    "token_endpoint_auth_method is {} but no client_secret was issued",
                    method.as_str()
                )));
            }
            method
        }
        None => client_auth::choose(
            metadata.token_endpoint_auth_methods_supported.as_deref(),
            client_secret.is_some(),
        )?,
    };

    Ok(ClientCredentials {
        issuer: issuer(),
        client_id,
        client_secret,
        auth_method,
        client_secret_expires_at,
        private_key: None,
    })
}

/// Whether a `client_id` is a Client ID Metadata Document URL
/// (draft-ietf-oauth-client-id-metadata-document §3): `https`, a host, a path other
/// than `/`, no fragment, no user info, and no `.` or `..` path segments.
pub fn is_client_id_metadata_url(client_id: &str) -> bool {
    let Ok(url) = Url::parse(client_id) else {
        return false;
    };
    url.scheme() == "https"
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
        && !client_id.contains('#')
        && url.path() != "/"
        && !url.path().is_empty()
        && !has_dot_segment(client_id)
}

/// Looks at the path as written: `Url::parse` resolves dot segments away, which
/// would hide exactly what the draft forbids.
fn has_dot_segment(raw: &str) -> bool {
    let after_scheme = raw.split_once("://").map_or(raw, |(_, rest)| rest);
    let path_and_more = after_scheme
        .find('/')
        .map_or("", |start| after_scheme.get(start..).unwrap_or(""));
    let path = path_and_more.split(['?', '#']).next().unwrap_or("");
    // WHATWG URL parsing treats `\\` like `/` in https URLs.
    path.split(['/', '\\']).any(|segment| {
        let segment = segment.to_ascii_lowercase().replace("%2e", ".");
        segment == "." || segment == ".."
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ISSUER: &str = "https://auth.example.com";
    const CIMD: &str = "https://app.example.com/oauth/client-metadata.json";

    fn as_metadata() -> AuthorizationServerMetadata {
        AuthorizationServerMetadata {
            issuer: ISSUER.into(),
            authorization_endpoint: Url::parse("https://auth.example.com/authorize").unwrap(),
            token_endpoint: Url::parse("https://auth.example.com/token").unwrap(),
            registration_endpoint: Some(Url::parse("https://auth.example.com/register").unwrap()),
            scopes_supported: None,
            code_challenge_methods_supported: Some(vec!["S256".into()]),
            token_endpoint_auth_methods_supported: None,
            grant_types_supported: None,
            client_id_metadata_document_supported: false,
            authorization_response_iss_parameter_supported: false,
            revocation_endpoint: None,
        }
    }

    fn request() -> ClientMetadata {
        client_metadata("Example MCP Client", "http://127.0.0.1:3000/callback", None)
    }

    fn prereg(issuer: Option<&str>, id: &str, secret: Option<&str>) -> PreRegisteredClient {
        PreRegisteredClient {
            issuer: issuer.map(str::to_owned),
            client_id: id.into(),
            client_secret: secret.map(Secret::new),
            auth_method: None,
            private_key: None,
        }
    }

    #[test]
    fn client_metadata_registers_a_public_client_that_wants_refresh_tokens() {
        let m = client_metadata(
            "Example MCP Client",
            "http://127.0.0.1:3000/callback",
            Some(" files:read "),
        );
        assert_eq!(
            serde_json::to_value(&m).unwrap(),
            json!({
                "client_name": "Example MCP Client",
                "redirect_uris": ["http://127.0.0.1:3000/callback"],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
                "application_type": "native",
                "scope": "files:read",
            })
        );
        assert_eq!(
            client_metadata("x", "https://app.example.com/cb", Some("  ")).scope,
            None
        );
    }

    #[test]
    fn registration_asks_for_a_method_the_server_lists() {
        let table: &[(Option<&[&str]>, Option<AuthMethod>)] = &[
            (None, Some(AuthMethod::None)),
            (Some(&[]), Some(AuthMethod::None)),
            (
                Some(&["client_secret_basic", "none"]),
                Some(AuthMethod::None),
            ),
            (
                Some(&["client_secret_post", "client_secret_basic"]),
                Some(AuthMethod::ClientSecretBasic),
            ),
            (
                Some(&["client_secret_post", "private_key_jwt"]),
                Some(AuthMethod::ClientSecretPost),
            ),
            (Some(&["private_key_jwt"]), None),
        ];
        for (listed, want) in table {
            let mut metadata = as_metadata();
            metadata.token_endpoint_auth_methods_supported =
                listed.map(|l| l.iter().map(|m| m.to_string()).collect());
            let planned = plan(&metadata, &[], None, &request());
            match (planned, want) {
                (Ok(RegistrationPlan::Dynamic(sent)), Some(want)) => {
                    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
                    assert_eq!(
                        body["token_endpoint_auth_method"],
                        want.as_str(),
                        "{listed:?}"
                    );
                }
                (
                    Err(RegistrationError::ClientAuth(ClientAuthError::NoSupportedMethod {
                        ..
                    })),
                    None,
                ) => {}
                (got, _) => panic!("{listed:?}: {got:?}"),
            }
        }
    }

    #[test]
    fn a_registration_with_a_secret_method_keeps_the_issued_secret() {
        let mut metadata = as_metadata();
        metadata.token_endpoint_auth_methods_supported = Some(vec!["client_secret_post".into()]);
        let response = HttpResponse::json_body(
            201,
            &json!({"client_id": "c1", "client_secret": "s1", "token_endpoint_auth_method": "client_secret_post"}),
        );
        let client = parse_registration_response(&metadata, &response).unwrap();
        assert_eq!(client.auth_method, AuthMethod::ClientSecretPost);
        assert_eq!(client.client_secret, Some(Secret::new("s1")));
    }

    #[test]
    fn application_type_table() {
        let table = [
            ("http://127.0.0.1:3000/callback", ApplicationType::Native),
            ("http://localhost:3000/callback", ApplicationType::Native),
            ("http://[::1]:8080/cb", ApplicationType::Native),
            ("https://localhost/cb", ApplicationType::Native),
            ("com.example.app:/oauth2redirect", ApplicationType::Native),
            (
                "https://app.example.com/oauth/callback",
                ApplicationType::Web,
            ),
            ("http://127.0.0.1.evil.com/cb", ApplicationType::Web),
            ("not a url", ApplicationType::Web),
        ];
        for (uri, want) in table {
            assert_eq!(
                client_metadata("x", uri, None).application_type,
                want,
                "{uri}"
            );
        }
    }

    #[test]
    fn plan_prefers_a_preregistered_client_for_this_issuer() {
        let mut metadata = as_metadata();
        metadata.client_id_metadata_document_supported = true;
        let clients = [
            prereg(Some("https://other.example.com"), "other", Some("x")),
            prereg(None, "wildcard", None),
            prereg(Some(ISSUER), "exact", Some("s3")),
        ];
        let plan = plan(&metadata, &clients, Some(CIMD), &request()).unwrap();
        assert_eq!(
            plan,
            RegistrationPlan::Known(ClientCredentials {
                issuer: ISSUER.into(),
                client_id: "exact".into(),
                client_secret: Some(Secret::new("s3")),
                auth_method: AuthMethod::ClientSecretBasic,
                client_secret_expires_at: None,
                private_key: None,
            })
        );
    }

    #[test]
    fn plan_uses_an_issuerless_public_client_with_any_issuer() {
        let mut metadata = as_metadata();
        metadata.token_endpoint_auth_methods_supported =
            Some(vec!["client_secret_post".into(), "none".into()]);
        let clients = [prereg(None, "abc", None)];
        let Ok(RegistrationPlan::Known(creds)) = plan(&metadata, &clients, None, &request()) else {
            panic!("expected a known client");
        };
        assert_eq!(creds.auth_method, AuthMethod::None);
        assert_eq!(creds.issuer, ISSUER);
    }

    #[test]
    fn plan_never_binds_an_issuerless_secret_to_whatever_issuer_the_server_names() {
        let mut metadata = as_metadata();
        metadata.issuer = "https://attacker.example".into();
        let clients = [prereg(None, "abc", Some("s3cret"))];
        let error = plan(&metadata, &clients, None, &request()).unwrap_err();
        assert_eq!(
            error,
            RegistrationError::IssuerRequired {
                client_id: "abc".into(),
                issuer: "https://attacker.example".into()
            }
        );
        assert_eq!(
            crate::Error::from(error.clone()).code(),
            "client_issuer_required"
        );
        assert!(!error.to_string().contains("s3cret"));
        // Bound to its issuer, the same client is used there and only there.
        let bound = [prereg(Some(ISSUER), "abc", Some("s3cret"))];
        assert!(matches!(
            plan(&as_metadata(), &bound, None, &request()),
            Ok(RegistrationPlan::Known(_))
        ));
        assert!(matches!(
            plan(&metadata, &bound, None, &request()),
            Ok(RegistrationPlan::Dynamic(_))
        ));
    }

    #[test]
    fn plan_keeps_a_fixed_auth_method() {
        let mut client = prereg(Some(ISSUER), "abc", Some("s"));
        client.auth_method = Some(AuthMethod::ClientSecretPost);
        let Ok(RegistrationPlan::Known(creds)) = plan(&as_metadata(), &[client], None, &request())
        else {
            panic!("expected a known client");
        };
        assert_eq!(creds.auth_method, AuthMethod::ClientSecretPost);
    }

    #[test]
    fn plan_skips_preregistered_clients_of_another_issuer() {
        // Issuers compare as exact strings: a trailing slash is another issuer.
        let clients = [prereg(Some("https://auth.example.com/"), "abc", None)];
        assert!(matches!(
            plan(&as_metadata(), &clients, None, &request()),
            Ok(RegistrationPlan::Dynamic(_))
        ));
    }

    #[test]
    fn plan_reports_a_preregistered_client_that_lacks_a_required_secret() {
        let mut metadata = as_metadata();
        metadata.token_endpoint_auth_methods_supported = Some(vec!["client_secret_basic".into()]);
        let clients = [prereg(Some(ISSUER), "abc", None)];
        assert!(matches!(
            plan(&metadata, &clients, None, &request()),
            Err(RegistrationError::ClientAuth(
                ClientAuthError::SecretRequired { .. }
            ))
        ));
        let mut fixed = prereg(None, "abc", None);
        fixed.auth_method = Some(AuthMethod::ClientSecretBasic);
        assert!(matches!(
            plan(&as_metadata(), &[fixed], None, &request()),
            Err(RegistrationError::ClientAuth(
                ClientAuthError::SecretRequired { .. }
            ))
        ));
    }

    #[test]
    fn plan_uses_a_client_id_metadata_document_when_the_as_supports_it() {
        let mut metadata = as_metadata();
        metadata.client_id_metadata_document_supported = true;
        assert_eq!(
            plan(&metadata, &[], Some(CIMD), &request()).unwrap(),
            RegistrationPlan::ClientIdMetadataDocument(ClientCredentials {
                issuer: ISSUER.into(),
                client_id: CIMD.into(),
                client_secret: None,
                auth_method: AuthMethod::None,
                client_secret_expires_at: None,
                private_key: None,
            })
        );
    }

    #[test]
    fn plan_falls_back_to_dcr_without_cimd_support_or_a_valid_url() {
        let mut supported = as_metadata();
        supported.client_id_metadata_document_supported = true;
        let cases = [
            (as_metadata(), Some(CIMD)),
            (supported.clone(), None),
            (supported, Some("https://app.example.com/")),
        ];
        for (metadata, url) in cases {
            let Ok(RegistrationPlan::Dynamic(req)) = plan(&metadata, &[], url, &request()) else {
                panic!("expected DCR for {url:?}");
            };
            assert_eq!(req.url.as_str(), "https://auth.example.com/register");
            assert_eq!(req.purpose, Purpose::Registration);
            assert_eq!(req.header("content-type"), Some("application/json"));
            let body: ClientMetadata = serde_json::from_slice(&req.body).unwrap();
            assert_eq!(body, request());
        }
    }

    #[test]
    fn plan_asks_for_a_manual_client_when_nothing_automatic_works() {
        let mut metadata = as_metadata();
        metadata.registration_endpoint = None;
        assert_eq!(
            plan(&metadata, &[], Some(CIMD), &request()).unwrap(),
            RegistrationPlan::ManualRequired
        );
    }

    #[test]
    fn parses_the_rfc_7591_example_response() {
        // RFC 7591 §3.2.1, trimmed.
        let response = HttpResponse::json_body(
            201,
            &json!({
                "client_id": "s6BhdRkqt3",
                "client_secret": "cf136dc3c1fc93f31185e5885805d",
                "client_id_issued_at": 2893256800u64,
                "client_secret_expires_at": 2893276800u64,
                "redirect_uris": ["https://client.example.org/callback"],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "client_secret_basic",
            }),
        );
        assert_eq!(
            parse_registration_response(&as_metadata(), &response).unwrap(),
            ClientCredentials {
                issuer: ISSUER.into(),
                client_id: "s6BhdRkqt3".into(),
                client_secret: Some(Secret::new("cf136dc3c1fc93f31185e5885805d")),
                auth_method: AuthMethod::ClientSecretBasic,
                client_secret_expires_at: Some(2893276800),
                private_key: None,
            }
        );
    }

    #[test]
    fn public_client_registration_with_200_is_accepted() {
        let response = HttpResponse::json_body(
            200,
            &json!({"client_id": "abc", "token_endpoint_auth_method": "none", "client_secret": null}),
        );
        let creds = parse_registration_response(&as_metadata(), &response).unwrap();
        assert_eq!(creds.auth_method, AuthMethod::None);
        assert_eq!(creds.client_secret, None);
        assert_eq!(creds.client_secret_expires_at, None);
    }

    #[test]
    fn absent_or_unknown_auth_method_is_chosen_from_as_metadata() {
        let mut metadata = as_metadata();
        metadata.token_endpoint_auth_methods_supported =
            Some(vec!["client_secret_post".into(), "none".into()]);
        let table = [
            (
                json!({"client_id": "a", "client_secret": "s"}),
                AuthMethod::ClientSecretPost,
            ),
            (json!({"client_id": "a"}), AuthMethod::None),
            (
                json!({"client_id": "a", "client_secret": "s", "token_endpoint_auth_method": "private_key_jwt"}),
                AuthMethod::ClientSecretPost,
            ),
        ];
        for (body, want) in table {
            let response = HttpResponse::json_body(201, &body);
            assert_eq!(
                parse_registration_response(&metadata, &response)
                    .unwrap()
                    .auth_method,
                want,
                "{body}"
            );
        }
    }

    #[test]
    fn unusable_success_bodies_are_invalid_responses() {
        let mut strict = as_metadata();
        strict.token_endpoint_auth_methods_supported = Some(vec!["client_secret_basic".into()]);
        let table = [
            json!({}),
            json!({"client_id": ""}),
            json!({"client_id": 7}),
            json!({"client_id": "a", "client_secret": 7}),
            json!({"client_id": "a", "client_secret_expires_at": "never"}),
            json!({"client_id": "a", "client_secret_expires_at": -1}),
            json!({"client_id": "a", "token_endpoint_auth_method": "client_secret_post"}),
        ];
        for body in table {
            let response = HttpResponse::json_body(201, &body);
            assert!(
                matches!(
                    parse_registration_response(&as_metadata(), &response),
                    Err(RegistrationError::InvalidResponse { .. })
                ),
                "{body}"
            );
        }
        // No secret issued, but the AS only takes secret-based methods.
        let response = HttpResponse::json_body(201, &json!({"client_id": "a"}));
        assert!(matches!(
            parse_registration_response(&strict, &response),
            Err(RegistrationError::ClientAuth(
                ClientAuthError::SecretRequired { .. }
            ))
        ));
    }

    #[test]
    fn closed_registration_is_refused() {
        for status in [401, 403] {
            let response = HttpResponse::new(status, vec![], "nope");
            assert_eq!(
                parse_registration_response(&as_metadata(), &response),
                Err(RegistrationError::Refused {
                    status,
                    issuer: ISSUER.into()
                })
            );
        }
    }

    #[test]
    fn rfc_7591_errors_are_rejections() {
        let response = HttpResponse::json_body(
            400,
            &json!({
                "error": "invalid_redirect_uri",
                "error_description": "The redirection URI http://sketchy.example.com is not allowed by this server."
            }),
        );
        assert_eq!(
            parse_registration_response(&as_metadata(), &response),
            Err(RegistrationError::Rejected {
                issuer: ISSUER.into(),
                error: "invalid_redirect_uri".into(),
                description: Some(
                    "The redirection URI http://sketchy.example.com is not allowed by this server."
                        .into()
                ),
            })
        );
    }

    #[test]
    fn other_failures_are_invalid_responses_or_body_errors() {
        let table = [
            HttpResponse::json_body(400, &json!({"message": "bad"})),
            HttpResponse::json_body(500, &json!({"error": "server_error"})),
            HttpResponse::json_body(204, &json!({})),
        ];
        for response in table {
            assert!(
                matches!(
                    parse_registration_response(&as_metadata(), &response),
                    Err(RegistrationError::InvalidResponse { .. })
                ),
                "{response:?}"
            );
        }
        let html = HttpResponse::new(
            201,
            vec![("Content-Type".into(), "text/html".into())],
            "<html>",
        );
        assert!(matches!(
            parse_registration_response(&as_metadata(), &html),
            Err(RegistrationError::Body {
                source: BodyError::NotJson { .. },
                ..
            })
        ));
        let html_400 = HttpResponse::new(400, vec![], "bad");
        assert!(matches!(
            parse_registration_response(&as_metadata(), &html_400),
            Err(RegistrationError::Body { .. })
        ));
    }

    #[test]
    fn registration_errors_do_not_show_the_secret() {
        let response = HttpResponse::json_body(
            201,
            &json!({"client_id": "a", "client_secret": "SECRET-VALUE", "client_secret_expires_at": "x"}),
        );
        let err = parse_registration_response(&as_metadata(), &response).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("SECRET"));
    }

    #[test]
    fn client_id_metadata_url_table() {
        let table = [
            ("https://app.example.com/oauth/client-metadata.json", true),
            ("https://example.com/client.json", true),
            ("https://example.com:8443/client", true),
            ("https://example.com/client?v=1", true),
            ("https://example.com", false),
            ("https://example.com/", false),
            ("http://example.com/client.json", false),
            ("https://example.com/client.json#frag", false),
            ("https://example.com/client.json#", false),
            ("https://user:pw@example.com/client.json", false),
            ("https://user@example.com/client.json", false),
            ("https://example.com/a/../client.json", false),
            ("https://example.com/./client.json", false),
            ("https://example.com/a/%2e%2E/client.json", false),
            ("https://example.com/a\\..\\client.json", false),
            ("https://example.com/a..b/client.json", true),
            ("my-client", false),
            ("", false),
        ];
        for (id, want) in table {
            assert_eq!(is_client_id_metadata_url(id), want, "{id}");
        }
    }
}

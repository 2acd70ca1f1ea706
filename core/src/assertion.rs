//! Sign-ins without a user at a browser: the client presents an assertion to the
//! MCP server's authorization server with the JWT-bearer grant (RFC 7523 §2.1).
//!
//! Two MCP extensions use it:
//!
//! - **Workload identity federation** (`io.modelcontextprotocol/auth/wif`): the
//!   assertion is a JWT the workload's platform issued (Kubernetes, SPIFFE, a
//!   cloud provider), handed over by the host as is.
//! - **Enterprise-managed authorization**
//!   (`io.modelcontextprotocol/enterprise-managed-authorization`,
//!   draft-ietf-oauth-identity-assertion-authz-grant): the user signed in to the
//!   app through the enterprise IdP; the app exchanges that ID token at the IdP
//!   (token exchange, RFC 8693 §2.1) for an Identity Assertion JWT Authorization
//!   Grant (ID-JAG) whose `aud` is the MCP server's authorization server and whose
//!   `resource` is the MCP server, then presents the ID-JAG as the assertion. The
//!   IdP decides, by policy, who may use which MCP server; nobody sees a consent
//!   screen.
//!
//! The discovery in front of both is the dynamic flow's (probe, RFC 9728, RFC
//! 8414), so the host configures only what it owns: the assertion, or its IdP
//! client and the user's ID token.

use crate::client_auth::AuthMethod;
use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::registration::ClientCredentials;
use crate::secret::Secret;
use crate::token::{self, TokenError};
use serde::{Deserialize, Serialize};
use url::Url;

/// RFC 7523 §2.1 `grant_type`.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 8693 §2.1 `grant_type`.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 §3: an OpenID Connect ID token.
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// draft-ietf-oauth-identity-assertion-authz-grant: an ID-JAG.
pub const ID_JAG_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";

/// How a sign-in gets its tokens without a browser. Serialized externally tagged
/// (`{"workload": {...}}`): an internally tagged enum costs the browser package
/// serde's buffering machinery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssertionGrant {
    /// Workload identity federation: present this JWT, issued to the workload by
    /// its platform, with the JWT-bearer grant. No client registration is needed;
    /// a pre-registered client, if any, is named and authenticated as usual.
    Workload {
        /// The workload's JWT (its `aud` must be the authorization server).
        assertion: Secret,
    },
    /// Enterprise-managed authorization: exchange the user's ID token at the IdP
    /// for an ID-JAG, then present that.
    Enterprise(EnterpriseIdp),
}

impl AssertionGrant {
    /// A workload-identity grant presenting `assertion`.
    pub fn workload(assertion: impl Into<Secret>) -> Self {
        AssertionGrant::Workload {
            assertion: assertion.into(),
        }
    }
}

/// The enterprise identity provider, as the app is registered with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnterpriseIdp {
    /// The IdP's token endpoint, where the token exchange goes.
    pub token_endpoint: String,
    /// The app's client id at the IdP.
    pub client_id: String,
    /// The app's secret at the IdP, for a confidential client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// How to authenticate at the IdP: by default `client_secret_post` with a
    /// secret (the extension's example) and `none` without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthMethod>,
    /// The ID token the user's single sign-on produced (the subject token).
    pub id_token: Secret,
}

impl EnterpriseIdp {
    /// The token-exchange request (RFC 8693 §2.1, ID-JAG draft §4.3) for an ID-JAG
    /// whose audience is `audience` (the MCP server's authorization server's
    /// issuer) and whose resource is `resource` (the MCP server, RFC 9728).
    pub fn id_jag_request(
        &self,
        audience: &str,
        resource: Option<&str>,
        scope: Option<&str>,
        now: u64,
    ) -> Result<HttpRequest, Error> {
        let endpoint = Url::parse(&self.token_endpoint).map_err(|e| {
            Error::Config(format!(
                "the IdP token endpoint {:?} is invalid: {e}",
                self.token_endpoint
            ))
        })?;
        if !crate::loopback::is_secure_or_loopback(&endpoint) {
            return Err(Error::Config(format!(
                "the IdP token endpoint {endpoint} must use https (plain http only on loopback)"
            )));
        }
        let auth_method = self.auth_method.unwrap_or(if self.client_secret.is_some() {
            AuthMethod::ClientSecretPost
        } else {
            AuthMethod::None
        });
        let client = ClientCredentials {
            // The IdP's own endpoint stands in for its issuer as the audience of
            // a private_key_jwt assertion (RFC 7523 §3 allows the token endpoint).
            issuer: endpoint.to_string(),
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            auth_method,
            client_secret_expires_at: None,
            private_key: None,
        };
        let mut form = vec![
            ("grant_type".to_owned(), TOKEN_EXCHANGE_GRANT.to_owned()),
            (
                "requested_token_type".to_owned(),
                ID_JAG_TOKEN_TYPE.to_owned(),
            ),
            ("audience".to_owned(), audience.to_owned()),
        ];
        if let Some(resource) = resource {
            form.push(("resource".to_owned(), resource.to_owned()));
        }
        if let Some(scope) = scope {
            form.push(("scope".to_owned(), scope.to_owned()));
        }
        form.push((
            "subject_token".to_owned(),
            self.id_token.expose().to_owned(),
        ));
        form.push(("subject_token_type".to_owned(), ID_TOKEN_TYPE.to_owned()));
        Ok(token::token_request(&endpoint, &client, form, Some(now))?)
    }
}

/// The ID-JAG from a token-exchange response (RFC 8693 §2.2): `issued_token_type`
/// must say it is one, and `access_token` holds it (its `token_type` is `N_A`,
/// since it is no access token). Error answers are RFC 6749 §5.2 errors.
pub fn parse_id_jag_response(response: &HttpResponse) -> Result<Secret, TokenError> {
    token::parse_token_exchange_response(response, ID_JAG_TOKEN_TYPE)
}

/// Whether an authorization server takes the JWT-bearer grant: it lists it in
/// `grant_types_supported`, or lists nothing (then only trying tells).
pub fn accepts_jwt_bearer(grant_types_supported: Option<&[String]>) -> bool {
    grant_types_supported
        .is_none_or(|list| list.is_empty() || list.iter().any(|g| g == JWT_BEARER_GRANT))
}

/// An anonymous client for workload identity federation without a registered
/// client: no `client_id`, no authentication; the assertion is the credential
/// (`client_auth::apply_to` sends nothing for a `none` client without an id).
pub(crate) fn anonymous_client(issuer: &str) -> ClientCredentials {
    ClientCredentials {
        issuer: issuer.to_owned(),
        client_id: String::new(),
        client_secret: None,
        auth_method: AuthMethod::None,
        client_secret_expires_at: None,
        private_key: None,
    }
}

/// Whether `client` is the anonymous workload client (nothing to store or reuse).
pub fn is_anonymous(client: &ClientCredentials) -> bool {
    client.client_id.is_empty() && client.auth_method == AuthMethod::None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn idp(secret: Option<&str>) -> EnterpriseIdp {
        EnterpriseIdp {
            token_endpoint: "https://acme.idp.example/oauth2/token".into(),
            client_id: "2ec954a1d60620116d36d9ceb7".into(),
            client_secret: secret.map(Secret::new),
            auth_method: None,
            id_token: Secret::new("eyJraWQiOiJzMTZ0cVNtODhwREo4VGZCXzdrSEtQ"),
        }
    }

    #[test]
    fn the_id_jag_request_matches_the_extensions_example() {
        let request = idp(Some("a26d84873504215a34a86d52ef5cd64f4b76"))
            .id_jag_request(
                "https://auth.chat.example/",
                Some("https://mcp.chat.example/"),
                Some("chat.read chat.history"),
                1,
            )
            .unwrap();
        assert_eq!(
            request.url.as_str(),
            "https://acme.idp.example/oauth2/token"
        );
        let form: std::collections::BTreeMap<_, _> = request.form_pairs().into_iter().collect();
        let want: std::collections::BTreeMap<String, String> = [
            ("grant_type", TOKEN_EXCHANGE_GRANT),
            ("requested_token_type", ID_JAG_TOKEN_TYPE),
            ("audience", "https://auth.chat.example/"),
            ("resource", "https://mcp.chat.example/"),
            ("scope", "chat.read chat.history"),
            ("subject_token", "eyJraWQiOiJzMTZ0cVNtODhwREo4VGZCXzdrSEtQ"),
            ("subject_token_type", ID_TOKEN_TYPE),
            ("client_id", "2ec954a1d60620116d36d9ceb7"),
            ("client_secret", "a26d84873504215a34a86d52ef5cd64f4b76"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert_eq!(form, want);
        assert_eq!(request.header("authorization"), None);
    }

    #[test]
    fn a_public_idp_client_sends_its_id_only_and_basic_is_available() {
        let request = idp(None)
            .id_jag_request("https://as", None, None, 1)
            .unwrap();
        let form: std::collections::BTreeMap<_, _> = request.form_pairs().into_iter().collect();
        assert_eq!(form["client_id"], "2ec954a1d60620116d36d9ceb7");
        assert!(!form.contains_key("client_secret") && !form.contains_key("resource"));
        let mut basic = idp(Some("s"));
        basic.auth_method = Some(AuthMethod::ClientSecretBasic);
        let request = basic.id_jag_request("https://as", None, None, 1).unwrap();
        assert!(request
            .header("authorization")
            .unwrap()
            .starts_with("Basic "));
    }

    #[test]
    fn an_insecure_idp_endpoint_is_refused() {
        let mut idp = idp(None);
        idp.token_endpoint = "http://idp.example/token".into();
        assert_eq!(
            idp.id_jag_request("https://as", None, None, 1)
                .unwrap_err()
                .code(),
            "invalid_config"
        );
    }

    #[test]
    fn id_jag_response_table() {
        let ok = |body: serde_json::Value| HttpResponse::json_body(200, &body);
        let jag = parse_id_jag_response(&ok(json!({
            "issued_token_type": ID_JAG_TOKEN_TYPE,
            "access_token": "eyJhbGciOiJIUzI1NiIsI",
            "token_type": "N_A",
            "expires_in": 300
        })))
        .unwrap();
        assert_eq!(jag.expose(), "eyJhbGciOiJIUzI1NiIsI");
        for bad in [
            json!({ "issued_token_type": "urn:ietf:params:oauth:token-type:access_token", "access_token": "x", "token_type": "Bearer" }),
            json!({ "access_token": "x", "token_type": "N_A" }),
            json!({ "issued_token_type": ID_JAG_TOKEN_TYPE, "access_token": "", "token_type": "N_A" }),
        ] {
            assert!(
                matches!(
                    parse_id_jag_response(&ok(bad.clone())),
                    Err(TokenError::Invalid(_))
                ),
                "{bad}"
            );
        }
        let denied = HttpResponse::json_body(
            400,
            &json!({ "error": "invalid_grant", "error_description": "policy" }),
        );
        assert!(matches!(
            parse_id_jag_response(&denied),
            Err(TokenError::Rejected { status: 400, .. })
        ));
    }

    #[test]
    fn jwt_bearer_acceptance_table() {
        let list = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(accepts_jwt_bearer(None));
        assert!(accepts_jwt_bearer(Some(&[])));
        assert!(accepts_jwt_bearer(Some(&list(&[JWT_BEARER_GRANT]))));
        assert!(!accepts_jwt_bearer(Some(&list(&["authorization_code"]))));
    }
}

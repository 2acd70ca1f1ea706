//! A client as the authorization server knows it — registered, hard-coded, or
//! read from a Client ID Metadata Document — and its authentication at the token
//! endpoint ([RFC 6749 §2.3](https://www.rfc-editor.org/rfc/rfc6749#section-2.3)):
//! `none`, `client_secret_basic` or `client_secret_post`, exactly one per request,
//! secrets compared in constant time.

use super::error::TokenEndpointError;
use super::redirect::{RedirectPolicy, RedirectPolicyError};
use super::scope::ScopePolicy;
use crate::client_auth::AuthMethod;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A client the authorization server accepts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// The `client_id`.
    pub client_id: String,
    /// Which redirect URIs it may use.
    #[serde(default)]
    pub redirect: RedirectPolicy,
    /// Which scopes it may be granted.
    #[serde(default)]
    pub scope: ScopePolicy,
    /// How it may authenticate at the token endpoint: `none` for a public client,
    /// secret-based methods for a confidential one.
    #[serde(default = "public_methods")]
    pub auth_methods: Vec<AuthMethod>,
    /// The secret of a confidential client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
}

fn public_methods() -> Vec<AuthMethod> {
    vec![AuthMethod::None]
}

/// A client definition that cannot work as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The `client_id` is empty.
    #[error("client_id must not be empty")]
    EmptyId,
    /// The redirect policy is unusable.
    #[error(transparent)]
    Redirect(#[from] RedirectPolicyError),
    /// No authentication method at all.
    #[error("client {0}: auth_methods must not be empty")]
    NoAuthMethod(String),
    /// A secret-based method without a secret.
    #[error("client {0}: a secret-based auth method needs a secret")]
    SecretMissing(String),
    /// A method the server side cannot verify.
    #[error(
        "client {0}: {1} is not supported; use none, client_secret_basic or client_secret_post"
    )]
    UnsupportedMethod(String, &'static str),
}

/// The client credentials a token request carries, before they are checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentedClient {
    /// The `client_id` it claims.
    pub client_id: String,
    /// How it authenticates.
    pub method: AuthMethod,
    /// The secret it presents (Basic or post).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
}

impl Client {
    /// A public client (`token_endpoint_auth_method=none`).
    pub fn public(
        client_id: impl Into<String>,
        redirect: RedirectPolicy,
        scope: ScopePolicy,
    ) -> Self {
        Client {
            client_id: client_id.into(),
            redirect,
            scope,
            auth_methods: public_methods(),
            secret: None,
        }
    }

    /// A confidential client that may use `client_secret_basic` and
    /// `client_secret_post`.
    pub fn confidential(
        client_id: impl Into<String>,
        secret: Secret,
        redirect: RedirectPolicy,
        scope: ScopePolicy,
    ) -> Self {
        Client {
            client_id: client_id.into(),
            redirect,
            scope,
            auth_methods: vec![AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost],
            secret: Some(secret),
        }
    }

    /// Checks the definition: an id, a usable redirect policy, at least one
    /// method this toolkit verifies, and a secret when a method needs one.
    pub fn validate(&self) -> Result<(), ClientError> {
        if self.client_id.is_empty() {
            return Err(ClientError::EmptyId);
        }
        self.redirect.validate()?;
        if self.auth_methods.is_empty() {
            return Err(ClientError::NoAuthMethod(self.client_id.clone()));
        }
        if let Some(m) = self
            .auth_methods
            .iter()
            .find(|m| **m == AuthMethod::PrivateKeyJwt)
        {
            return Err(ClientError::UnsupportedMethod(
                self.client_id.clone(),
                m.as_str(),
            ));
        }
        let needs_secret = self.auth_methods.iter().any(|m| *m != AuthMethod::None);
        if needs_secret && self.secret.as_ref().is_none_or(|s| s.expose().is_empty()) {
            return Err(ClientError::SecretMissing(self.client_id.clone()));
        }
        Ok(())
    }

    /// Authenticates a token request as this client (RFC 6749 §2.3), allowing
    /// only methods both this client and the server (`server_methods`) accept.
    pub fn authenticate(
        &self,
        presented: &PresentedClient,
        server_methods: &[AuthMethod],
    ) -> Result<(), TokenEndpointError> {
        let basic = presented.method == AuthMethod::ClientSecretBasic;
        if presented.client_id != self.client_id {
            return Err(TokenEndpointError::invalid_client(
                "unknown client_id",
                basic,
            ));
        }
        if !self.auth_methods.contains(&presented.method)
            || !server_methods.contains(&presented.method)
        {
            let allowed: Vec<&str> = self
                .auth_methods
                .iter()
                .filter(|m| server_methods.contains(m))
                .map(|m| m.as_str())
                .collect();
            return Err(TokenEndpointError::invalid_client(
                format!(
                    "client authentication {} is not allowed for this client; use {}",
                    presented.method.as_str(),
                    allowed.join(" or ")
                ),
                basic,
            ));
        }
        if presented.method == AuthMethod::None {
            return Ok(());
        }
        let (Some(expected), Some(given)) = (&self.secret, &presented.secret) else {
            return Err(TokenEndpointError::invalid_client(
                "wrong client secret",
                basic,
            ));
        };
        // Hashing first makes the comparison constant-time in the length too.
        let equal: bool = Sha256::digest(expected.expose().as_bytes())
            .ct_eq(&Sha256::digest(given.expose().as_bytes()))
            .into();
        if equal && !expected.expose().is_empty() {
            Ok(())
        } else {
            Err(TokenEndpointError::invalid_client(
                "wrong client secret",
                basic,
            ))
        }
    }
}

/// `invalid_client` for a `client_id` the server does not know.
pub fn unknown_client(presented: &PresentedClient) -> TokenEndpointError {
    TokenEndpointError::invalid_client(
        "unknown client_id",
        presented.method == AuthMethod::ClientSecretBasic,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::error::TokenErrorCode;
    use AuthMethod::*;

    const ALL: [AuthMethod; 3] = [None, ClientSecretBasic, ClientSecretPost];

    fn confidential() -> Client {
        Client::confidential(
            "app",
            Secret::new("s3cret"),
            RedirectPolicy::registered(["https://app.example/cb"]),
            ScopePolicy::default(),
        )
    }

    fn presented(method: AuthMethod, secret: Option<&str>) -> PresentedClient {
        PresentedClient {
            client_id: "app".into(),
            method,
            secret: secret.map(Secret::new),
        }
    }

    #[test]
    fn authentication_table() {
        let public = Client {
            client_id: "app".into(),
            ..Client::public("x", RedirectPolicy::default(), ScopePolicy::default())
        };
        // (client, presented, server methods, accepted)
        let table = [
            (
                confidential(),
                presented(ClientSecretBasic, Some("s3cret")),
                &ALL[..],
                true,
            ),
            (
                confidential(),
                presented(ClientSecretPost, Some("s3cret")),
                &ALL[..],
                true,
            ),
            (
                confidential(),
                presented(ClientSecretBasic, Some("s3cret")),
                &[ClientSecretPost][..],
                false,
            ),
            (
                confidential(),
                presented(ClientSecretBasic, Some("wrong")),
                &ALL[..],
                false,
            ),
            (
                confidential(),
                presented(ClientSecretBasic, Some("s3cre")),
                &ALL[..],
                false,
            ),
            (
                confidential(),
                presented(ClientSecretPost, Some("")),
                &ALL[..],
                false,
            ),
            (
                confidential(),
                presented(None, Option::None),
                &ALL[..],
                false,
            ),
            (
                public.clone(),
                presented(None, Option::None),
                &ALL[..],
                true,
            ),
            (
                public.clone(),
                presented(None, Option::None),
                &[ClientSecretBasic][..],
                false,
            ),
            (
                public.clone(),
                presented(ClientSecretPost, Some("anything")),
                &ALL[..],
                false,
            ),
        ];
        for (client, presented, server, accepted) in table {
            let outcome = client.authenticate(&presented, server);
            assert_eq!(
                outcome.is_ok(),
                accepted,
                "{:?} {presented:?} {server:?}",
                client.auth_methods
            );
            if let Err(error) = outcome {
                assert_eq!(error.code, TokenErrorCode::InvalidClient);
                assert_eq!(error.status(), 401);
                assert_eq!(error.basic_challenge, presented.method == ClientSecretBasic);
                assert!(!error.description.contains("s3cret"));
            }
        }
    }

    #[test]
    fn another_client_id_is_unknown() {
        let mut other = presented(ClientSecretPost, Some("s3cret"));
        other.client_id = "other".into();
        assert_eq!(
            confidential()
                .authenticate(&other, &ALL)
                .unwrap_err()
                .description,
            "unknown client_id"
        );
    }

    #[test]
    fn definitions_are_validated() {
        assert_eq!(confidential().validate(), Ok(()));
        let mut no_secret = confidential();
        no_secret.secret = Option::None;
        assert_eq!(
            no_secret.validate(),
            Err(ClientError::SecretMissing("app".into()))
        );
        let mut jwt = confidential();
        jwt.auth_methods = vec![PrivateKeyJwt];
        assert!(matches!(
            jwt.validate(),
            Err(ClientError::UnsupportedMethod(..))
        ));
        let mut none = confidential();
        none.auth_methods.clear();
        assert!(matches!(none.validate(), Err(ClientError::NoAuthMethod(_))));
        let empty = Client::public("", RedirectPolicy::default(), ScopePolicy::default());
        assert_eq!(empty.validate(), Err(ClientError::EmptyId));
    }

    #[test]
    fn a_client_reads_from_json_with_public_defaults() {
        let client: Client = serde_json::from_value(serde_json::json!({
            "client_id": "mcp-agent",
            "redirect": { "any_loopback": ["http://localhost", "http://127.0.0.1"] },
            "scope": { "allowed": ["mcp"], "default": ["mcp"] },
        }))
        .unwrap();
        assert_eq!(client.auth_methods, vec![None]);
        assert_eq!(client.validate(), Ok(()));
        assert!(!format!("{:?}", confidential()).contains("s3cret"));
    }
}

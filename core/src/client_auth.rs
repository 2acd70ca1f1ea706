//! Token-endpoint client authentication (RFC 6749 §2.3, RFC 8414
//! `token_endpoint_auth_methods_supported`): choosing the method the server
//! advertises and applying it to a token request.
//!
//! CONTRACT (stub: to be implemented).

use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// How the client proves its identity at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// Public client: `client_id` in the body, no secret.
    None,
    /// HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
}

impl AuthMethod {
    /// The RFC 8414 registry name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
        }
    }

    /// Parses a registry name; `None` for methods this client does not implement.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(AuthMethod::None),
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(AuthMethod::ClientSecretPost),
            _ => None,
        }
    }
}

/// Whether a UI must ask the user for a client secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretRequirement {
    /// The server does not accept public clients (`none` not advertised).
    Required,
    /// The server accepts public clients; a secret is used if given.
    Optional,
}

/// The client cannot authenticate the way the server demands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientAuthError {
    /// The server does not accept public clients and no secret was given.
    #[error("the authorization server requires a client secret ({advertised}); enter the secret of your OAuth app")]
    SecretRequired {
        /// The methods the server advertises, comma-separated.
        advertised: String,
    },
    /// None of the advertised methods is one this client implements.
    #[error("the authorization server only accepts client authentication methods this client does not support: {advertised}")]
    NoSupportedMethod {
        /// The methods the server advertises, comma-separated.
        advertised: String,
    },
}

/// Picks the method: with a secret, `client_secret_basic` if advertised (the RFC 8414
/// default when the list is absent), else `client_secret_post`; without one, `none`.
pub fn choose(
    supported: Option<&[String]>,
    has_secret: bool,
) -> Result<AuthMethod, ClientAuthError> {
    let _ = (supported, has_secret);
    todo!()
}

/// Whether the UI should insist on a secret, from the advertised methods.
pub fn secret_requirement(supported: Option<&[String]>) -> SecretRequirement {
    let _ = supported;
    todo!()
}

/// Adds the client's credentials to a token request: form pairs and/or an
/// `Authorization` header, as `method` prescribes. A secret-based method without a
/// secret is a `SecretRequired` error.
pub fn apply(
    method: AuthMethod,
    client_id: &str,
    client_secret: Option<&Secret>,
    form: &mut Vec<(String, String)>,
    headers: &mut Vec<(String, String)>,
) -> Result<(), ClientAuthError> {
    let _ = (method, client_id, client_secret, form, headers);
    todo!()
}

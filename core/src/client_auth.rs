//! Token-endpoint client authentication (RFC 6749 §2.3, RFC 8414 §2
//! `token_endpoint_auth_methods_supported`): choosing the method the server
//! advertises and applying it to a token request.
//!
//! RFC 8414 §2 says an absent `token_endpoint_auth_methods_supported` means
//! `client_secret_basic`; in practice servers that omit it often accept public
//! clients too, so without a secret this client still tries `none` (the server's
//! `invalid_client` answer then tells the user a secret is needed). An empty list
//! is treated like an absent one: it would otherwise mean "no client can ever
//! authenticate", which no working server intends.
//!
//! With `client_secret_basic`, `client_id` is *not* repeated in the form body:
//! RFC 6749 §3.2.1 requires it in the body only for unauthenticated clients, and
//! OAuth 2.1 forbids using more than one authentication method per request, which
//! some servers enforce strictly when they see `client_id` beside a Basic header
//! (the MCP TypeScript SDK omits it too).

use crate::secret::Secret;
use base64::Engine as _;
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
/// default when the list is absent), else `client_secret_post`, else `none` when that
/// is the only method advertised (the secret is then not sent); without one, `none`.
pub fn choose(
    supported: Option<&[String]>,
    has_secret: bool,
) -> Result<AuthMethod, ClientAuthError> {
    let Some(list) = advertised_list(supported) else {
        return Ok(if has_secret {
            AuthMethod::ClientSecretBasic
        } else {
            AuthMethod::None
        });
    };
    let offers = |m: AuthMethod| list.iter().any(|s| s == m.as_str());
    if has_secret {
        if offers(AuthMethod::ClientSecretBasic) {
            Ok(AuthMethod::ClientSecretBasic)
        } else if offers(AuthMethod::ClientSecretPost) {
            Ok(AuthMethod::ClientSecretPost)
        } else if list.iter().all(|s| s == AuthMethod::None.as_str()) {
            // The server takes public clients only: a secret would be ignored at
            // best and rejected as a second auth method at worst.
            Ok(AuthMethod::None)
        } else {
            Err(ClientAuthError::NoSupportedMethod {
                advertised: list.join(", "),
            })
        }
    } else if offers(AuthMethod::None) {
        Ok(AuthMethod::None)
    } else if offers(AuthMethod::ClientSecretBasic) || offers(AuthMethod::ClientSecretPost) {
        Err(ClientAuthError::SecretRequired {
            advertised: list.join(", "),
        })
    } else {
        // Only methods such as `private_key_jwt`: asking the user for a secret
        // would not help.
        Err(ClientAuthError::NoSupportedMethod {
            advertised: list.join(", "),
        })
    }
}

/// Whether the UI should insist on a secret, from the advertised methods.
pub fn secret_requirement(supported: Option<&[String]>) -> SecretRequirement {
    match advertised_list(supported) {
        Some(list) if !list.iter().any(|s| s == AuthMethod::None.as_str()) => {
            SecretRequirement::Required
        }
        _ => SecretRequirement::Optional,
    }
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
    let secret = || {
        client_secret.ok_or_else(|| ClientAuthError::SecretRequired {
            advertised: method.as_str().to_owned(),
        })
    };
    match method {
        AuthMethod::None => form.push(("client_id".into(), client_id.into())),
        AuthMethod::ClientSecretBasic => {
            headers.push((
                "Authorization".into(),
                basic_credentials(client_id, secret()?),
            ));
        }
        AuthMethod::ClientSecretPost => {
            let secret = secret()?;
            form.push(("client_id".into(), client_id.into()));
            form.push(("client_secret".into(), secret.expose().into()));
        }
    }
    Ok(())
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`: RFC 6749 §2.3.1 form-encodes
/// both halves first, so a `:` in the id or secret cannot shift the split point.
fn basic_credentials(client_id: &str, secret: &Secret) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pair = format!("{}:{}", encode(client_id), encode(secret.expose()));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// The advertised list, or `None` when it is absent or empty (see the module docs).
fn advertised_list(supported: Option<&[String]>) -> Option<&[String]> {
    supported.filter(|list| !list.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[derive(Debug, PartialEq)]
    enum Want {
        Method(AuthMethod),
        SecretRequired,
        NoSupportedMethod,
    }

    #[test]
    fn choose_table() {
        use AuthMethod as M;
        use Want::{Method, NoSupportedMethod, SecretRequired};
        let table: &[(Option<&[&str]>, bool, Want)] = &[
            // RFC 8414: absent means client_secret_basic.
            (None, true, Method(M::ClientSecretBasic)),
            (None, false, Method(M::None)),
            (Some(&[]), true, Method(M::ClientSecretBasic)),
            (Some(&[]), false, Method(M::None)),
            (
                Some(&["client_secret_basic"]),
                true,
                Method(M::ClientSecretBasic),
            ),
            (
                Some(&["client_secret_post", "client_secret_basic"]),
                true,
                Method(M::ClientSecretBasic),
            ),
            (
                Some(&["client_secret_post"]),
                true,
                Method(M::ClientSecretPost),
            ),
            (
                Some(&["none", "client_secret_post"]),
                true,
                Method(M::ClientSecretPost),
            ),
            (Some(&["none"]), true, Method(M::None)),
            (Some(&["none", "private_key_jwt"]), true, NoSupportedMethod),
            (Some(&["private_key_jwt"]), true, NoSupportedMethod),
            (Some(&["none"]), false, Method(M::None)),
            (
                Some(&["client_secret_basic", "none"]),
                false,
                Method(M::None),
            ),
            (Some(&["client_secret_basic"]), false, SecretRequired),
            (Some(&["client_secret_post"]), false, SecretRequired),
            (Some(&["private_key_jwt"]), false, NoSupportedMethod),
            // Registry names are case-sensitive.
            (Some(&["Client_Secret_Basic"]), true, NoSupportedMethod),
        ];
        for (supported, has_secret, want) in table {
            let owned = supported.map(list);
            let got = match choose(owned.as_deref(), *has_secret) {
                Ok(m) => Method(m),
                Err(ClientAuthError::SecretRequired { .. }) => SecretRequired,
                Err(ClientAuthError::NoSupportedMethod { .. }) => NoSupportedMethod,
            };
            assert_eq!(&got, want, "{supported:?} secret={has_secret}");
        }
    }

    #[test]
    fn errors_name_the_advertised_methods() {
        let supported = list(&["client_secret_basic", "client_secret_post"]);
        assert_eq!(
            choose(Some(&supported), false),
            Err(ClientAuthError::SecretRequired {
                advertised: "client_secret_basic, client_secret_post".into()
            })
        );
    }

    #[test]
    fn secret_requirement_table() {
        let table: &[(Option<&[&str]>, SecretRequirement)] = &[
            (None, SecretRequirement::Optional),
            (Some(&[]), SecretRequirement::Optional),
            (Some(&["none"]), SecretRequirement::Optional),
            (
                Some(&["client_secret_basic", "none"]),
                SecretRequirement::Optional,
            ),
            (Some(&["client_secret_basic"]), SecretRequirement::Required),
            (
                Some(&["client_secret_post", "private_key_jwt"]),
                SecretRequirement::Required,
            ),
        ];
        for (supported, want) in table {
            let owned = supported.map(list);
            assert_eq!(secret_requirement(owned.as_deref()), *want, "{supported:?}");
        }
    }

    type Pairs = Vec<(String, String)>;

    /// The form and headers after applying `method` to a refresh request.
    fn applied(
        method: AuthMethod,
        id: &str,
        secret: Option<&str>,
    ) -> Result<(Pairs, Pairs), ClientAuthError> {
        let secret = secret.map(Secret::new);
        let mut form = vec![("grant_type".to_string(), "refresh_token".to_string())];
        let mut headers = Vec::new();
        apply(method, id, secret.as_ref(), &mut form, &mut headers)?;
        Ok((form, headers))
    }

    #[test]
    fn none_sends_client_id_in_the_body_only() {
        let (form, headers) = applied(AuthMethod::None, "abc", Some("ignored")).unwrap();
        assert_eq!(
            form,
            vec![
                ("grant_type".into(), "refresh_token".into()),
                ("client_id".into(), "abc".into())
            ]
        );
        assert!(headers.is_empty());
    }

    #[test]
    fn post_sends_id_and_secret_in_the_body() {
        let (form, headers) = applied(AuthMethod::ClientSecretPost, "abc", Some("s3")).unwrap();
        assert_eq!(
            &form[1..],
            &[
                ("client_id".to_string(), "abc".to_string()),
                ("client_secret".to_string(), "s3".to_string())
            ]
        );
        assert!(headers.is_empty());
    }

    #[test]
    fn basic_matches_the_rfc_6749_example() {
        // RFC 6749 §2.3.1: "Authorization: Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3".
        let (form, headers) = applied(
            AuthMethod::ClientSecretBasic,
            "s6BhdRkqt3",
            Some("7Fjfp0ZBr1KtDRbnfVdmIw"),
        )
        .unwrap();
        assert_eq!(
            headers,
            vec![(
                "Authorization".to_string(),
                "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3".to_string()
            )]
        );
        // client_id is not repeated in the body alongside Basic.
        assert_eq!(form, vec![("grant_type".into(), "refresh_token".into())]);
    }

    #[test]
    fn basic_form_encodes_id_and_secret_before_base64() {
        let (_, headers) = applied(
            AuthMethod::ClientSecretBasic,
            "my:client id",
            Some("p:a+s s/é%"),
        )
        .unwrap();
        let value = &headers[0].1;
        let encoded = value.strip_prefix("Basic ").unwrap();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap();
        assert_eq!(
            String::from_utf8(decoded).unwrap(),
            "my%3Aclient+id:p%3Aa%2Bs+s%2F%C3%A9%25"
        );
    }

    #[test]
    fn secret_methods_without_a_secret_are_secret_required() {
        for method in [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost] {
            assert_eq!(
                applied(method, "abc", None),
                Err(ClientAuthError::SecretRequired {
                    advertised: method.as_str().into()
                })
            );
        }
    }

    #[test]
    fn method_names_round_trip() {
        for m in [
            AuthMethod::None,
            AuthMethod::ClientSecretBasic,
            AuthMethod::ClientSecretPost,
        ] {
            assert_eq!(AuthMethod::from_name(m.as_str()), Some(m));
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
        assert_eq!(AuthMethod::from_name("private_key_jwt"), None);
    }
}

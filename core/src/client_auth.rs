//! Token-endpoint client authentication (RFC 6749 §2.3, RFC 8414 §2
//! `token_endpoint_auth_methods_supported`): choosing the method the server
//! advertises and applying it to a token request.
//!
//! `private_key_jwt` (RFC 7523 §2.2, OpenID Connect Core §9) signs a short-lived
//! client assertion with the client's own key: `iss` and `sub` are the client id,
//! `aud` is the authorization server's issuer (RFC 7523 §3 allows the issuer or the
//! token endpoint; the issuer is what current drafts recommend and what the MCP
//! client-credentials extension checks), plus `iat`, `exp` and a fresh `jti`. ES256
//! (P-256, RFC 7518 §3.4) is implemented, in pure Rust, with a deterministic
//! signature (RFC 6979), behind the `private-key-jwt` cargo feature (on by
//! default). The browser package builds without it: a browser cannot keep a
//! private key secret, and the P-256 stack would be a large share of its `.wasm`.
//! Without the feature the types stay (stored clients still deserialize), and
//! signing fails with [`ClientAuthError::SignerNotBuilt`].
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

use crate::entropy::{random_token, Entropy};
use crate::secret::Secret;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// RFC 7523 §2.2 `client_assertion_type` for a JWT client assertion.
pub const JWT_BEARER_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a client assertion stays valid: long enough for one request.
pub const ASSERTION_LIFETIME_SECS: u64 = 60;

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
    /// A JWT signed with the client's private key (RFC 7523 §2.2).
    PrivateKeyJwt,
}

impl AuthMethod {
    /// The RFC 8414 registry name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::None => "none",
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
        }
    }

    /// Parses a registry name; `None` for methods this client does not implement.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "none" => Some(AuthMethod::None),
            "client_secret_basic" => Some(AuthMethod::ClientSecretBasic),
            "client_secret_post" => Some(AuthMethod::ClientSecretPost),
            "private_key_jwt" => Some(AuthMethod::PrivateKeyJwt),
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
    /// `private_key_jwt` is in use but the client has no signing key.
    #[error("the client authenticates with private_key_jwt but no signing key is configured")]
    KeyRequired,
    /// The signing key could not be read or used.
    #[error("the client's signing key is unusable: {0}")]
    InvalidKey(String),
    /// This build has no signer for the key's algorithm (the `private-key-jwt`
    /// feature is off, as in the browser package).
    #[error("this build cannot sign {algorithm} client assertions: private_key_jwt needs the `private-key-jwt` feature of mcp-oauth-core")]
    SignerNotBuilt {
        /// The JWS algorithm that was asked for.
        algorithm: &'static str,
    },
    /// A client assertion needs the current time, which this call did not have.
    #[error("a private_key_jwt client assertion needs the current time; use the time-aware variant of this request")]
    TimeRequired,
    /// No randomness for the assertion's `jti`.
    #[error("no randomness for the client assertion: {0}")]
    Entropy(String),
    /// None of the advertised methods is one this client implements.
    #[error("the authorization server only accepts client authentication methods this client does not support: {advertised}")]
    NoSupportedMethod {
        /// The methods the server advertises, comma-separated.
        advertised: String,
    },
}

/// A client's own signing key, for `private_key_jwt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientKey {
    /// The JWS algorithm the key signs with.
    pub algorithm: SigningAlgorithm,
    /// The private key, PEM-encoded (PKCS#8 `PRIVATE KEY`, or SEC1 `EC PRIVATE KEY`).
    pub private_key_pem: Secret,
    /// The `kid` the authorization server knows the public key by, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

/// JWS algorithms (RFC 7518) this client can sign assertions with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SigningAlgorithm {
    /// ECDSA with P-256 and SHA-256.
    ES256,
}

impl SigningAlgorithm {
    /// The JWS `alg` name.
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithm::ES256 => "ES256",
        }
    }

    /// Parses a JWS `alg` name; `None` for algorithms this client cannot sign with.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(SigningAlgorithm::ES256),
            _ => None,
        }
    }
}

/// Everything needed to authenticate one token request.
#[derive(Debug, Clone, Copy)]
pub struct ClientAuthentication<'a> {
    /// The method in use.
    pub method: AuthMethod,
    /// The client identifier.
    pub client_id: &'a str,
    /// The secret, for the `client_secret_*` methods.
    pub client_secret: Option<&'a Secret>,
    /// The signing key, for `private_key_jwt`.
    pub private_key: Option<&'a ClientKey>,
    /// The assertion's audience: the authorization server's issuer.
    pub audience: &'a str,
    /// Seconds since the epoch, for the assertion's `iat` and `exp`; without it a
    /// `private_key_jwt` request fails with [`ClientAuthError::TimeRequired`].
    pub now: Option<u64>,
}

/// Picks the method for a client holding a signing key and/or a secret: with a key,
/// `private_key_jwt` when the server advertises it (or advertises nothing);
/// otherwise as [`choose`].
pub fn choose_for(
    supported: Option<&[String]>,
    has_secret: bool,
    has_key: bool,
) -> Result<AuthMethod, ClientAuthError> {
    if has_key {
        let jwt = AuthMethod::PrivateKeyJwt.as_str();
        match advertised_list(supported) {
            None => return Ok(AuthMethod::PrivateKeyJwt),
            Some(list) if list.iter().any(|m| m == jwt) => return Ok(AuthMethod::PrivateKeyJwt),
            Some(_) => {}
        }
    }
    choose(supported, has_secret)
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
/// secret is a `SecretRequired` error; `private_key_jwt` needs [`apply_to`].
pub fn apply(
    method: AuthMethod,
    client_id: &str,
    client_secret: Option<&Secret>,
    form: &mut Vec<(String, String)>,
    headers: &mut Vec<(String, String)>,
) -> Result<(), ClientAuthError> {
    let auth = ClientAuthentication {
        method,
        client_id,
        client_secret,
        private_key: None,
        audience: "",
        now: None,
    };
    apply_to(&auth, &mut crate::entropy::OsEntropy, form, headers)
}

/// Like [`apply`], for every method: `private_key_jwt` adds a client assertion
/// signed now, with a `jti` drawn from `entropy`.
pub fn apply_to(
    auth: &ClientAuthentication<'_>,
    entropy: &mut dyn Entropy,
    form: &mut Vec<(String, String)>,
    headers: &mut Vec<(String, String)>,
) -> Result<(), ClientAuthError> {
    let (method, client_id, client_secret) = (auth.method, auth.client_id, auth.client_secret);
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
        AuthMethod::PrivateKeyJwt => {
            let key = auth.private_key.ok_or(ClientAuthError::KeyRequired)?;
            let now = auth.now.ok_or(ClientAuthError::TimeRequired)?;
            let jti = random_token(entropy, 16).map_err(|e| ClientAuthError::Entropy(e.0))?;
            let assertion = client_assertion(key, client_id, auth.audience, now, &jti)?;
            form.push(("client_id".into(), client_id.into()));
            form.push((
                "client_assertion_type".into(),
                JWT_BEARER_ASSERTION_TYPE.into(),
            ));
            form.push(("client_assertion".into(), assertion));
        }
    }
    Ok(())
}

/// An RFC 7523 §3 client assertion: a compact JWS over `iss` = `sub` = the client
/// id, `aud`, `iat` = `now`, `exp` = `now` + [`ASSERTION_LIFETIME_SECS`], and `jti`.
pub fn client_assertion(
    key: &ClientKey,
    client_id: &str,
    audience: &str,
    now: u64,
    jti: &str,
) -> Result<String, ClientAuthError> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut header = serde_json::json!({ "alg": key.algorithm.as_str(), "typ": "JWT" });
    if let Some(kid) = &key.key_id {
        header["kid"] = kid.as_str().into();
    }
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECS,
        "jti": jti,
    });
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = match key.algorithm {
        SigningAlgorithm::ES256 => es256_sign(key.private_key_pem.expose(), &signing_input)?,
    };
    Ok(format!("{signing_input}.{}", b64(&signature)))
}

/// ES256: ECDSA P-256 over SHA-256, as the 64-byte `r || s` JWS wants (RFC 7518 §3.4).
#[cfg(feature = "private-key-jwt")]
fn es256_sign(pem: &str, signing_input: &str) -> Result<Vec<u8>, ClientAuthError> {
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::DecodePrivateKey as _;
    let key = p256::ecdsa::SigningKey::from_pkcs8_pem(pem)
        .or_else(|_| p256::SecretKey::from_sec1_pem(pem).map(p256::ecdsa::SigningKey::from))
        .map_err(|_| {
            ClientAuthError::InvalidKey(
                "not a PEM-encoded P-256 private key (PKCS#8 or SEC1)".into(),
            )
        })?;
    let signature: p256::ecdsa::Signature = key.sign(signing_input.as_bytes());
    Ok(signature.to_bytes().to_vec())
}

/// Without the `private-key-jwt` feature there is no P-256 signer.
#[cfg(not(feature = "private-key-jwt"))]
fn es256_sign(_pem: &str, _signing_input: &str) -> Result<Vec<u8>, ClientAuthError> {
    Err(ClientAuthError::SignerNotBuilt {
        algorithm: SigningAlgorithm::ES256.as_str(),
    })
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

/// A P-256 key in PKCS#8 PEM, as the MCP client-credentials extension hands out.
#[cfg(test)]
pub(crate) const TEST_KEY_PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgxknqfg1BTDnRxgER\nym/IMxBoX69qCWbsGQnTkMdgZY2hRANCAASMN1A5skVM6X+UdlQfe1Lm2aaUm17A\nMv0x8lRUub92bu5qFnKRd3lqsVje8JuFffTxRRtyMUvaZ3Bsn2HuzimQ\n-----END PRIVATE KEY-----";

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
                Err(other) => panic!("unexpected {other:?}"),
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
            AuthMethod::PrivateKeyJwt,
        ] {
            assert_eq!(AuthMethod::from_name(m.as_str()), Some(m));
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.as_str()));
        }
        assert_eq!(AuthMethod::from_name("client_secret_jwt"), None);
    }

    fn test_key() -> ClientKey {
        ClientKey {
            algorithm: SigningAlgorithm::ES256,
            private_key_pem: Secret::new(TEST_KEY_PEM),
            key_id: None,
        }
    }

    #[cfg(feature = "private-key-jwt")]
    fn decode_part(part: &str) -> serde_json::Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn choose_for_prefers_private_key_jwt_when_a_key_is_held_and_advertised() {
        use AuthMethod as M;
        type Row = (
            Option<&'static [&'static str]>,
            bool,
            bool,
            Result<AuthMethod, ()>,
        );
        let table: &[Row] = &[
            (
                Some(&["private_key_jwt"]),
                false,
                true,
                Ok(M::PrivateKeyJwt),
            ),
            (None, false, true, Ok(M::PrivateKeyJwt)),
            (
                Some(&["client_secret_basic", "private_key_jwt"]),
                true,
                true,
                Ok(M::PrivateKeyJwt),
            ),
            // Not advertised: fall back to what the secret allows.
            (
                Some(&["client_secret_post"]),
                true,
                true,
                Ok(M::ClientSecretPost),
            ),
            (Some(&["client_secret_post"]), false, true, Err(())),
            // Advertised, but this client holds no key.
            (Some(&["private_key_jwt"]), true, false, Err(())),
        ];
        for (supported, has_secret, has_key, want) in table {
            let owned = supported.map(list);
            let got = choose_for(owned.as_deref(), *has_secret, *has_key).map_err(drop);
            assert_eq!(
                &got, want,
                "{supported:?} secret={has_secret} key={has_key}"
            );
        }
    }

    #[cfg(feature = "private-key-jwt")]
    #[test]
    fn client_assertion_is_an_es256_jws_over_the_rfc_7523_claims() {
        let jwt = client_assertion(
            &test_key(),
            "conformance-test-client",
            "http://localhost:3000",
            1_700_000_000,
            "jti-1",
        )
        .unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            decode_part(parts[0]),
            serde_json::json!({ "alg": "ES256", "typ": "JWT" })
        );
        assert_eq!(
            decode_part(parts[1]),
            serde_json::json!({
                "iss": "conformance-test-client",
                "sub": "conformance-test-client",
                "aud": "http://localhost:3000",
                "iat": 1_700_000_000u64,
                "exp": 1_700_000_060u64,
                "jti": "jti-1",
            })
        );
        // The signature verifies with the public half of the key.
        use p256::ecdsa::signature::Verifier as _;
        use p256::pkcs8::DecodePrivateKey as _;
        let signing = p256::ecdsa::SigningKey::from_pkcs8_pem(TEST_KEY_PEM).unwrap();
        let signature_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[2])
            .unwrap();
        assert_eq!(signature_bytes.len(), 64, "JWS ES256 is r || s, not DER");
        let signature = p256::ecdsa::Signature::from_slice(&signature_bytes).unwrap();
        signing
            .verifying_key()
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .unwrap();
    }

    #[cfg(feature = "private-key-jwt")]
    #[test]
    fn private_key_jwt_sends_the_assertion_and_its_type_in_the_body() {
        let key = test_key();
        let auth = ClientAuthentication {
            method: AuthMethod::PrivateKeyJwt,
            client_id: "abc",
            client_secret: None,
            private_key: Some(&key),
            audience: "https://auth.example.com",
            now: Some(1_700_000_000),
        };
        let mut form = Vec::new();
        let mut headers = Vec::new();
        let mut entropy = |buf: &mut [u8]| buf.fill(7);
        apply_to(&auth, &mut entropy, &mut form, &mut headers).unwrap();
        assert!(headers.is_empty());
        let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        assert_eq!(get("client_id").as_deref(), Some("abc"));
        assert_eq!(
            get("client_assertion_type").as_deref(),
            Some(JWT_BEARER_ASSERTION_TYPE)
        );
        let assertion = get("client_assertion").unwrap();
        let claims = decode_part(assertion.split('.').nth(1).unwrap());
        assert_eq!(claims["jti"], "BwcHBwcHBwcHBwcHBwcHBw");
        assert_eq!(claims["aud"], "https://auth.example.com");
    }

    #[cfg(feature = "private-key-jwt")]
    #[test]
    fn private_key_jwt_needs_a_key_and_the_time() {
        let key = test_key();
        let mut auth = ClientAuthentication {
            method: AuthMethod::PrivateKeyJwt,
            client_id: "abc",
            client_secret: None,
            private_key: None,
            audience: "https://auth.example.com",
            now: Some(1),
        };
        let run = |auth: &ClientAuthentication<'_>| {
            apply_to(
                auth,
                &mut crate::entropy::OsEntropy,
                &mut Vec::new(),
                &mut Vec::new(),
            )
        };
        assert_eq!(run(&auth), Err(ClientAuthError::KeyRequired));
        auth.private_key = Some(&key);
        auth.now = None;
        assert_eq!(run(&auth), Err(ClientAuthError::TimeRequired));
        let garbage = ClientKey {
            private_key_pem: Secret::new(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
            ),
            ..test_key()
        };
        auth.private_key = Some(&garbage);
        auth.now = Some(1);
        assert!(matches!(run(&auth), Err(ClientAuthError::InvalidKey(_))));
    }

    #[cfg(not(feature = "private-key-jwt"))]
    #[test]
    fn without_the_feature_private_key_jwt_fails_with_a_typed_error() {
        let key = test_key();
        let auth = ClientAuthentication {
            method: AuthMethod::PrivateKeyJwt,
            client_id: "abc",
            client_secret: None,
            private_key: Some(&key),
            audience: "https://auth.example.com",
            now: Some(1),
        };
        let mut form = Vec::new();
        let outcome = apply_to(
            &auth,
            &mut |buf: &mut [u8]| buf.fill(7),
            &mut form,
            &mut Vec::new(),
        );
        assert_eq!(
            outcome,
            Err(ClientAuthError::SignerNotBuilt { algorithm: "ES256" })
        );
        assert!(form.iter().all(|(k, _)| k != "client_assertion"));
    }
}

//! Reading a token request
//! ([RFC 6749 §3.2](https://www.rfc-editor.org/rfc/rfc6749#section-3.2)): an
//! `application/x-www-form-urlencoded` body in which no parameter repeats and an
//! empty value counts as absent, the client's credentials (HTTP Basic with the id
//! and secret form-encoded before Base64, §2.3.1, or `client_secret` in the body,
//! or none: exactly one method), and the grant — `authorization_code` (§4.1.3,
//! with the PKCE `code_verifier` of RFC 7636 §4.5) or `refresh_token` (§6) — with
//! its RFC 8707 `resource`.

use super::client::PresentedClient;
use super::error::{TokenEndpointError, TokenErrorCode};
use super::tokens::{refresh_family_id, token_key};
use crate::client_auth::AuthMethod;
use crate::secret::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The largest token request body read; real ones are a few hundred bytes.
pub const MAX_TOKEN_REQUEST_BYTES: usize = 64 * 1024;

/// A token request, parsed; not yet authenticated or checked against any record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// Who the request says it comes from, and how it proves it.
    pub client: PresentedClient,
    /// The grant it uses.
    pub grant: TokenGrant,
    /// The RFC 8707 `resource`, if any.
    pub resource: Option<String>,
}

/// The grant of a token request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenGrant {
    /// RFC 6749 §4.1.3 with PKCE.
    AuthorizationCode {
        /// The code.
        code: Secret,
        /// Must equal the authorization request's.
        redirect_uri: String,
        /// The PKCE verifier.
        code_verifier: Secret,
    },
    /// RFC 6749 §6.
    RefreshToken {
        /// The refresh token.
        refresh_token: Secret,
        /// A narrower scope, if the client asks for one.
        scope: Option<String>,
    },
}

impl TokenRequest {
    /// Parses a token request from its `Content-Type` and `Authorization`
    /// headers and its body.
    pub fn parse(
        content_type: Option<&str>,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<TokenRequest, TokenEndpointError> {
        let form = Form::parse(content_type, body)?;
        let grant_type = form
            .get("grant_type")
            .ok_or_else(|| TokenEndpointError::invalid_request("grant_type is required"))?;
        if !matches!(grant_type, "authorization_code" | "refresh_token") {
            return Err(TokenEndpointError::new(
                TokenErrorCode::UnsupportedGrantType,
                format!("grant_type {grant_type} is not supported; use authorization_code or refresh_token"),
            ));
        }
        let client = presented_client(authorization, &form)?;
        let required = |name: &str, what: &str| {
            form.get(name).map(str::to_owned).ok_or_else(|| {
                TokenEndpointError::invalid_request(format!("{name} is required{what}"))
            })
        };
        let grant = if grant_type == "authorization_code" {
            TokenGrant::AuthorizationCode {
                code: Secret::new(required("code", "")?),
                redirect_uri: required("redirect_uri", "")?,
                code_verifier: Secret::new(required("code_verifier", " (PKCE)")?),
            }
        } else {
            TokenGrant::RefreshToken {
                refresh_token: Secret::new(required("refresh_token", "")?),
                scope: form.get("scope").map(str::to_owned),
            }
        };
        Ok(TokenRequest {
            client,
            grant,
            resource: form.get("resource").map(str::to_owned),
        })
    }

    /// The `client_id` the request claims.
    pub fn client_id(&self) -> &str {
        &self.client.client_id
    }

    /// For an `authorization_code` request: the key its code's record is stored
    /// under (see [`token_key`]).
    pub fn code_key(&self) -> Option<String> {
        match &self.grant {
            TokenGrant::AuthorizationCode { code, .. } => Some(token_key(code.expose())),
            TokenGrant::RefreshToken { .. } => None,
        }
    }

    /// For a `refresh_token` request: the id of the refresh-token family to look
    /// up; `None` also when the token is not one this toolkit issued.
    pub fn refresh_family_id(&self) -> Option<&str> {
        match &self.grant {
            TokenGrant::RefreshToken { refresh_token, .. } => {
                refresh_family_id(refresh_token.expose())
            }
            TokenGrant::AuthorizationCode { .. } => None,
        }
    }
}

/// Which method the request uses and the credentials it carries.
fn presented_client(
    authorization: Option<&str>,
    form: &Form,
) -> Result<PresentedClient, TokenEndpointError> {
    let basic = authorization.and_then(|v| {
        let (scheme, rest) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
    });
    let form_id = form.get("client_id");
    let form_secret = form.get("client_secret");
    if let Some(encoded) = basic {
        if form_secret.is_some() {
            return Err(TokenEndpointError::invalid_request(
                "use one client authentication method, not Basic and client_secret together",
            ));
        }
        let Some((client_id, secret)) = decode_basic(encoded) else {
            return Err(TokenEndpointError::invalid_client(
                "malformed Basic credentials (RFC 6749 §2.3.1: base64 of form-encoded id ':' form-encoded secret)",
                true,
            ));
        };
        if form_id.is_some_and(|id| id != client_id) {
            return Err(TokenEndpointError::invalid_request(
                "client_id in the body differs from the Basic credentials",
            ));
        }
        return Ok(PresentedClient {
            client_id,
            method: AuthMethod::ClientSecretBasic,
            secret: Some(Secret::new(secret)),
        });
    }
    let Some(client_id) = form_id else {
        return Err(TokenEndpointError::invalid_client(
            "no client authentication and no client_id",
            false,
        ));
    };
    Ok(PresentedClient {
        client_id: client_id.to_owned(),
        method: if form_secret.is_some() {
            AuthMethod::ClientSecretPost
        } else {
            AuthMethod::None
        },
        secret: form_secret.map(Secret::new),
    })
}

/// `base64(form-encode(id) ":" form-encode(secret))` back to id and secret.
pub fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let bytes = STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (id, secret) = text.split_once(':')?;
    let id = form_decode(id)?;
    (!id.is_empty()).then_some(())?;
    Some((id, form_decode(secret)?))
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space);
/// `None` when the percent-decoded bytes are not UTF-8.
fn form_decode(component: &str) -> Option<String> {
    let plus_as_space = component.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// A decoded form whose parameters are known to be unique.
struct Form(HashMap<String, String>);

impl Form {
    /// Decodes `body`, refusing a wrong content type, a body that is not UTF-8,
    /// an oversized one, or a repeated parameter.
    fn parse(content_type: Option<&str>, body: &[u8]) -> Result<Form, TokenEndpointError> {
        let essence = content_type
            .unwrap_or_default()
            .split(';')
            .next()
            .unwrap_or_default()
            .trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(TokenEndpointError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        if body.len() > MAX_TOKEN_REQUEST_BYTES {
            return Err(TokenEndpointError::invalid_request(format!(
                "the body exceeds {MAX_TOKEN_REQUEST_BYTES} bytes"
            )));
        }
        if std::str::from_utf8(body).is_err() {
            return Err(TokenEndpointError::invalid_request("the body is not UTF-8"));
        }
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(TokenEndpointError::invalid_request(format!(
                    "parameter {name} is repeated"
                )));
            }
        }
        Ok(Form(params))
    }

    /// A parameter; an empty value counts as absent (RFC 6749 §3.1).
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn parse(authorization: Option<&str>, body: &str) -> Result<TokenRequest, TokenEndpointError> {
        TokenRequest::parse(FORM, authorization, body.as_bytes())
    }

    fn code_body(extra: &str) -> String {
        format!("grant_type=authorization_code&code=c0de&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcb&code_verifier=v{extra}")
    }

    #[test]
    fn an_authorization_code_request_parses_with_each_client_method() {
        let basic = format!("Basic {}", STANDARD.encode("app:s3cret"));
        // (authorization header, extra body, method, secret)
        let table = [
            (None, "&client_id=app", AuthMethod::None, None),
            (
                None,
                "&client_id=app&client_secret=s3cret",
                AuthMethod::ClientSecretPost,
                Some("s3cret"),
            ),
            (
                Some(basic.as_str()),
                "",
                AuthMethod::ClientSecretBasic,
                Some("s3cret"),
            ),
            (
                Some(basic.as_str()),
                "&client_id=app",
                AuthMethod::ClientSecretBasic,
                Some("s3cret"),
            ),
        ];
        for (header, extra, method, secret) in table {
            let request = parse(header, &code_body(extra)).unwrap();
            assert_eq!(request.client.client_id, "app");
            assert_eq!(request.client.method, method, "{extra}");
            assert_eq!(request.client.secret, secret.map(Secret::new));
            assert_eq!(
                request.grant,
                TokenGrant::AuthorizationCode {
                    code: Secret::new("c0de"),
                    redirect_uri: "http://127.0.0.1:5/cb".into(),
                    code_verifier: Secret::new("v"),
                }
            );
            assert_eq!(request.code_key(), Some(token_key("c0de")));
            assert_eq!(request.refresh_family_id(), None);
        }
    }

    #[test]
    fn a_refresh_request_parses_with_scope_and_resource() {
        let request = parse(
            None,
            "grant_type=refresh_token&refresh_token=fam.secret&client_id=app&scope=a+b&resource=https%3A%2F%2Fmcp.example%2Fmcp",
        )
        .unwrap();
        assert_eq!(
            request.grant,
            TokenGrant::RefreshToken {
                refresh_token: Secret::new("fam.secret"),
                scope: Some("a b".into()),
            }
        );
        assert_eq!(request.resource.as_deref(), Some("https://mcp.example/mcp"));
        assert_eq!(request.refresh_family_id(), Some("fam"));
        assert_eq!(request.code_key(), None);
    }

    #[test]
    fn malformed_requests_table() {
        use TokenErrorCode::*;
        let basic = format!("Basic {}", STANDARD.encode("app:s"));
        let other_basic = format!("Basic {}", STANDARD.encode("other:s"));
        // (content type, authorization, body, expected code)
        let table: Vec<(Option<&str>, Option<&str>, String, TokenErrorCode)> = vec![
            (Some("application/json"), None, "{}".into(), InvalidRequest),
            (
                None,
                None,
                "grant_type=refresh_token".into(),
                InvalidRequest,
            ),
            (FORM, None, "client_id=x".into(), InvalidRequest),
            (
                FORM,
                None,
                "grant_type=authorization_code&grant_type=refresh_token".into(),
                InvalidRequest,
            ),
            (
                FORM,
                None,
                "grant_type=password&client_id=x".into(),
                UnsupportedGrantType,
            ),
            (
                FORM,
                None,
                "grant_type=client_credentials".into(),
                UnsupportedGrantType,
            ),
            (FORM, None, code_body(""), InvalidClient),
            (FORM, None, code_body("&client_id="), InvalidClient),
            (
                FORM,
                Some(&basic),
                code_body("&client_secret=s"),
                InvalidRequest,
            ),
            (
                FORM,
                Some(&other_basic),
                code_body("&client_id=app"),
                InvalidRequest,
            ),
            (FORM, Some("Basic !!!"), code_body(""), InvalidClient),
            (
                FORM,
                None,
                code_body("&client_id=app").replace("code_verifier=v", "code_verifier="),
                InvalidRequest,
            ),
            (
                FORM,
                None,
                code_body("&client_id=app").replace("&code=c0de", ""),
                InvalidRequest,
            ),
            (
                FORM,
                None,
                code_body("&client_id=app")
                    .replace("&redirect_uri=http%3A%2F%2F127.0.0.1%3A5%2Fcb", ""),
                InvalidRequest,
            ),
            (
                FORM,
                None,
                "grant_type=refresh_token&client_id=app".into(),
                InvalidRequest,
            ),
            (
                FORM,
                None,
                format!("a={}", "x".repeat(MAX_TOKEN_REQUEST_BYTES)),
                InvalidRequest,
            ),
        ];
        for (content_type, authorization, body, code) in table {
            let error =
                TokenRequest::parse(content_type, authorization, body.as_bytes()).unwrap_err();
            assert_eq!(
                error.code, code,
                "{content_type:?} {authorization:?} {body:.80}"
            );
        }
        let not_utf8 = TokenRequest::parse(FORM, None, &[b'a', b'=', 0xff]).unwrap_err();
        assert_eq!(not_utf8.code, InvalidRequest);
    }

    #[test]
    fn basic_credentials_are_form_decoded_after_base64() {
        // RFC 6749 §2.3.1 example: s6BhdRkqt3 / 7Fjfp0ZBr1KtDRbnfVdmIw.
        assert_eq!(
            decode_basic("czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3"),
            Some(("s6BhdRkqt3".to_owned(), "7Fjfp0ZBr1KtDRbnfVdmIw".to_owned()))
        );
        let encoded = STANDARD.encode("my%3Aid:p%40ss+w%3Ard%25");
        assert_eq!(
            decode_basic(&encoded),
            Some(("my:id".to_owned(), "p@ss w:rd%".to_owned()))
        );
    }

    #[test]
    fn malformed_basic_credentials_are_refused() {
        assert_eq!(decode_basic("not base64!"), None);
        assert_eq!(decode_basic(&STANDARD.encode("no-colon")), None);
        assert_eq!(decode_basic(&STANDARD.encode(":secret")), None);
        assert_eq!(decode_basic(&STANDARD.encode("id:%FF")), None);
    }

    #[test]
    fn debug_of_a_request_shows_no_secret() {
        let request = parse(None, &code_body("&client_id=app&client_secret=hunter2")).unwrap();
        let shown = format!("{request:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("c0de"),
            "{shown}"
        );
    }
}

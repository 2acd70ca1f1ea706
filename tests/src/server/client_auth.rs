//! Token-endpoint client authentication (RFC 6749 §2.3): `none`,
//! `client_secret_basic` (with the id and secret form-encoded before Base64, as
//! §2.3.1 requires) and `client_secret_post`. Only methods both advertised and
//! registered for the client are accepted, and a request may use only one.

use super::form::Form;
use super::reply::OAuthError;
use super::state::{AppState, Client};
use axum::http::{header, HeaderMap, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use mcp_oauth_core::client_auth::AuthMethod;
use subtle::ConstantTimeEq;

/// The client a token request authenticated as.
#[derive(Debug)]
pub(crate) struct Authenticated {
    /// Its `client_id`.
    pub client_id: String,
}

/// Credentials as presented, before they are checked.
struct Presented {
    method: AuthMethod,
    client_id: String,
    secret: Option<String>,
}

/// Authenticates the client of a token request, or says why not (§5.2).
pub(crate) fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    form: &Form,
) -> Result<Authenticated, OAuthError> {
    let presented = presented(headers, form)?;
    let client: Option<Client> = state.oauth().clients.get(&presented.client_id).cloned();
    let Some(client) = client else {
        return Err(invalid_client(presented.method, "unknown client_id"));
    };
    let method = presented.method;
    if !state.config.token_endpoint_auth_methods.contains(&method)
        || !client.auth_methods.contains(&method)
    {
        let expected: Vec<&str> = client
            .auth_methods
            .iter()
            .filter(|m| state.config.token_endpoint_auth_methods.contains(m))
            .map(|m| m.as_str())
            .collect();
        return Err(invalid_client(
            method,
            &format!(
                "client authentication {} is not allowed for this client; use {}",
                method.as_str(),
                expected.join(" or ")
            ),
        ));
    }
    if method != AuthMethod::None {
        let expected = client.secret.as_deref().unwrap_or_default();
        let given = presented.secret.as_deref().unwrap_or_default();
        let equal = expected.len() == given.len()
            && bool::from(expected.as_bytes().ct_eq(given.as_bytes()));
        if expected.is_empty() || !equal {
            return Err(invalid_client(method, "wrong client secret"));
        }
    }
    Ok(Authenticated {
        client_id: presented.client_id,
    })
}

/// Reads which method the request uses and the credentials it carries.
fn presented(headers: &HeaderMap, form: &Form) -> Result<Presented, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
        });
    let form_id = form.get("client_id");
    let form_secret = form.get("client_secret");
    if let Some(encoded) = basic {
        if form_secret.is_some() {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "use one client authentication method, not Basic and client_secret together",
            ));
        }
        let Some((client_id, secret)) = decode_basic(encoded) else {
            return Err(invalid_client(
                AuthMethod::ClientSecretBasic,
                "malformed Basic credentials (RFC 6749 §2.3.1: base64 of form-encoded id ':' form-encoded secret)",
            ));
        };
        if form_id.is_some_and(|id| id != client_id) {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "client_id in the body differs from the Basic credentials",
            ));
        }
        return Ok(Presented {
            method: AuthMethod::ClientSecretBasic,
            client_id,
            secret: Some(secret),
        });
    }
    let Some(client_id) = form_id else {
        return Err(invalid_client(
            AuthMethod::None,
            "no client authentication and no client_id",
        ));
    };
    Ok(Presented {
        method: if form_secret.is_some() {
            AuthMethod::ClientSecretPost
        } else {
            AuthMethod::None
        },
        client_id: client_id.to_owned(),
        secret: form_secret.map(str::to_owned),
    })
}

/// `base64(form-encode(id) ":" form-encode(secret))` back to id and secret.
pub(crate) fn decode_basic(encoded: &str) -> Option<(String, String)> {
    let bytes = STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (id, secret) = text.split_once(':')?;
    let id = form_decode(id)?;
    (!id.is_empty()).then_some(())?;
    Some((id, form_decode(secret)?))
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn form_decode(component: &str) -> Option<String> {
    let plus_as_space = component.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// `401 invalid_client`, with a Basic challenge when Basic was tried (§5.2).
fn invalid_client(method: AuthMethod, description: &str) -> OAuthError {
    let error = OAuthError::new(StatusCode::UNAUTHORIZED, "invalid_client", description);
    if method == AuthMethod::ClientSecretBasic {
        error.with_basic_challenge()
    } else {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::decode_basic;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;

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
        assert_eq!(decode_basic(&STANDARD.encode("id:%ff")), None);
    }
}

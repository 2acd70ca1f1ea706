//! Revoking a session's tokens at sign-out (RFC 7009), so that signing out ends
//! the grant at the server and not only on this machine.
//!
//! The refresh token is revoked first: RFC 7009 §2.1 says the server SHOULD then
//! revoke the access tokens of the same grant too, and it is the long-lived
//! credential. The access token is revoked as well while it is still valid, for
//! servers that do not cascade. Each request authenticates the client as its
//! token requests do (§2.1). A `200` is success, including for a token the
//! server no longer knows (§2.2). `unsupported_token_type` for the access token
//! is success too: servers with self-contained (JWT) access tokens cannot revoke
//! them (oidc-provider says exactly this), and they end on their own at expiry.
//! Anything else is a [`RevocationError`], and the host still forgets the tokens
//! locally: a sign-out never keeps them.

use crate::http::{HttpRequest, HttpResponse, Purpose};
use crate::session::Session;
use crate::token::{self, TokenError};

/// Revocation did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevocationError {
    /// The server answered with something other than `200`.
    #[error("the revocation endpoint answered HTTP {status}{}", error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default())]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The RFC 7009 §2.2.1 / RFC 6749 §5.2 error code, if the body had one.
        error: Option<String>,
    },
    /// The request could not be built (the client lacks its secret or key).
    #[error(transparent)]
    Request(#[from] TokenError),
}

/// The RFC 7009 requests that revoke `session`'s tokens, refresh token first; an
/// empty list when the server advertises no revocation endpoint. The access token
/// is included only while it is still valid at `now`.
pub fn revocation_requests(
    session: &Session,
    now: u64,
) -> Result<Vec<HttpRequest>, RevocationError> {
    let Some(endpoint) = &session.grant.revocation_endpoint else {
        return Ok(Vec::new());
    };
    let tokens = &session.tokens;
    let mut revoke = Vec::new();
    if let Some(refresh_token) = &tokens.refresh_token {
        revoke.push((refresh_token, "refresh_token"));
    }
    if tokens.expires_at.is_none_or(|at| now < at) {
        revoke.push((&tokens.access_token, "access_token"));
    }
    revoke
        .into_iter()
        .map(|(token, hint)| {
            let form = vec![
                ("token".to_owned(), token.expose().to_owned()),
                ("token_type_hint".to_owned(), hint.to_owned()),
            ];
            let mut request =
                token::token_request(endpoint, &session.grant.client, form, Some(now))?;
            request.purpose = Purpose::Revocation;
            Ok(request)
        })
        .collect()
}

/// Reads the answer to one of the requests of [`revocation_requests`].
pub fn check_revocation_response(
    request: &HttpRequest,
    response: &HttpResponse,
) -> Result<(), RevocationError> {
    if response.status == 200 {
        return Ok(());
    }
    let error = response
        .json_object()
        .ok()
        .and_then(|body| body.get("error")?.as_str().map(token::server_text));
    let access_token = request
        .form_pairs()
        .iter()
        .any(|(k, v)| k == "token_type_hint" && v == "access_token");
    if access_token && error.as_deref() == Some("unsupported_token_type") {
        return Ok(());
    }
    Err(RevocationError::Refused {
        status: response.status,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_auth::AuthMethod;
    use crate::registration::ClientCredentials;
    use crate::secret::Secret;
    use crate::session::Grant;
    use crate::token::TokenSet;
    use serde_json::json;
    use url::Url;

    const NOW: u64 = 1_700_000_000;

    fn session(revocation: Option<&str>, refresh: Option<&str>, expires_at: u64) -> Session {
        Session::new(
            Grant {
                server_url: "https://mcp.example.com/mcp".into(),
                resource: None,
                issuer: "https://auth.example.com".into(),
                token_endpoint: Url::parse("https://auth.example.com/token").unwrap(),
                client: ClientCredentials {
                    issuer: "https://auth.example.com".into(),
                    client_id: "app".into(),
                    client_secret: Some(Secret::new("s3cret")),
                    auth_method: AuthMethod::ClientSecretBasic,
                    client_secret_expires_at: None,
                    private_key: None,
                },
                scope: None,
                grant_type: Default::default(),
                revocation_endpoint: revocation.map(|u| Url::parse(u).unwrap()),
            },
            TokenSet {
                access_token: Secret::new("at-1"),
                token_type: "Bearer".into(),
                expires_at: Some(expires_at),
                refresh_token: refresh.map(Secret::new),
                scope: None,
                received_at: NOW - 10,
            },
        )
    }

    fn form(request: &HttpRequest) -> Vec<(String, String)> {
        request.form_pairs()
    }

    #[test]
    fn the_refresh_token_is_revoked_first_then_a_valid_access_token() {
        let requests = revocation_requests(
            &session(
                Some("https://auth.example.com/revoke"),
                Some("rt-1"),
                NOW + 60,
            ),
            NOW,
        )
        .unwrap();
        assert_eq!(requests.len(), 2);
        assert_eq!(
            form(&requests[0]),
            [
                ("token".to_owned(), "rt-1".to_owned()),
                ("token_type_hint".to_owned(), "refresh_token".to_owned())
            ]
        );
        assert_eq!(form(&requests[1])[0].1, "at-1");
        for request in &requests {
            assert_eq!(request.purpose, Purpose::Revocation);
            assert_eq!(request.url.as_str(), "https://auth.example.com/revoke");
            assert!(request
                .header("authorization")
                .unwrap()
                .starts_with("Basic "));
        }
    }

    #[test]
    fn an_expired_access_token_is_not_sent_and_no_endpoint_means_nothing_to_do() {
        let expired = session(Some("https://auth.example.com/revoke"), Some("rt-1"), NOW);
        assert_eq!(revocation_requests(&expired, NOW).unwrap().len(), 1);
        let unadvertised = session(None, Some("rt-1"), NOW + 60);
        assert!(revocation_requests(&unadvertised, NOW).unwrap().is_empty());
    }

    #[test]
    fn only_200_is_success_but_an_access_token_the_server_cannot_revoke_is_fine() {
        let requests = revocation_requests(
            &session(
                Some("https://auth.example.com/revoke"),
                Some("rt-1"),
                NOW + 60,
            ),
            NOW,
        )
        .unwrap();
        let (refresh, access) = (&requests[0], &requests[1]);
        let unsupported = HttpResponse::json_body(400, &json!({"error": "unsupported_token_type"}));
        assert_eq!(
            check_revocation_response(refresh, &HttpResponse::new(200, vec![], "")),
            Ok(())
        );
        assert_eq!(
            check_revocation_response(refresh, &unsupported),
            Err(RevocationError::Refused {
                status: 400,
                error: Some("unsupported_token_type".into())
            })
        );
        assert_eq!(check_revocation_response(access, &unsupported), Ok(()));
        assert!(check_revocation_response(access, &HttpResponse::new(503, vec![], "")).is_err());
    }
}

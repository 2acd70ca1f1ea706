//! The token endpoint: the authorization-code grant with PKCE (RFC 6749 §4.1.3,
//! RFC 7636 §4.6) and the refresh grant (RFC 6749 §6) with optional rotation
//! (OAuth 2.1 §4.3.1), both bound to the RFC 8707 `resource` of the original
//! authorization request. Errors follow RFC 6749 §5.2.

use super::client_auth::authenticate;
use super::dpop::{self, Refusal, Role};
use super::form::Form;
use super::reply::{no_store_json, OAuthError};
use super::state::{random_token, split_scopes, AccessGrant, AppState, OAuthState, RefreshGrant};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_oauth_core::pkce::verify_s256;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `POST /token`.
pub(crate) async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match Form::parse(&headers, &body) {
        Ok(form) => form,
        Err(description) => return invalid_request(description).into_response(),
    };
    let grant_type = form.get("grant_type");
    if !matches!(grant_type, Some("authorization_code" | "refresh_token")) {
        return match grant_type {
            None => invalid_request("grant_type is required"),
            Some(other) => OAuthError::bad_request(
                "unsupported_grant_type",
                format!("grant_type {other} is not supported"),
            ),
        }
        .into_response();
    }
    let client_id = match authenticate(&state, &headers, &form) {
        Ok(client) => client.client_id,
        Err(error) => return error.into_response(),
    };
    let jkt = match dpop_key(&state, &headers, &client_id) {
        Ok(jkt) => jkt,
        Err(refusal) => return refusal.at_token_endpoint(&state),
    };
    let outcome = if grant_type == Some("authorization_code") {
        authorization_code(&state, &client_id, &form, jkt)
    } else {
        refresh(&state, &client_id, &form, jkt)
    };
    match outcome {
        Ok(body) => no_store_json(StatusCode::OK, body),
        Err(error) => error.into_response(),
    }
}

/// The DPoP key a token request proved possession of (RFC 9449 §5), when the
/// server does DPoP; a client registered as DPoP-bound must prove one (§5.2).
fn dpop_key(
    state: &AppState,
    headers: &HeaderMap,
    client_id: &str,
) -> Result<Option<String>, Refusal> {
    if !state.config.dpop {
        return Ok(None);
    }
    let jkt = dpop::check(
        state,
        Role::AuthorizationServer,
        headers,
        "POST",
        &state.endpoint("/token"),
        None,
    )?;
    let bound = state
        .oauth()
        .clients
        .get(client_id)
        .is_some_and(|c| c.dpop_bound);
    if bound && jkt.is_none() {
        return Err(Refusal::Invalid(
            "this client registered dpop_bound_access_tokens: a DPoP proof is required".into(),
        ));
    }
    Ok(jkt)
}

/// RFC 6749 §4.1.3 + RFC 7636 §4.6 + RFC 8707 §2.2.
fn authorization_code(
    state: &AppState,
    client_id: &str,
    form: &Form,
    jkt: Option<String>,
) -> Result<Value, OAuthError> {
    let code = form
        .get("code")
        .ok_or_else(|| invalid_request("code is required"))?;
    let redirect_uri = form
        .get("redirect_uri")
        .ok_or_else(|| invalid_request("redirect_uri is required"))?;
    let verifier = form
        .get("code_verifier")
        .ok_or_else(|| invalid_request("code_verifier is required (PKCE)"))?;

    let mut oauth = state.oauth();
    let Some(grant) = oauth.codes.get_mut(code) else {
        return Err(invalid_grant("unknown authorization code"));
    };
    if grant.request.client_id != client_id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    // Any exchange attempt consumes the code, so a verifier cannot be guessed.
    if std::mem::replace(&mut grant.used, true) {
        return Err(invalid_grant("the authorization code was already used"));
    }
    if grant.expires <= Instant::now() {
        return Err(invalid_grant("the authorization code expired"));
    }
    let request = grant.request.clone();
    if request.redirect_uri != redirect_uri {
        return Err(invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    if !verify_s256(verifier, &request.code_challenge) {
        return Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        ));
    }
    check_same_resource(request.resource.as_deref(), form.get("resource"))?;
    let scopes = split_scopes(request.scope.as_deref());
    let refresh = state.config.issue_refresh_tokens;
    Ok(issue(
        state,
        &mut oauth,
        Issue {
            client_id,
            scopes,
            resource: request.resource,
            with_refresh: refresh,
            jkt,
        },
    ))
}

/// RFC 6749 §6 with rotation and the original grant's resource.
fn refresh(
    state: &AppState,
    client_id: &str,
    form: &Form,
    jkt: Option<String>,
) -> Result<Value, OAuthError> {
    let token = form
        .get("refresh_token")
        .ok_or_else(|| invalid_request("refresh_token is required"))?;
    if state.config.refresh_always_fails {
        return Err(invalid_grant("the refresh token was revoked"));
    }
    let mut oauth = state.oauth();
    let Some(grant) = oauth.refresh_tokens.get(token).cloned() else {
        return Err(invalid_grant("unknown refresh token"));
    };
    if grant.client_id != client_id {
        return Err(invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if grant.used {
        return Err(invalid_grant(
            "the refresh token was already used (rotation); use the newest one",
        ));
    }
    check_same_resource(grant.resource.as_deref(), form.get("resource"))?;
    // RFC 9449 §5: a bound refresh token needs a proof of the same key.
    if grant.jkt.is_some() && grant.jkt != jkt {
        return Err(OAuthError::bad_request(
            "invalid_dpop_proof",
            "the refresh token is bound to another DPoP key",
        ));
    }
    let scopes = match form.get("scope") {
        None => grant.scopes.clone(),
        Some(scope) => {
            let requested = split_scopes(Some(scope));
            if let Some(extra) = requested.iter().find(|s| !grant.scopes.contains(s)) {
                return Err(OAuthError::bad_request(
                    "invalid_scope",
                    format!("scope {extra} exceeds the original grant"),
                ));
            }
            requested
        }
    };
    let rotate = state.config.rotate_refresh_tokens;
    if rotate {
        if let Some(old) = oauth.refresh_tokens.get_mut(token) {
            old.used = true;
        }
    }
    Ok(issue(
        state,
        &mut oauth,
        Issue {
            client_id,
            scopes,
            resource: grant.resource,
            with_refresh: rotate,
            jkt,
        },
    ))
}

/// What a new access (and refresh) token is for.
struct Issue<'a> {
    client_id: &'a str,
    scopes: Vec<String>,
    resource: Option<String>,
    with_refresh: bool,
    /// The DPoP key to bind both tokens to (RFC 9449 §5, §6).
    jkt: Option<String>,
}

/// RFC 8707: a token request names the same resource as the grant (or, when the
/// grant named none, none either).
fn check_same_resource(granted: Option<&str>, requested: Option<&str>) -> Result<(), OAuthError> {
    if granted == requested {
        return Ok(());
    }
    Err(OAuthError::bad_request(
        "invalid_target",
        format!(
            "resource {} differs from the authorization request's {}",
            requested.unwrap_or("(absent)"),
            granted.unwrap_or("(absent)")
        ),
    ))
}

/// Issues an access token (and a refresh token when `with_refresh`), bound to
/// the DPoP key `jkt` when there is one, returning the RFC 6749 §5.1 body.
fn issue(state: &AppState, oauth: &mut OAuthState, issue: Issue<'_>) -> Value {
    let Issue {
        client_id,
        scopes,
        resource,
        with_refresh,
        jkt,
    } = issue;
    let lifetime = state.config.access_token_lifetime_secs;
    let access_token = random_token("at");
    oauth.access_tokens.insert(
        access_token.clone(),
        AccessGrant {
            scopes: scopes.clone(),
            resource: resource.clone(),
            expires: Instant::now() + Duration::from_secs(lifetime),
            jkt: jkt.clone(),
        },
    );
    let token_type = if jkt.is_some() {
        mcp_oauth_core::dpop::TOKEN_TYPE
    } else {
        "Bearer"
    };
    let mut body = json!({
        "access_token": access_token,
        "token_type": token_type,
        "expires_in": lifetime,
    });
    if !scopes.is_empty() {
        body["scope"] = Value::String(scopes.join(" "));
    }
    if with_refresh {
        let refresh_token = random_token("rt");
        oauth.refresh_tokens.insert(
            refresh_token.clone(),
            RefreshGrant {
                client_id: client_id.to_owned(),
                scopes,
                resource,
                used: false,
                jkt,
            },
        );
        body["refresh_token"] = Value::String(refresh_token);
    }
    body
}

fn invalid_request(description: impl Into<String>) -> OAuthError {
    OAuthError::bad_request("invalid_request", description)
}

fn invalid_grant(description: &str) -> OAuthError {
    OAuthError::bad_request("invalid_grant", description)
}

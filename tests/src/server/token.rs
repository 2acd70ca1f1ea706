//! The token endpoint: the host's glue around `mcp_oauth_core::server`, which
//! parses the request, authenticates the client (RFC 6749 §2.3), checks the code
//! (PKCE, redirect URI, RFC 8707 resource, single use) or the refresh token
//! (rotation with replay detection), mints the tokens and shapes RFC 6749 §5.1 /
//! §5.2 responses. This module only looks records up and stores them, and, with
//! DPoP on, binds the tokens to the key of the request's proof (see `dpop`).

use super::client_metadata::known_client;
use super::dpop::{self, Refusal, Role};
use super::reply::json_response;
use super::state::{now, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use mcp_oauth_core::entropy::OsEntropy;
use mcp_oauth_core::server::error::no_store_json_headers;
use mcp_oauth_core::server::{TokenEndpointError, TokenGrant, TokenRequest};
use std::sync::Arc;

/// `POST /token`.
pub(crate) async fn token(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match tokens(&state, &headers, &body) {
        Ok(body) => json_response(200, no_store_json_headers(), body),
        Err(Failure::Endpoint(error)) => {
            json_response(error.status(), error.headers(), error.body())
        }
        Err(Failure::Dpop(refusal)) => refusal.at_token_endpoint(&state),
    }
}

/// Why a token request failed: core's decision, or the DPoP proof.
enum Failure {
    Endpoint(TokenEndpointError),
    Dpop(Refusal),
}

impl From<TokenEndpointError> for Failure {
    fn from(error: TokenEndpointError) -> Self {
        Failure::Endpoint(error)
    }
}

fn tokens(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, Failure> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let request = TokenRequest::parse(
        header(header::CONTENT_TYPE),
        header(header::AUTHORIZATION),
        body,
    )?;
    let jkt = dpop_key(state, headers, request.client_id()).map_err(Failure::Dpop)?;
    let client = known_client(state, request.client_id());
    let now = now();
    let mut oauth = state.oauth();
    let grant = match &request.grant {
        TokenGrant::AuthorizationCode { .. } => {
            let record = request.code_key().and_then(|key| oauth.take_code(&key));
            state
                .server
                .exchange_code(&request, client.as_ref(), record.as_ref(), now)
        }
        TokenGrant::RefreshToken { .. } if state.config.refresh_always_fails => Err(
            TokenEndpointError::invalid_grant("the refresh token was revoked"),
        ),
        TokenGrant::RefreshToken { .. } => {
            let id = request.refresh_family_id();
            // RFC 9449 §5: a bound refresh token needs a proof of the same key.
            let bound = id.and_then(|id| oauth.dpop_bindings.get(id));
            if bound.is_some() && bound != jkt.as_ref() {
                return Err(Failure::Dpop(Refusal::Invalid(
                    "the refresh token is bound to another DPoP key".into(),
                )));
            }
            let family = id.and_then(|id| oauth.families.get(id));
            state.server.refresh(&request, client.as_ref(), family, now)
        }
    };
    let grant = grant.inspect_err(|error| {
        if let Some(family) = &error.revoke_family {
            oauth.revoke_family(family);
        }
    })?;
    let issued = state
        .server
        .issue_tokens(&grant, now, &mut OsEntropy)
        .map_err(|e| TokenEndpointError::invalid_request(e.to_string()))?;
    oauth
        .access_tokens
        .insert(issued.access_key.clone(), issued.access.clone());
    if let Some(family) = &issued.family {
        oauth.families.insert(family.id.clone(), family.clone());
    }
    let mut body = issued.body();
    if let Some(jkt) = jkt {
        // Bound: the access token and its refresh-token family (RFC 9449 §5, §6).
        oauth
            .dpop_bindings
            .insert(issued.access_key.clone(), jkt.clone());
        if let Some(family) = &issued.family {
            oauth.dpop_bindings.insert(family.id.clone(), jkt);
        }
        body["token_type"] = mcp_oauth_core::dpop::TOKEN_TYPE.into();
    }
    Ok(body)
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
    let bound = state.oauth().dpop_bound_clients.contains(client_id);
    if bound && jkt.is_none() {
        return Err(Refusal::Invalid(
            "this client registered dpop_bound_access_tokens: a DPoP proof is required".into(),
        ));
    }
    Ok(jkt)
}

//! The token endpoint: the host's glue around `mcp_oauth_core::server`, which
//! parses the request, authenticates the client (RFC 6749 §2.3), checks the code
//! (PKCE, redirect URI, RFC 8707 resource, single use) or the refresh token
//! (rotation with replay detection), mints the tokens and shapes RFC 6749 §5.1 /
//! §5.2 responses. This module only looks records up and stores them.

use super::client_metadata::known_client;
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
        Err(error) => json_response(error.status(), error.headers(), error.body()),
    }
}

fn tokens(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, TokenEndpointError> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let request = TokenRequest::parse(
        header(header::CONTENT_TYPE),
        header(header::AUTHORIZATION),
        body,
    )?;
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
            let family = request
                .refresh_family_id()
                .and_then(|id| oauth.families.get(id));
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
    Ok(issued.body())
}

//! Finding the client of a request: a registered one, or — for a URL client id —
//! the client its Client ID Metadata Document describes. Fetching is the host's
//! part (GET, `Accept: application/json`, no redirects, a time limit, at most
//! `MAX_CLIENT_METADATA_BYTES` read); whether the document yields a client is
//! `mcp_oauth_core`'s decision. The document is fetched on every authorization
//! request (it may change), and the client it yields is kept for the token
//! endpoint.

use super::state::AppState;
use mcp_oauth_core::http::HttpResponse;
use mcp_oauth_core::server::client_metadata::MAX_CLIENT_METADATA_BYTES;
use mcp_oauth_core::server::Client;
use std::time::Duration;

/// How long fetching a metadata document may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// The client for an authorization request's `client_id`: `Ok(None)` when it is
/// unknown, `Err` (an explanation for the user) when its metadata document
/// cannot be used.
pub(crate) async fn client_for(
    state: &AppState,
    client_id: Option<&str>,
) -> Result<Option<Client>, String> {
    let Some(client_id) = client_id else {
        return Ok(None);
    };
    if let Some(client) = state.oauth().clients.get(client_id) {
        return Ok(Some(client.clone()));
    }
    if !state.server.is_metadata_client_id(client_id) {
        return Ok(None);
    }
    let response = fetch(client_id)
        .await
        .map_err(|e| format!("cannot fetch the client metadata document {client_id}: {e}"))?;
    let client = state
        .server
        .client_from_metadata_document(client_id, &response)
        .map_err(|e| e.to_string())?;
    state
        .oauth()
        .document_clients
        .insert(client_id.to_owned(), client.clone());
    Ok(Some(client))
}

/// The client of a token request: registered, or read from its metadata
/// document at the authorization request.
pub(crate) fn known_client(state: &AppState, client_id: &str) -> Option<Client> {
    let oauth = state.oauth();
    oauth
        .clients
        .get(client_id)
        .or_else(|| oauth.document_clients.get(client_id))
        .cloned()
}

/// GETs a metadata document, reading at most one byte past the cap (so core can
/// tell it is too large).
async fn fetch(url: &str) -> Result<HttpResponse, reqwest::Error> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(FETCH_TIMEOUT)
        .build()?;
    let mut response = http
        .get(url)
        .header("accept", "application/json")
        .send()
        .await?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_CLIENT_METADATA_BYTES {
            break;
        }
    }
    Ok(HttpResponse::new(status, headers, body))
}

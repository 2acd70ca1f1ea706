//! The authorization endpoint (RFC 6749 §4.1.1–§4.1.2): the host's glue around
//! `mcp_oauth_core::server`, which validates the request (redirect policy,
//! PKCE S256, scopes, RFC 8707 `resource`), decides where an error may go, and
//! builds the redirect with `code`, `state` and RFC 9207 `iss`.
//!
//! Errors that concern the client or its redirect URI are shown as a `400` page
//! and never redirected (RFC 6749 §4.1.2.1). Consent is headless by default; with
//! `consent_page` an HTML page with Approve and Deny buttons posts to
//! `/authorize/approve`.

use super::client_metadata::client_for;
use super::form::Form;
use super::reply::{escape, found, html_page};
use super::state::{now, random_id, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use mcp_oauth_core::entropy::OsEntropy;
use mcp_oauth_core::server::{AuthorizationParams, AuthorizationRequest};
use std::sync::Arc;

/// `GET /authorize`.
pub(crate) async fn authorize(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let params = match AuthorizationParams::from_query(uri.query().unwrap_or_default()) {
        Ok(params) => params,
        Err(error) => return refusal_page(&error.to_string()),
    };
    let client = match client_for(&state, params.client_id.as_deref()).await {
        Ok(client) => client,
        Err(description) => return refusal_page(&description),
    };
    match state
        .server
        .validate_authorization_request(&params, client.as_ref())
    {
        Ok(request) if state.config.consent_page => consent_page(&state, request),
        Ok(request) => approve(&state, &request),
        Err(refusal) => match refusal.redirect_to {
            Some(to) => found(&to),
            None => refusal_page(&refusal.error.to_string()),
        },
    }
}

/// `POST /authorize/approve`: the consent page's answer.
pub(crate) async fn decide(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match Form::parse(&headers, &body) {
        Ok(form) => form,
        Err(description) => return refusal_page(&description),
    };
    let Some(request) = form
        .get("pending")
        .and_then(|id| state.oauth().pending.remove(id))
    else {
        return refusal_page("this consent request is unknown or was already answered");
    };
    match form.get("decision") {
        Some("approve") => approve(&state, &request),
        _ => found(&state.server.deny(&request)),
    }
}

/// Issues a code, stores its record, and sends the user back with it.
fn approve(state: &AppState, request: &AuthorizationRequest) -> Response {
    match state
        .server
        .issue_code(request, None, now(), &mut OsEntropy)
    {
        Ok(issued) => {
            state.oauth().codes.insert(issued.key, issued.record);
            found(&issued.redirect_to)
        }
        Err(error) => html_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cannot issue a code",
            &format!("<p>{}</p>", escape(&error.to_string())),
        ),
    }
}

/// The consent page for a validated request.
fn consent_page(state: &AppState, request: AuthorizationRequest) -> Response {
    let pending = random_id("pending");
    let body = format!(
        "<p>Client <code>{client}</code> asks for access to <code>{resource}</code> \
         with scope <code>{scope}</code>.</p>\n\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"pending\" value=\"{pending}\">\n\
         <button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">Approve</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>\n\
         </form>",
        client = escape(&request.client_id),
        resource = escape(request.resource.as_deref().unwrap_or(&state.mcp_url)),
        scope = escape(request.scope.as_deref().unwrap_or("(none)")),
        action = escape(&state.endpoint("/authorize/approve")),
        pending = escape(&pending),
    );
    state.oauth().pending.insert(pending, request);
    html_page(StatusCode::OK, "Authorize access", &body)
}

/// The `400` page for requests that must not be redirected.
fn refusal_page(reason: &str) -> Response {
    html_page(
        StatusCode::BAD_REQUEST,
        "Authorization request refused",
        &format!("<p>{}</p>", escape(reason)),
    )
}

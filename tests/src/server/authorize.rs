//! The authorization endpoint (RFC 6749 §4.1.1–§4.1.2) with mandatory PKCE S256,
//! RFC 8707 `resource` checks and RFC 9207 `iss` on every response.
//!
//! Requests are validated by `mcp_oauth_core::server`. Errors that concern the
//! client or its redirect URI are shown as a `400` page and never redirected
//! (RFC 6749 §4.1.2.1); the others go back to the client as `error=...`.
//! Consent is headless by default; with `consent_page` an HTML page with Approve
//! and Deny buttons posts to `/authorize/approve`.

use super::form::Form;
use super::reply::{escape, found, html_page};
use super::state::{random_token, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use mcp_oauth_core::server::{
    validate_authorization_request, AuthorizationParams, ValidAuthorizationRequest,
};
use std::sync::Arc;
use url::Url;

/// `GET /authorize`.
pub(crate) async fn authorize(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let params = match AuthorizationParams::from_query(uri.query().unwrap_or_default()) {
        Ok(params) => params,
        Err(error) => return refusal_page(&error.to_string()),
    };
    let client = params
        .client_id
        .as_deref()
        .and_then(|id| state.oauth().clients.get(id).cloned());
    let valid = match validate_authorization_request(
        &params,
        client.as_ref().map(|c| &c.registered),
        &state.config.scopes_supported,
    ) {
        Ok(valid) => valid,
        Err(error) if error.redirectable() => {
            // A redirectable error implies a validated client and redirect URI.
            let Some(redirect_uri) = params.redirect_uri.as_deref() else {
                return refusal_page(&error.to_string());
            };
            return redirect_error(
                &state,
                redirect_uri,
                params.state.as_deref(),
                error.oauth_error(),
                &error.to_string(),
            );
        }
        Err(error) => return refusal_page(&error.to_string()),
    };
    if let Err(description) = check_resource(&state, valid.resource.as_deref()) {
        return redirect_error(
            &state,
            &valid.redirect_uri,
            valid.state.as_deref(),
            "invalid_target",
            &description,
        );
    }
    let valid = with_default_scope(&state, valid);
    if state.config.consent_page {
        consent_page(&state, valid)
    } else {
        approve(&state, valid)
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
        Some("approve") => approve(&state, request),
        _ => redirect_error(
            &state,
            &request.redirect_uri,
            request.state.as_deref(),
            "access_denied",
            "the user denied the request",
        ),
    }
}

/// RFC 8707: the only resource this server issues tokens for is its MCP URL.
fn check_resource(state: &AppState, resource: Option<&str>) -> Result<(), String> {
    match resource {
        Some(resource) if resource == state.mcp_url => Ok(()),
        Some(resource) => Err(format!(
            "resource {resource} is not served here; use {}",
            state.mcp_url
        )),
        None if state.config.require_resource => {
            Err(format!("resource is required; use {}", state.mcp_url))
        }
        None => Ok(()),
    }
}

/// A request naming no scope is granted the default scopes.
fn with_default_scope(
    state: &AppState,
    mut valid: ValidAuthorizationRequest,
) -> ValidAuthorizationRequest {
    if valid.scope.as_deref().unwrap_or_default().trim().is_empty() {
        let defaults = state.config.default_scopes.join(" ");
        valid.scope = (!defaults.is_empty()).then_some(defaults);
    }
    valid
}

/// Issues a code and sends the user back.
fn approve(state: &AppState, valid: ValidAuthorizationRequest) -> Response {
    let redirect_uri = valid.redirect_uri.clone();
    let client_state = valid.state.clone();
    let code = state.issue_code(valid);
    let mut pairs = vec![("code", code.as_str())];
    if let Some(s) = client_state.as_deref() {
        pairs.push(("state", s));
    }
    redirect_to_client(state, &redirect_uri, &pairs)
}

/// The consent page for a validated request.
fn consent_page(state: &AppState, valid: ValidAuthorizationRequest) -> Response {
    let pending = random_token("pending");
    let body = format!(
        "<p>Client <code>{client}</code> asks for access to <code>{resource}</code> \
         with scope <code>{scope}</code>.</p>\n\
         <form method=\"post\" action=\"{action}\">\n\
         <input type=\"hidden\" name=\"pending\" value=\"{pending}\">\n\
         <button type=\"submit\" name=\"decision\" value=\"approve\" id=\"approve\">Approve</button>\n\
         <button type=\"submit\" name=\"decision\" value=\"deny\" id=\"deny\">Deny</button>\n\
         </form>",
        client = escape(&valid.client_id),
        resource = escape(valid.resource.as_deref().unwrap_or(&state.mcp_url)),
        scope = escape(valid.scope.as_deref().unwrap_or("(none)")),
        action = escape(&state.endpoint("/authorize/approve")),
        pending = escape(&pending),
    );
    state.oauth().pending.insert(pending, valid);
    html_page(StatusCode::OK, "Authorize access", &body)
}

/// Sends an error back to the client's redirect URI (RFC 6749 §4.1.2.1).
fn redirect_error(
    state: &AppState,
    redirect_uri: &str,
    client_state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(s) = client_state {
        pairs.push(("state", s));
    }
    redirect_to_client(state, redirect_uri, &pairs)
}

/// A `302` to the redirect URI with `pairs` (and `iss` when configured) appended
/// to its query.
fn redirect_to_client(state: &AppState, redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return refusal_page("the redirect URI is not a valid URL");
    };
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        if state.config.iss_parameter {
            query.append_pair("iss", &state.issuer);
        }
    }
    found(url.as_str())
}

/// The `400` page for requests that must not be redirected.
fn refusal_page(reason: &str) -> Response {
    html_page(
        StatusCode::BAD_REQUEST,
        "Authorization request refused",
        &format!("<p>{}</p>", escape(reason)),
    )
}

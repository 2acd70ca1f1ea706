//! The request log: every request the server answered, with its form or JSON body
//! and its status, so tests can count round trips and inspect what a client sent.
//! Secrets are recorded as they arrived: this is a test server.

use super::state::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRequest {
    /// The HTTP method, e.g. `POST`.
    pub method: String,
    /// The path, e.g. `/token`.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The `Authorization` header, verbatim.
    pub authorization: Option<String>,
    /// The `DPoP` proof header (RFC 9449), verbatim.
    pub dpop: Option<String>,
    /// The decoded `application/x-www-form-urlencoded` body, in order.
    pub form: Vec<(String, String)>,
    /// The body, when it was JSON.
    pub json: Option<serde_json::Value>,
    /// The status the server answered with.
    pub status: u16,
}

impl LoggedRequest {
    /// The first value of a form parameter.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a query parameter, decoded.
    pub fn query_value(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_deref().unwrap_or_default().as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// Middleware: buffers the body (within the body limit), lets the handler answer,
/// then records the exchange.
pub(crate) async fn record(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, super::BODY_LIMIT).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let response =
                (StatusCode::PAYLOAD_TOO_LARGE, "request body too large").into_response();
            push(&state, &parts, Vec::new(), None, response.status());
            return response;
        }
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let form = if content_type.starts_with("application/x-www-form-urlencoded") {
        url::form_urlencoded::parse(&bytes).into_owned().collect()
    } else {
        Vec::new()
    };
    let json = if content_type.starts_with("application/json") {
        serde_json::from_slice(&bytes).ok()
    } else {
        None
    };
    let response = next
        .run(Request::from_parts(parts.clone(), Body::from(bytes)))
        .await;
    push(&state, &parts, form, json, response.status());
    response
}

fn push(
    state: &AppState,
    parts: &axum::http::request::Parts,
    form: Vec<(String, String)>,
    json: Option<serde_json::Value>,
    status: StatusCode,
) {
    let entry = LoggedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        authorization: parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        dpop: parts
            .headers
            .get(mcp_oauth_core::dpop::HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        form,
        json,
        status: status.as_u16(),
    };
    tracing::info!(
        method = %entry.method,
        path = %entry.path,
        status = entry.status,
        "test server request"
    );
    state.log().push(entry);
}

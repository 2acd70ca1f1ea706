//! Response shapes shared by the endpoints: RFC 6749 §5.2 error bodies, JSON
//! documents that must not be cached, and small HTML pages.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use serde_json::{json, Value};

/// A JSON body with `Cache-Control: no-store` and `Pragma: no-cache`
/// (RFC 6749 §5.1, RFC 8414 examples).
pub(crate) fn no_store_json(status: StatusCode, body: Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An OAuth error response (RFC 6749 §5.2, RFC 7591 §3.2.2).
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    OAuthError::new(status, error, description).into_response()
}

/// An RFC 6749 §5.2 error, turned into its JSON response at the handler's edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: String,
    description: String,
    basic_challenge: bool,
}

impl OAuthError {
    /// An error with the given status, code and explanation.
    pub fn new(status: StatusCode, error: &str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            error: error.to_owned(),
            description: description.into(),
            basic_challenge: false,
        }
    }

    /// A `400` error.
    pub fn bad_request(error: &str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }

    /// Adds `WWW-Authenticate: Basic` (§5.2, when the client tried Basic).
    pub fn with_basic_challenge(mut self) -> Self {
        self.basic_challenge = true;
        self
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut response = no_store_json(
            self.status,
            json!({ "error": self.error, "error_description": self.description }),
        );
        if self.basic_challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"mcp-oauth test server\""),
            );
        }
        response
    }
}

/// An HTML page, with the given status, whose text is escaped.
pub(crate) fn html_page(status: StatusCode, title: &str, body_html: &str) -> Response {
    let page = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body><h1>{}</h1>\n{}\n</body></html>\n",
        escape(title),
        escape(title),
        body_html
    );
    let mut response = (status, Html(page)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A `302 Found` to `location`.
pub(crate) fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, value);
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(_) => html_page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect",
            "<p>The redirect URI cannot be sent in a Location header.</p>",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escape_neutralises_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}

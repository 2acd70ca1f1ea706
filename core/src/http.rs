//! HTTP as data: core describes the requests it needs and reads the responses the
//! host hands back, but never touches a socket.
//!
//! Bodies are bytes. Reading one as JSON goes through [`HttpResponse::json`], which
//! enforces the size cap and the content type so that every parser in core gets the
//! same clear errors for oversized, mislabelled or malformed bodies.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use url::Url;

/// The largest body core will parse. OAuth metadata and token responses are a few
/// kilobytes; anything far larger is a misbehaving or hostile server.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// The HTTP methods OAuth needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// Metadata fetches and the MCP probe fallback.
    Get,
    /// Token and registration requests, MCP JSON-RPC.
    Post,
}

impl Method {
    /// The method name as it goes on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Why core wants a request sent. Executors use it for policy: token and
/// registration calls must never follow redirects, metadata fetches may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// An unauthenticated request to the resource, to provoke a `401` challenge.
    Probe,
    /// Protected-resource metadata (RFC 9728).
    ResourceMetadata,
    /// Authorization-server metadata (RFC 8414 / OpenID Connect discovery).
    AuthorizationServerMetadata,
    /// Dynamic client registration (RFC 7591).
    Registration,
    /// A token endpoint call (any grant).
    Token,
    /// Token revocation at sign-out (RFC 7009).
    Revocation,
}

impl Purpose {
    /// Whether an executor may follow a redirect answering this request.
    pub fn may_follow_redirects(self) -> bool {
        matches!(
            self,
            Purpose::ResourceMetadata | Purpose::AuthorizationServerMetadata
        )
    }
}

/// A request core wants the host to send.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    /// GET or POST.
    pub method: Method,
    /// The absolute URL to send it to.
    pub url: Url,
    /// Header names and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body; empty for GET.
    pub body: Vec<u8>,
    /// What the request is for, so executors can apply per-purpose policy.
    pub purpose: Purpose,
}

impl HttpRequest {
    /// A GET accepting JSON.
    pub fn get(url: Url, purpose: Purpose) -> Self {
        Self {
            method: Method::Get,
            url,
            headers: vec![("Accept".into(), "application/json".into())],
            body: Vec::new(),
            purpose,
        }
    }

    /// A POST with an `application/x-www-form-urlencoded` body built from `pairs`.
    pub fn post_form<K: AsRef<str>, V: AsRef<str>>(
        url: Url,
        purpose: Purpose,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            method: Method::Post,
            url,
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("Accept".into(), "application/json".into()),
            ],
            body: form_encode(pairs).into_bytes(),
            purpose,
        }
    }

    /// A POST with a JSON body.
    pub fn post_json<T: Serialize>(url: Url, purpose: Purpose, body: &T) -> Self {
        Self {
            method: Method::Post,
            url,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Accept".into(), "application/json".into()),
            ],
            // Serializing our own plain structs cannot fail.
            body: serde_json::to_vec(body).unwrap_or_default(),
            purpose,
        }
    }

    /// Adds a header, keeping any already present.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The body decoded as form pairs (for tests and logging of parameter names).
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }
}

/// Token requests carry secrets in headers and bodies, so `Debug` shows only the
/// method, URL, header names and the body's length.
impl fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &self.url.as_str())
            .field("headers", &header_names)
            .field("body_len", &self.body.len())
            .field("purpose", &self.purpose)
            .finish()
    }
}

/// A response the host received for one of core's requests.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names and values; a header that appeared twice appears twice.
    pub headers: Vec<(String, String)>,
    /// The body as received (hosts should stop reading past [`MAX_BODY_BYTES`]).
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response from parts; handy for hosts and for recorded test responses.
    pub fn new(status: u16, headers: Vec<(String, String)>, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers,
            body: body.into(),
        }
    }

    /// A response with a JSON body and `Content-Type: application/json`.
    pub fn json_body(status: u16, body: &serde_json::Value) -> Self {
        Self::new(
            status,
            vec![("Content-Type".into(), "application/json".into())],
            body.to_string(),
        )
    }

    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Every value of a header, by case-insensitive name, in order.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body parsed as JSON into `T`, after checking its size and that it is
    /// labelled `application/json` (or a `+json` type).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, BodyError> {
        self.check_json_envelope()?;
        serde_json::from_slice(&self.body).map_err(|e| BodyError::Json {
            // serde_json's messages can quote values from the body; keep only the
            // category and position so a malformed token response leaks nothing.
            detail: json_error_summary(&e),
        })
    }

    /// The body as a JSON object, for parsers that pick fields by hand.
    pub fn json_object(&self) -> Result<serde_json::Map<String, serde_json::Value>, BodyError> {
        match self.json::<serde_json::Value>()? {
            serde_json::Value::Object(map) => Ok(map),
            _ => Err(BodyError::Json {
                detail: "expected a JSON object".into(),
            }),
        }
    }

    fn check_json_envelope(&self) -> Result<(), BodyError> {
        if self.body.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        let content_type = self.header("content-type").unwrap_or("");
        if !is_json_media_type(content_type) {
            return Err(BodyError::NotJson {
                content_type: if content_type.is_empty() {
                    "none".into()
                } else {
                    crate::text::server_text(content_type)
                },
            });
        }
        Ok(())
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("content_type", &self.header("content-type"))
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// A response body core could not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// The body is larger than core will parse.
    #[error("response body exceeds {limit} bytes")]
    TooLarge {
        /// The cap that was exceeded.
        limit: usize,
    },
    /// The body is not labelled as JSON.
    #[error("expected a JSON response but got content type {content_type}")]
    NotJson {
        /// The `Content-Type` received (cleaned, truncated), or `none`.
        content_type: String,
    },
    /// The body is labelled as JSON but is not valid JSON of the expected shape.
    #[error("malformed JSON response: {detail}")]
    Json {
        /// What was wrong, without quoting the body.
        detail: String,
    },
}

/// Encodes pairs as `application/x-www-form-urlencoded`.
pub fn form_encode<K: AsRef<str>, V: AsRef<str>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k.as_ref(), v.as_ref());
    }
    serializer.finish()
}

/// Reads decoded query or form pairs, handing each to `store`, which returns
/// `false` for a name it does not know (such pairs are ignored). A known name that
/// appears twice is refused (RFC 6749 §3.1): the `Err` carries that name.
pub fn read_unique_params<'a>(
    pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>,
    mut store: impl FnMut(&str, String) -> bool,
) -> Result<(), String> {
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in pairs {
        if seen.iter().any(|known| *known == name) {
            return Err(name.into_owned());
        }
        if store(&name, value.into_owned()) {
            seen.push(name.into_owned());
        }
    }
    Ok(())
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn is_json_media_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_error_summary(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "read error",
        Category::Syntax => "syntax error",
        Category::Data => "unexpected shape",
        Category::Eof => "truncated",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(content_type: &str, body: &str) -> HttpResponse {
        HttpResponse::new(
            200,
            vec![("Content-Type".into(), content_type.into())],
            body,
        )
    }

    #[test]
    fn json_accepts_json_and_plus_json_media_types() {
        for ct in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/problem+json",
        ] {
            let v: serde_json::Value = response(ct, "{}").json().unwrap();
            assert_eq!(v, json!({}), "{ct}");
        }
    }

    #[test]
    fn json_rejects_wrong_content_type_with_what_was_received() {
        let err = response("text/html", "{}")
            .json::<serde_json::Value>()
            .unwrap_err();
        assert_eq!(
            err,
            BodyError::NotJson {
                content_type: "text/html".into()
            }
        );
        let err = HttpResponse::new(200, vec![], "{}")
            .json::<serde_json::Value>()
            .unwrap_err();
        assert_eq!(
            err,
            BodyError::NotJson {
                content_type: "none".into()
            }
        );
    }

    #[test]
    fn json_rejects_oversized_bodies() {
        let big = format!("\"{}\"", "a".repeat(MAX_BODY_BYTES));
        let err = response("application/json", &big)
            .json::<serde_json::Value>()
            .unwrap_err();
        assert_eq!(
            err,
            BodyError::TooLarge {
                limit: MAX_BODY_BYTES
            }
        );
    }

    #[test]
    fn malformed_json_error_does_not_quote_the_body() {
        #[derive(Debug, serde::Deserialize)]
        struct T {
            #[allow(dead_code)]
            n: u64,
        }
        let err = response("application/json", r#"{"n":"sekrit-value"}"#)
            .json::<T>()
            .unwrap_err();
        assert!(!err.to_string().contains("sekrit"), "{err}");
        let err = response("application/json", "{not json")
            .json::<T>()
            .unwrap_err();
        assert!(matches!(err, BodyError::Json { .. }));
    }

    #[test]
    fn debug_of_a_request_hides_authorization_and_body() {
        let req = HttpRequest::post_form(
            Url::parse("https://as.example/token").unwrap(),
            Purpose::Token,
            [("client_secret", "s3cret")],
        )
        .with_header("Authorization", "Basic czNjcmV0");
        let shown = format!("{req:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("czNjcmV0"),
            "{shown}"
        );
        assert!(shown.contains("Authorization"));
    }

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        assert_eq!(form_encode([("a b", "c&d=e")]), "a+b=c%26d%3De");
    }

    #[test]
    fn only_metadata_fetches_may_follow_redirects() {
        assert!(Purpose::ResourceMetadata.may_follow_redirects());
        assert!(!Purpose::Token.may_follow_redirects());
        assert!(!Purpose::Registration.may_follow_redirects());
    }
}

//! Sends core's [`HttpRequest`]s with reqwest (rustls, no OpenSSL).
//!
//! Policy lives here because it is about I/O, not protocol: connect and total
//! timeouts, a cap on how much of a response is read, https-only (plain http only
//! on loopback), and no redirects on token and registration calls, whose bodies
//! carry secrets that must not be replayed to another URL.

use crate::error::TransportError;
use mcp_oauth_core::http::{HttpRequest, HttpResponse, Method, MAX_BODY_BYTES};
use mcp_oauth_core::loopback::is_secure_or_loopback;
use std::time::Duration;

/// Limits for outgoing requests.
#[derive(Debug, Clone)]
pub struct ExecutorConfig {
    /// How long to wait for a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// How long a whole request may take, body included.
    pub request_timeout: Duration,
    /// The most bytes read from one response body.
    pub max_body_bytes: usize,
    /// How many redirects a metadata fetch may follow.
    pub max_redirects: usize,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: MAX_BODY_BYTES,
            max_redirects: 5,
        }
    }
}

/// Executes core's requests over HTTPS.
#[derive(Debug, Clone)]
pub struct HttpExecutor {
    following: reqwest::Client,
    direct: reqwest::Client,
    max_body_bytes: usize,
}

impl HttpExecutor {
    /// An executor with the given limits.
    pub fn new(config: ExecutorConfig) -> Result<Self, TransportError> {
        let max_redirects = config.max_redirects;
        let builder = |redirect| {
            reqwest::Client::builder()
                .use_rustls_tls()
                .connect_timeout(config.connect_timeout)
                .timeout(config.request_timeout)
                .redirect(redirect)
                .user_agent(concat!("mcp-oauth/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| TransportError::Setup(e.to_string()))
        };
        let following = builder(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= max_redirects {
                attempt.error("too many redirects")
            } else if !is_secure_or_loopback(attempt.url()) {
                attempt.error("redirect to a non-https URL")
            } else {
                attempt.follow()
            }
        }))?;
        Ok(Self {
            following,
            direct: builder(reqwest::redirect::Policy::none())?,
            max_body_bytes: config.max_body_bytes,
        })
    }

    /// The reqwest client used for calls that must not follow redirects; the
    /// connection handle reuses it for authorized resource requests.
    pub fn client(&self) -> &reqwest::Client {
        &self.direct
    }

    /// Sends one request and reads at most the configured number of body bytes.
    pub async fn execute(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        if !is_secure_or_loopback(&request.url) {
            return Err(TransportError::Insecure {
                url: request.url.to_string(),
            });
        }
        let client = if request.purpose.may_follow_redirects() {
            &self.following
        } else {
            &self.direct
        };
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let url = request.url.to_string();
        let mut builder = client.request(method, request.url);
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        if !request.body.is_empty() {
            builder = builder.body(request.body);
        }
        tracing::debug!(%url, purpose = ?request.purpose, "sending");
        let response = builder
            .send()
            .await
            .map_err(|e| TransportError::from_reqwest(&url, e))?;
        read_response(response, self.max_body_bytes, &url).await
    }
}

/// Reads status, headers and a size-capped body.
pub(crate) async fn read_response(
    mut response: reqwest::Response,
    max_body_bytes: usize,
    url: &str,
) -> Result<HttpResponse, TransportError> {
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| TransportError::from_reqwest(url, e))?
    {
        if body.len() + chunk.len() > max_body_bytes {
            return Err(TransportError::BodyTooLarge {
                url: url.to_owned(),
                limit: max_body_bytes,
            });
        }
        body.extend_from_slice(&chunk);
    }
    tracing::debug!(%url, status, bytes = body.len(), "received");
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

//! Sends core's [`HttpRequest`]s with reqwest (rustls, no OpenSSL).
//!
//! Policy lives here because it is about I/O, not protocol: connect and total
//! timeouts, a cap on how much of a response is read, https-only (plain http only
//! on loopback), and no redirects on token and registration calls, whose bodies
//! carry secrets that must not be replayed to another URL. Metadata redirects are
//! followed only as core's [`mcp_oauth_core::network::redirect_allowed`] says
//! (never https → http, never remote → loopback). With
//! [`NetworkPolicy::PublicOnly`] (web backends) every address a host name resolves
//! to is checked ([`PublicAddressResolver`]), not only IP literals, so a DNS name
//! pointing at `10.0.0.1` or `127.0.0.1` is refused too.

use crate::error::TransportError;
use mcp_oauth_core::http::{HttpRequest, HttpResponse, Method, MAX_BODY_BYTES};
use mcp_oauth_core::loopback::is_secure_or_loopback;
use mcp_oauth_core::network::{is_public_host, is_public_ip, redirect_allowed, NetworkPolicy};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Limits for outgoing requests.
#[derive(Clone)]
pub struct ExecutorConfig {
    /// How long to wait for a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// How long a whole request may take, body included.
    pub request_timeout: Duration,
    /// The most bytes read from one response body.
    pub max_body_bytes: usize,
    /// How many redirects a metadata fetch may follow.
    pub max_redirects: usize,
    /// Which addresses may be reached: [`NetworkPolicy::PublicOnly`] checks every
    /// resolved address (web backends that take server URLs from users).
    pub network: NetworkPolicy,
    /// Resolves host names instead of the system resolver (a custom DNS client, or
    /// tests); the network policy still applies to what it returns.
    pub resolver: Option<Arc<dyn Resolve>>,
}

impl std::fmt::Debug for ExecutorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecutorConfig")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_redirects", &self.max_redirects)
            .field("network", &self.network)
            .field("resolver", &self.resolver.as_ref().map(|_| "custom"))
            .finish()
    }
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_body_bytes: MAX_BODY_BYTES,
            max_redirects: 5,
            network: NetworkPolicy::Desktop,
            resolver: None,
        }
    }
}

/// Executes core's requests over HTTPS.
#[derive(Debug, Clone)]
pub struct HttpExecutor {
    following: reqwest::Client,
    direct: reqwest::Client,
    max_body_bytes: usize,
    network: NetworkPolicy,
}

impl HttpExecutor {
    /// An executor with the given limits.
    pub fn new(config: ExecutorConfig) -> Result<Self, TransportError> {
        let max_redirects = config.max_redirects;
        let network = config.network;
        let resolver: Option<Arc<dyn Resolve>> = match (network, config.resolver.clone()) {
            (NetworkPolicy::PublicOnly, inner) => Some(Arc::new(PublicAddressResolver { inner })),
            (NetworkPolicy::Desktop, inner) => inner,
        };
        let builder = |redirect| {
            let mut builder = reqwest::Client::builder()
                .use_rustls_tls()
                .connect_timeout(config.connect_timeout)
                .timeout(config.request_timeout)
                .redirect(redirect)
                .user_agent(concat!("mcp-oauth/", env!("CARGO_PKG_VERSION")));
            if let Some(resolver) = &resolver {
                builder = builder.dns_resolver(Arc::new(SharedResolver(resolver.clone())));
            }
            builder
                .build()
                .map_err(|e| TransportError::Setup(e.to_string()))
        };
        let following = builder(reqwest::redirect::Policy::custom(move |attempt| {
            let previous = attempt.previous();
            let (Some(original), Some(last)) = (previous.first(), previous.last()) else {
                return attempt.follow();
            };
            if previous.len() >= max_redirects {
                return attempt.error("too many redirects");
            }
            if let Err(refused) = redirect_allowed(original, last, attempt.url()) {
                return attempt.error(refused);
            }
            if network == NetworkPolicy::PublicOnly && !is_public_host(attempt.url()) {
                let url = attempt.url().to_string();
                return attempt.error(AddressNotAllowed { host: url });
            }
            attempt.follow()
        }))?;
        Ok(Self {
            following,
            direct: builder(reqwest::redirect::Policy::none())?,
            max_body_bytes: config.max_body_bytes,
            network,
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
        if self.network == NetworkPolicy::PublicOnly && !is_public_host(&request.url) {
            return Err(TransportError::NotAllowed {
                url: request.url.to_string(),
                reason: "the address is not public".into(),
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

/// A host name resolved only to addresses the network policy refuses.
#[derive(Debug)]
pub(crate) struct AddressNotAllowed {
    host: String,
}

impl std::fmt::Display for AddressNotAllowed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} resolves only to non-public addresses (loopback, private, link-local...), which this client does not reach",
            self.host
        )
    }
}

impl std::error::Error for AddressNotAllowed {}

/// Resolves names (with `inner`, or the system resolver) and keeps only public
/// addresses ([`is_public_ip`]); a name with none left fails. Checking the
/// addresses actually connected to, not the URL, is what stops a DNS name that
/// points inside the network (or rebinds to it).
#[derive(Clone)]
pub struct PublicAddressResolver {
    inner: Option<Arc<dyn Resolve>>,
}

impl PublicAddressResolver {
    /// Filters what `inner` resolves (`None`: the system resolver).
    pub fn new(inner: Option<Arc<dyn Resolve>>) -> Self {
        Self { inner }
    }
}

impl std::fmt::Debug for PublicAddressResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PublicAddressResolver")
    }
}

impl Resolve for PublicAddressResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let inner = self.inner.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = match inner {
                Some(inner) => inner.resolve(name).await?.collect(),
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            let public: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| is_public_ip(addr.ip()))
                .collect();
            if public.is_empty() {
                tracing::warn!(%host, "refusing a host that resolves to non-public addresses");
                return Err(Box::new(AddressNotAllowed { host })
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// An `Arc<dyn Resolve>` as the sized resolver reqwest takes.
struct SharedResolver(Arc<dyn Resolve>);

impl Resolve for SharedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        self.0.resolve(name)
    }
}

//! `Connection`: a signed-in server. Its access token is always valid (refreshed
//! before expiry, once however many callers race), its status drives the UI, and
//! `send` makes authorized requests that recover from `401` (refresh once) and
//! step up on `403 insufficient_scope`. `index.js` builds `connection.fetch` on
//! `send`: JavaScript only converts `Request`/`Response` objects.

use crate::cancel::spawn;
use crate::error::invalid_argument;
use mcp_oauth::core::session::Status;
use mcp_oauth::TransportError;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Mutex;

/// What a UI shows for a connection.
#[napi(object, object_from_js = false)]
pub struct ConnectionStatus {
    /// `connected`: usable (tokens refresh silently). `expired`: a refresh
    /// could not reach the authorization server; the next use tries again.
    /// `reauth_required`: only signing in again helps (no refresh token, or the
    /// server refused it); offer Reconnect.
    #[napi(ts_type = "'connected' | 'expired' | 'reauth_required'")]
    pub state: String,
    /// When the current access token expires, in milliseconds since the epoch
    /// (`new Date(expiresAt)`); absent when the server did not say.
    pub expires_at: Option<f64>,
}

/// An HTTP request for `Connection.send` (what `fetch` passes down).
#[napi(object, object_to_js = false)]
pub struct HttpRequestInit {
    /// `GET`, `POST`, ...
    pub method: String,
    /// An absolute http(s) URL.
    pub url: String,
    /// Header name/value pairs; any `Authorization` is replaced by the bearer.
    #[napi(ts_type = "Array<[string, string]>")]
    pub headers: Vec<Vec<String>>,
    /// The body, if any.
    pub body: Option<Buffer>,
}

/// The status and headers of a response; the body streams from `body`.
#[napi(object, object_from_js = false)]
pub struct HttpResponseHead {
    /// The HTTP status.
    pub status: u16,
    /// The reason phrase (`OK`, `Not Found`, ...).
    pub status_text: String,
    /// Header name/value pairs, in order, repeated names kept.
    #[napi(ts_type = "Array<[string, string]>")]
    pub headers: Vec<Vec<String>>,
    /// The body, read chunk by chunk.
    pub body: ResponseBody,
}

/// A response body being received.
#[napi]
pub struct ResponseBody {
    response: Arc<Mutex<Option<reqwest::Response>>>,
}

#[napi]
impl ResponseBody {
    /// The next chunk, or `null` at the end.
    #[napi(ts_return_type = "Promise<Buffer | null>")]
    pub fn read<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, Option<Buffer>>> {
        let response = self.response.clone();
        spawn(
            env,
            None,
            async move {
                let mut slot = response.lock().await;
                let Some(body) = slot.as_mut() else {
                    return Ok(None);
                };
                let url = body.url().to_string();
                match body.chunk().await {
                    Ok(Some(chunk)) => Ok(Some(chunk.to_vec())),
                    Ok(None) => {
                        *slot = None;
                        Ok(None)
                    }
                    Err(error) => {
                        *slot = None;
                        Err(TransportError::Connect {
                            url,
                            reason: format!("the response body broke off: {error}"),
                        }
                        .into())
                    }
                }
            },
            |_, chunk| Ok(chunk.map(Buffer::from)),
        )
    }

    /// Stops receiving: the connection is closed and later reads return `null`.
    #[napi]
    pub fn cancel(&self) {
        if let Ok(mut slot) = self.response.try_lock() {
            *slot = None;
        } else {
            let response = self.response.clone();
            napi::bindgen_prelude::spawn(async move {
                *response.lock().await = None;
            });
        }
    }
}

/// A signed-in server.
#[napi]
pub struct Connection {
    inner: mcp_oauth::Connection,
}

impl From<mcp_oauth::Connection> for Connection {
    fn from(inner: mcp_oauth::Connection) -> Self {
        Self { inner }
    }
}

fn status_to_js(status: Status) -> ConnectionStatus {
    let (state, expires_at) = match status {
        Status::Connected { expires_at } => ("connected", expires_at),
        Status::Expired { expires_at } => ("expired", expires_at),
        Status::ReauthRequired => ("reauth_required", None),
    };
    ConnectionStatus {
        state: state.to_owned(),
        expires_at: expires_at.map(|secs| secs as f64 * 1000.0),
    }
}

#[napi]
impl Connection {
    /// The name this connection's tokens are stored under.
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.inner.id().to_owned()
    }

    /// A valid access token, refreshed first when it is due. A token at hand is
    /// answered at once (an already resolved promise, no thread hop); only a
    /// due refresh runs on the addon's runtime, and concurrent callers share it.
    /// Rejects with `code: 'reauth_required'` and this connection's
    /// `connectionId` when only signing in again can help (the message says
    /// why, e.g. `invalid_grant`).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn access_token<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, String>> {
        match self.inner.access_token_now() {
            Some(token) => PromiseRaw::resolve(env, token.expose().to_owned()),
            None => access_token_on_runtime(env, &self.inner),
        }
    }

    /// What a UI should show, right now (while a refresh is in flight: the state
    /// before it).
    #[napi]
    pub fn status(&self) -> ConnectionStatus {
        status_to_js(self.inner.status_now())
    }

    /// Refreshes the access token now, whatever its expiry, and returns the new one.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn refresh<'env>(&self, env: &'env Env) -> Result<PromiseRaw<'env, String>> {
        let connection = self.inner.clone();
        spawn(
            env,
            None,
            async move { connection.refresh().await },
            |_, token| Ok(token.expose().to_owned()),
        )
    }

    /// Signs out: revokes the tokens at the server when it offers RFC 7009
    /// revocation, and forgets them here in any case.
    #[napi(ts_return_type = "Promise<SignOutResult>")]
    pub fn disconnect<'env>(
        &self,
        env: &'env Env,
    ) -> Result<PromiseRaw<'env, crate::client::SignOutResult>> {
        let connection = self.inner.clone();
        spawn(
            env,
            None,
            async move { connection.disconnect().await },
            |_, outcome| Ok(crate::client::SignOutResult::from(outcome)),
        )
    }

    /// Sends `request` with the bearer token: a `401` refreshes once and retries,
    /// a `403 insufficient_scope` signs in again with the wider scope (through
    /// `openBrowser`) and retries. Resolves once the response head arrives;
    /// `connection.fetch` is the friendlier form.
    #[napi(
        ts_args_type = "request: HttpRequestInit, signal?: AbortSignal | null",
        ts_return_type = "Promise<HttpResponseHead>"
    )]
    pub fn send<'env>(
        &self,
        env: &'env Env,
        request: HttpRequestInit,
        signal: Option<Object<'env>>,
    ) -> Result<PromiseRaw<'env, HttpResponseHead>> {
        let request = to_reqwest(env, request)?;
        let connection = self.inner.clone();
        spawn(
            env,
            signal,
            async move { connection.send(request).await },
            |_, response| {
                let headers = response
                    .headers()
                    .iter()
                    .map(|(name, value)| {
                        vec![
                            name.as_str().to_owned(),
                            String::from_utf8_lossy(value.as_bytes()).into_owned(),
                        ]
                    })
                    .collect();
                let status = response.status();
                Ok(HttpResponseHead {
                    status: status.as_u16(),
                    status_text: status.canonical_reason().unwrap_or_default().to_owned(),
                    headers,
                    body: ResponseBody {
                        response: Arc::new(Mutex::new(Some(response))),
                    },
                })
            },
        )
    }
}

fn to_reqwest(env: &Env, request: HttpRequestInit) -> Result<reqwest::Request> {
    let method = reqwest::Method::from_bytes(request.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| invalid_argument(env, format!("invalid HTTP method {:?}", request.method)))?;
    let url = reqwest::Url::parse(&request.url)
        .map_err(|e| invalid_argument(env, format!("invalid URL {:?}: {e}", request.url)))?;
    let mut out = reqwest::Request::new(method, url);
    for pair in request.headers {
        let [name, value] = <[String; 2]>::try_from(pair)
            .map_err(|_| invalid_argument(env, "headers must be [name, value] pairs"))?;
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid_argument(env, format!("invalid header name {name:?}")))?;
        // The value is not quoted back: it may be a credential.
        let value = reqwest::header::HeaderValue::from_str(&value)
            .map_err(|_| invalid_argument(env, format!("invalid value for header {name}")))?;
        out.headers_mut().append(name, value);
    }
    if let Some(body) = request.body {
        *out.body_mut() = Some(body.to_vec().into());
    }
    Ok(out)
}

/// `Connection::access_token()` on the addon's runtime: the path of a due
/// refresh, and of every call before the synchronous fast path existed.
fn access_token_on_runtime<'env>(
    env: &'env Env,
    connection: &mcp_oauth::Connection,
) -> Result<PromiseRaw<'env, String>> {
    let connection = connection.clone();
    spawn(
        env,
        None,
        async move { connection.access_token().await },
        |_, token| Ok(token.expose().to_owned()),
    )
}

/// Benchmark only (`node/bench/access-token.mjs`; not in `index.d.ts`, not
/// exported by the package): `connection.accessToken()` forced through the
/// addon's runtime, as a due refresh goes, to set beside the fast path.
#[napi(skip_typescript, js_name = "benchAccessTokenOnRuntime")]
pub fn bench_access_token_on_runtime<'env>(
    env: &'env Env,
    connection: &Connection,
) -> Result<PromiseRaw<'env, String>> {
    access_token_on_runtime(env, &connection.inner)
}

/// Benchmark only (as above): the mean cost, in nanoseconds, of `iterations`
/// calls of the native `Connection::access_token()` on a valid token, measured
/// inside Rust (no N-API crossing), to set beside the JavaScript figures.
#[napi(skip_typescript, js_name = "benchNativeAccessTokenNanos")]
pub fn bench_native_access_token_nanos<'env>(
    env: &'env Env,
    connection: &Connection,
    iterations: u32,
) -> Result<PromiseRaw<'env, f64>> {
    let connection = connection.inner.clone();
    spawn(
        env,
        None,
        async move {
            let iterations = iterations.max(1);
            let started = Instant::now();
            for _ in 0..iterations {
                std::hint::black_box(connection.access_token().await?);
            }
            Ok(started.elapsed().as_nanos() as f64 / f64::from(iterations))
        },
        |_, nanos| Ok(nanos),
    )
}

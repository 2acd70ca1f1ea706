//! A signed-in connection: core's [`Session`] plus the browser's I/O.
//!
//! The lifecycle is core's, as in the native crate: [`Session::decide`] says use,
//! refresh or reconnect; a failed refresh flips the status to expired and keeps the
//! tokens; which URL gets the token and what a 401 or 403 means is core's
//! [`mcp_oauth_core::resource`] policy, the same as native. However many callers
//! ask for a token while one refresh is in flight, they share it (one request).
//! Every refresh attempt is saved to the host's storage before the token is handed
//! out: a rotated refresh token that was not saved is a lost grant.

use crate::clock::now;
use crate::dpop;
use crate::error::{Failure, STEP_UP_REQUIRED};
use crate::fetch;
use crate::progress::Progress;
use crate::storage::Storage;
use js_sys::{Function, Object, Promise, Reflect};
use mcp_oauth_core::dpop::Server;
use mcp_oauth_core::entropy::OsEntropy;
use mcp_oauth_core::http::HttpResponse;
use mcp_oauth_core::progress::ProgressEvent;
use mcp_oauth_core::resource::{Credentials, ResourceAnswer, ResourceExchange, ResourcePolicy};
use mcp_oauth_core::revocation;
use mcp_oauth_core::session::{Session, Status, TokenDecision};
use std::cell::RefCell;
use std::rc::Rc;
use url::Url;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::{future_to_promise, spawn_local, JsFuture};
use web_sys::{Headers, RequestInit, Response};

/// A signed-in MCP server: hands out valid access tokens and sends requests.
#[wasm_bindgen]
pub struct Connection {
    inner: Rc<Inner>,
}

struct Inner {
    session: RefCell<Session>,
    storage: Option<Storage>,
    progress: Progress,
    /// The refresh in flight, shared by every caller that needs it.
    refreshing: RefCell<Option<Promise>>,
}

impl Connection {
    /// Wraps a fresh or restored session.
    pub(crate) fn new(session: Session, storage: Option<Storage>, progress: Progress) -> Self {
        Self {
            inner: Rc::new(Inner {
                session: RefCell::new(session),
                storage,
                progress,
                refreshing: RefCell::new(None),
            }),
        }
    }

    /// Saves the session under its server URL, if the host gave storage.
    pub(crate) async fn persist(&self) -> Result<(), Failure> {
        self.inner.persist().await
    }

    /// Tells `onProgress` that this connection just signed in.
    pub(crate) fn signed_in(&self) {
        let session = self.inner.session.borrow();
        self.inner.progress.emit(ProgressEvent::signed_in(
            session.grant.issuer.clone(),
            session.grant.client.client_id.clone(),
            session.grant.scope.clone(),
            session.tokens.expires_at,
        ));
    }
}

#[wasm_bindgen]
impl Connection {
    /// Restores a connection saved with `toJSON()` (an object or its JSON string).
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(unchecked_param_type = "string | object")] json: JsValue,
        #[wasm_bindgen(unchecked_param_type = "ResumeOptions | undefined")] options: JsValue,
    ) -> Result<Connection, JsValue> {
        let storage = Storage::from_options(&options)?;
        let progress = Progress::from_options(&options)?;
        let session: Session = from_json_value(&json, "a saved connection")?;
        Ok(Connection::new(session, storage, progress))
    }

    /// The MCP server (or API) this connection is for; also its storage key.
    #[wasm_bindgen(getter, js_name = serverUrl)]
    pub fn server_url(&self) -> String {
        self.inner.session.borrow().grant.server_url.clone()
    }

    /// The scope granted, if the server said.
    #[wasm_bindgen(getter)]
    pub fn scope(&self) -> Option<String> {
        let session = self.inner.session.borrow();
        session.tokens.scope.clone().or(session.grant.scope.clone())
    }

    /// `{ state: "connected" | "expired" | "reauth_required", expiresAt? }`.
    #[wasm_bindgen(unchecked_return_type = "ConnectionStatus")]
    pub fn status(&self) -> JsValue {
        let (state, expires_at) = match self.inner.session.borrow().status(now()) {
            Status::Connected { expires_at } => ("connected", expires_at),
            Status::Expired { expires_at } => ("expired", expires_at),
            Status::ReauthRequired => ("reauth_required", None),
        };
        let status = Object::new();
        let _ = Reflect::set(&status, &"state".into(), &state.into());
        if let Some(at) = expires_at {
            // Milliseconds, as a JavaScript `Date` takes (and as in the Node package).
            let millis = at as f64 * 1000.0;
            let _ = Reflect::set(&status, &"expiresAt".into(), &millis.into());
        }
        status.into()
    }

    /// A valid access token: the current one, or a refreshed one when it is due.
    /// Rejects with `reauth_required` when only a new sign-in can help.
    #[wasm_bindgen(js_name = accessToken, unchecked_return_type = "Promise<string>")]
    pub fn access_token(&self) -> Promise {
        let decision = self.inner.session.borrow().decide(now());
        match decision {
            TokenDecision::Use => Promise::resolve(&JsValue::from(self.inner.current_token())),
            TokenDecision::Refresh => Inner::refresh_shared(&self.inner),
            TokenDecision::ReconnectNeeded => Promise::reject(&self.inner.reconnect().into_js()),
        }
    }

    /// Refreshes now, whatever the expiry says (joins a refresh in flight).
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn refresh(&self) -> Promise {
        Inner::refresh_shared(&self.inner)
    }

    /// `fetch(url, init)` with the access token, as core's resource policy
    /// decides: only to this connection's server origin over https (or loopback
    /// http when the server is on loopback); any other URL rejects with
    /// `origin_not_allowed` before anything is sent. A DPoP-bound connection
    /// sends `Authorization: DPoP` with a fresh proof signed by its
    /// non-extractable WebCrypto key (RFC 9449 §7) and answers the server's
    /// `use_dpop_nonce` challenge once. A 401 refreshes once (unless
    /// another caller already did) and retries. A 403 `insufficient_scope` rejects
    /// with `step_up_required` and `error.scope`, the scope to sign in with again:
    /// the sign-in needs a popup, which a browser only opens from a user's click,
    /// so the page asks the user and calls `startDynamic({ ..., scope: error.scope })`.
    /// When the scope the server wants was already asked for, the rejection is
    /// `insufficient_scope` instead (signing in again cannot help). `init.body`
    /// must be replayable (a string, not a stream).
    #[wasm_bindgen(unchecked_return_type = "Promise<Response>")]
    pub fn fetch(
        &self,
        url: String,
        #[wasm_bindgen(unchecked_param_type = "RequestInit | undefined")] init: JsValue,
    ) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let target = resolve_url(&url)?;
            let policy = ResourcePolicy::for_session(&inner.session.borrow())
                .map_err(mcp_oauth_core::Error::from)
                .map_err(Failure::from)?;
            policy
                .check(&target)
                .map_err(mcp_oauth_core::Error::from)
                .map_err(Failure::from)?;
            let method = Reflect::get(&init, &"method".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| "GET".into());
            // What a DPoP proof's `content_digest` covers: a string body as sent.
            let body = Reflect::get(&init, &"body".into())
                .ok()
                .and_then(|b| b.as_string());
            let mut exchange = ResourceExchange::new();
            loop {
                JsFuture::from(Connection::from_inner(&inner).access_token()).await?;
                let (mut credentials, key) = {
                    let session = inner.session.borrow();
                    let credentials = policy
                        .credentials(
                            &session,
                            &method,
                            &target,
                            body.as_deref().map(str::as_bytes),
                            now(),
                            &mut OsEntropy,
                        )
                        .map_err(Failure::from)?;
                    let key = session.dpop.as_ref().map(|binding| binding.key.clone());
                    (credentials, key)
                };
                // A DPoP-bound token: the proof is signed by the WebCrypto key.
                if let (Some(proof), Some(key)) = (credentials.take_proof(), key) {
                    credentials = credentials.with_proof(dpop::sign(&key, proof).await?);
                }
                let response = send_with(target.as_str(), &init, &credentials).await?;
                let head = head(&response)?;
                inner
                    .session
                    .borrow_mut()
                    .remember_dpop_nonce(Server::Resource, &target, &head);
                let answer = exchange
                    .on_response(&inner.session.borrow(), &credentials, &head, now())
                    .map_err(Failure::from)?;
                match answer {
                    ResourceAnswer::Use => return Ok(response.into()),
                    ResourceAnswer::Retry => {}
                    // Marks the rejected token expired; `accessToken()` then
                    // refreshes it (one shared refresh however many callers saw
                    // the 401).
                    ResourceAnswer::Refresh => {
                        inner
                            .session
                            .borrow_mut()
                            .on_unauthorized(credentials.token(), now());
                    }
                    ResourceAnswer::StepUp { scope, .. } => {
                        return Err(Failure::new(
                            STEP_UP_REQUIRED,
                            "the server needs a wider scope: sign in again with error.scope (from a user's click, for the popup)",
                        )
                        .with_scope(scope)
                        .into());
                    }
                    ResourceAnswer::Reconnect { .. } => {
                        inner
                            .session
                            .borrow_mut()
                            .on_unauthorized(credentials.token(), now());
                        inner.persist().await?;
                        return Err(inner.reconnect().into());
                    }
                }
            }
        })
    }

    /// Signs out: revokes the tokens at the server when it offers RFC 7009
    /// revocation, then forgets the connection in the host's storage whatever
    /// the revocation did. Resolves to `{ revocation: "revoked" | "unsupported" |
    /// "failed", error? }`.
    #[wasm_bindgen(
        unchecked_return_type = "Promise<{ revocation: \"revoked\" | \"unsupported\" | \"failed\", error?: { code: string, message: string } }>"
    )]
    pub fn disconnect(&self) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let session = inner.session.borrow().clone();
            let outcome = Object::new();
            let revocation = match revoke(&session).await {
                Ok(true) => "revoked",
                Ok(false) => "unsupported",
                Err(failure) => {
                    let _ = Reflect::set(&outcome, &"error".into(), &failure.into_js());
                    "failed"
                }
            };
            let _ = Reflect::set(&outcome, &"revocation".into(), &revocation.into());
            if let Some(storage) = &inner.storage {
                storage.remove(&session.grant.server_url).await?;
            }
            if let Some(binding) = &session.dpop {
                dpop::forget(&binding.key).await;
            }
            Ok(outcome.into())
        })
    }

    /// The session (grant, client, tokens) as a plain object, for the host's own
    /// storage. It holds the refresh token and any client secret.
    #[wasm_bindgen(js_name = toJSON)]
    pub fn to_json(&self) -> Result<JsValue, JsValue> {
        Ok(to_json_value(&*self.inner.session.borrow())?)
    }
}

impl Connection {
    fn from_inner(inner: &Rc<Inner>) -> Connection {
        Connection {
            inner: Rc::clone(inner),
        }
    }
}

impl Inner {
    fn current_token(&self) -> String {
        self.session
            .borrow()
            .tokens
            .access_token
            .expose()
            .to_owned()
    }

    fn reconnect(&self) -> Failure {
        let server = self.session.borrow().grant.server_url.clone();
        Failure::from(mcp_oauth_core::Error::ReauthRequired {
            server: server.clone(),
            cause: None,
        })
        .for_connection(server)
    }

    /// Names this connection in a "sign in again" failure.
    fn name_in(&self, failure: Failure) -> Failure {
        if failure.code == "reauth_required" {
            let server = self.session.borrow().grant.server_url.clone();
            failure.for_connection(server)
        } else {
            failure
        }
    }

    async fn persist(&self) -> Result<(), Failure> {
        let Some(storage) = &self.storage else {
            return Ok(());
        };
        let (key, json) = {
            let session = self.session.borrow();
            let json = serde_json::to_string(&*session)
                .map_err(|e| Failure::config(format!("cannot serialize the connection: {e}")))?;
            (session.grant.server_url.clone(), json)
        };
        storage.set(&key, &json).await
    }

    /// The refresh in flight, or a new one. The slot is filled before the refresh
    /// starts, so a caller arriving at any point joins it.
    fn refresh_shared(inner: &Rc<Inner>) -> Promise {
        if let Some(running) = inner.refreshing.borrow().as_ref() {
            return running.clone();
        }
        let (promise, resolve, reject) = deferred();
        *inner.refreshing.borrow_mut() = Some(promise.clone());
        let inner = Rc::clone(inner);
        spawn_local(async move {
            let outcome = inner.refresh_once().await.map_err(|f| inner.name_in(f));
            inner.refreshing.borrow_mut().take();
            let _ = match outcome {
                Ok(token) => resolve.call1(&JsValue::NULL, &token.into()),
                Err(failure) => reject.call1(&JsValue::NULL, &failure.into_js()),
            };
        });
        promise
    }

    async fn refresh_once(&self) -> Result<String, Failure> {
        let mut retried = false;
        let response = loop {
            let mut request = self.session.borrow().refresh_request_at(now())?;
            let proof = {
                let session = self.session.borrow();
                session
                    .token_proof(&request, now(), &mut OsEntropy)?
                    .zip(session.dpop.as_ref().map(|b| b.key.clone()))
            };
            if let Some((proof, key)) = proof {
                request = request
                    .with_header(mcp_oauth_core::dpop::HEADER, dpop::sign(&key, proof).await?);
            }
            let response = match fetch::execute(&request).await {
                Ok(response) => response,
                Err(unreachable) => {
                    self.session.borrow_mut().on_refresh_unreachable();
                    self.progress
                        .emit(ProgressEvent::refresh_failed(unreachable.code));
                    self.persist().await?;
                    return Err(unreachable);
                }
            };
            let again = self.session.borrow_mut().dpop_retry(
                Server::Authorization,
                &request.url,
                &response,
                retried,
            );
            if !again {
                break response;
            }
            retried = true;
        };
        let outcome = self
            .session
            .borrow_mut()
            .on_refresh_response(&response, now());
        self.persist().await?;
        match outcome {
            Ok(()) => {
                let expires_at = self.session.borrow().tokens.expires_at;
                self.progress.emit(ProgressEvent::refreshed(expires_at));
                Ok(self.current_token())
            }
            Err(error) => {
                self.progress
                    .emit(ProgressEvent::refresh_failed(error.code()));
                Err(error.into())
            }
        }
    }
}

/// Sends core's RFC 7009 revocation requests: `Ok(false)` when the server offers
/// no revocation, the first failure otherwise (every request is still sent).
async fn revoke(session: &Session) -> Result<bool, Failure> {
    let requests = revocation::revocation_requests(session, now())
        .map_err(|e| Failure::from(mcp_oauth_core::Error::from(e)))?;
    if requests.is_empty() {
        return Ok(false);
    }
    let mut failure = None;
    for request in &requests {
        let outcome = match fetch::execute(request).await {
            Ok(response) => revocation::check_revocation_response(request, &response)
                .map_err(|e| Failure::from(mcp_oauth_core::Error::from(e))),
            Err(unreachable) => Err(unreachable),
        };
        if let Err(error) = outcome {
            failure.get_or_insert(error);
        }
    }
    failure.map_or(Ok(true), Err)
}

/// `fetch(url, init)` with the credentials' headers set on a copy of `init`'s headers.
async fn send_with(
    url: &str,
    init: &JsValue,
    credentials: &Credentials,
) -> Result<Response, JsValue> {
    let request = RequestInit::new();
    if init.is_object() {
        Object::assign(
            request.unchecked_ref::<Object>(),
            init.unchecked_ref::<Object>(),
        );
    }
    let given = Reflect::get(init, &"headers".into()).unwrap_or(JsValue::UNDEFINED);
    let headers = if given.is_undefined() || given.is_null() {
        Headers::new()?
    } else {
        // `new Headers(init)` takes a Headers, a record or a list of pairs alike.
        Headers::new_with_str_sequence_sequence(&given)?
    };
    for (name, value) in credentials.headers() {
        headers.set(name, value.expose())?;
    }
    request.set_headers(&headers);
    let response = JsFuture::from(fetch::global_fetch(&url.into(), &request)?).await?;
    response.dyn_into()
}

/// The status, readable challenges and DPoP nonce of a resource response, as core
/// reads them.
fn head(response: &Response) -> Result<HttpResponse, Failure> {
    let mut headers = Vec::new();
    for name in ["WWW-Authenticate", mcp_oauth_core::dpop::NONCE_HEADER] {
        let value = response.headers().get(name).map_err(|e| {
            Failure::from_js(crate::error::NETWORK_ERROR, "reading the response", &e)
        })?;
        if let Some(value) = value {
            headers.push((name.to_owned(), value));
        }
    }
    Ok(HttpResponse::new(response.status(), headers, Vec::new()))
}

/// `url` as `fetch` reads it: absolute, or relative to the page.
fn resolve_url(url: &str) -> Result<Url, Failure> {
    let base = js_sys::Reflect::get(&js_sys::global(), &"location".into())
        .ok()
        .and_then(|location| js_sys::Reflect::get(&location, &"href".into()).ok())
        .and_then(|href| href.as_string())
        .and_then(|href| Url::parse(&href).ok());
    Url::options()
        .base_url(base.as_ref())
        .parse(url)
        .map_err(|e| {
            Failure::from(mcp_oauth_core::Error::from(
                mcp_oauth_core::resource::RequestRefused::InvalidUrl {
                    url: mcp_oauth_core::text::server_text(url),
                    reason: e.to_string(),
                },
            ))
        })
}

/// A promise with its resolve and reject functions, for settling it from Rust.
pub(crate) fn deferred() -> (Promise, Function, Function) {
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    // The executor runs synchronously inside `new Promise`.
    let (resolve, reject) = settle.unwrap_or_else(|| unreachable!("Promise executor did not run"));
    (promise, resolve, reject)
}

/// A serde value as a plain JS object.
pub(crate) fn to_json_value<T: serde::Serialize>(value: &T) -> Result<JsValue, Failure> {
    let json = serde_json::to_string(value)
        .map_err(|e| Failure::config(format!("cannot serialize: {e}")))?;
    js_sys::JSON::parse(&json)
        .map_err(|e| Failure::from_js(crate::error::INVALID_CONFIG, "JSON.parse", &e))
}

/// A serde value from a JSON string or a plain object.
pub(crate) fn from_json_value<T: for<'de> serde::Deserialize<'de>>(
    value: &JsValue,
    what: &str,
) -> Result<T, Failure> {
    let json = match value.as_string() {
        Some(json) => json,
        None => js_sys::JSON::stringify(value)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| Failure::config(format!("{what} must be a JSON string or object")))?,
    };
    serde_json::from_slice(json.as_bytes())
        .map_err(|e| Failure::config(format!("{what} is unusable: {e}")))
}

//! Executes core's [`HttpRequest`]s with the browser's `fetch`.
//!
//! Requests go without cookies (`credentials: "omit"`), so the test server's and
//! real servers' wildcard CORS answers are readable, including the
//! `WWW-Authenticate` challenge when the server lists it in
//! `Access-Control-Expose-Headers`. Token and registration calls do not follow
//! redirects (`redirect: "manual"`); core then sees a `302` and refuses it, as it
//! does natively. A metadata fetch that the browser redirected is used only if
//! core's [`redirect_allowed`] accepts where it ended (never https → http, never
//! remote → loopback).
//!
//! Like the native executor, every request has a time limit (an
//! `AbortController`, [`set_request_timeout`]) and a body is read chunk by chunk
//! from its stream, stopping just past [`MAX_BODY_BYTES`] (core then refuses it
//! as too large) instead of buffering whatever the server sends.

use crate::error::{Failure, NETWORK_ERROR, TIMEOUT};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use mcp_oauth_core::http::{HttpRequest, HttpResponse, Method, MAX_BODY_BYTES};
use mcp_oauth_core::network::redirect_allowed;
use std::cell::Cell;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, RequestCache, RequestCredentials, RequestInit, RequestRedirect,
    Response, ResponseType,
};

#[wasm_bindgen]
extern "C" {
    /// `globalThis.fetch`, looked up at call time (windows, workers, Node, stubs).
    #[wasm_bindgen(js_name = fetch, catch)]
    pub(crate) fn global_fetch(input: &JsValue, init: &JsValue) -> Result<Promise, JsValue>;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// The native executor's default: 30 seconds for a whole request, body included.
const DEFAULT_TIMEOUT_MS: u32 = 30_000;

thread_local! {
    static TIMEOUT_MS: Cell<u32> = const { Cell::new(DEFAULT_TIMEOUT_MS) };
}

/// Sets the time limit, in milliseconds, of every request this package sends
/// (sign-in, refresh and `connection.fetch`; default 30 000). A request still
/// unanswered then is aborted and rejects with `code: "timeout"`.
#[wasm_bindgen(js_name = setRequestTimeout)]
pub fn set_request_timeout(ms: u32) {
    TIMEOUT_MS.with(|t| t.set(ms.max(1)));
}

/// An `AbortController` that aborts after the request time limit, until dropped.
pub(crate) struct Deadline {
    controller: AbortController,
    timer: JsValue,
    _fire: Closure<dyn FnMut()>,
}

impl Deadline {
    /// Starts the clock.
    pub(crate) fn start() -> Result<Self, JsValue> {
        let controller = AbortController::new()?;
        let aborter = controller.clone();
        let fire = Closure::<dyn FnMut()>::new(move || aborter.abort());
        let ms = TIMEOUT_MS.with(Cell::get);
        let timer = set_timeout(fire.as_ref().unchecked_ref(), f64::from(ms));
        Ok(Self {
            controller,
            timer,
            _fire: fire,
        })
    }

    /// The signal to pass to `fetch`.
    pub(crate) fn signal(&self) -> web_sys::AbortSignal {
        self.controller.signal()
    }

    /// Whether the time ran out.
    pub(crate) fn expired(&self) -> bool {
        self.controller.signal().aborted()
    }

    /// The failure for a request that hit the deadline, or `error` as a network failure.
    pub(crate) fn failure(&self, url: &str, error: &JsValue) -> Failure {
        if self.expired() {
            Failure::new(
                TIMEOUT,
                format!(
                    "{url} did not answer within {} ms",
                    TIMEOUT_MS.with(Cell::get)
                ),
            )
        } else {
            Failure::from_js(NETWORK_ERROR, &format!("cannot reach {url}"), error)
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        clear_timeout(&self.timer);
    }
}

/// Sends `request` and reads the answer, at most just past [`MAX_BODY_BYTES`].
pub(crate) async fn execute(request: &HttpRequest) -> Result<HttpResponse, Failure> {
    let url = request.url.as_str();
    let deadline = Deadline::start().map_err(|e| Failure::from_js(NETWORK_ERROR, url, &e))?;
    let network = |e: JsValue| deadline.failure(url, &e);
    let init = RequestInit::new();
    init.set_method(match request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    });
    init.set_credentials(RequestCredentials::Omit);
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(&deadline.signal()));
    init.set_redirect(if request.purpose.may_follow_redirects() {
        RequestRedirect::Follow
    } else {
        RequestRedirect::Manual
    });
    let headers = Headers::new().map_err(network)?;
    for (name, value) in &request.headers {
        headers.append(name, value).map_err(network)?;
    }
    init.set_headers(&headers);
    if !request.body.is_empty() {
        init.set_body(&Uint8Array::from(request.body.as_slice()));
    }
    let pending = global_fetch(&url.into(), &init).map_err(network)?;
    let response: Response = JsFuture::from(pending)
        .await
        .map_err(network)?
        .dyn_into()
        .map_err(network)?;
    if response.type_() == ResponseType::Opaqueredirect {
        // What a non-following native client sees: a redirect with nothing readable.
        return Ok(HttpResponse::new(302, Vec::new(), Vec::new()));
    }
    if response.redirected() {
        // The browser followed the redirects itself; judge where they ended.
        if let Ok(landed) = url::Url::parse(&response.url()) {
            redirect_allowed(&request.url, &request.url, &landed)
                .map_err(mcp_oauth_core::Error::from)?;
        }
    }
    let headers = read_headers(&response.headers()).map_err(network)?;
    let body = read_capped(&response, MAX_BODY_BYTES)
        .await
        .map_err(network)?;
    Ok(HttpResponse::new(response.status(), headers, body))
}

/// Reads the body from its stream, stopping (and cancelling the stream) once more
/// than `cap` bytes arrived: core refuses such a body as too large, so reading the
/// rest would only cost memory.
async fn read_capped(response: &Response, cap: usize) -> Result<Vec<u8>, JsValue> {
    let stream = Reflect::get(response, &"body".into())?;
    if stream.is_null() || stream.is_undefined() {
        return Ok(Vec::new());
    }
    let reader: Object = call_method(&stream, "getReader", &[])?.unchecked_into();
    let mut body = Vec::new();
    loop {
        let step = JsFuture::from(Promise::from(call_method(&reader, "read", &[])?)).await?;
        if Reflect::get(&step, &"done".into())?.is_truthy() {
            return Ok(body);
        }
        let chunk: Uint8Array = Reflect::get(&step, &"value".into())?.unchecked_into();
        let room = cap + 1 - body.len();
        let take = (chunk.length() as usize).min(room);
        body.extend_from_slice(&chunk.subarray(0, take as u32).to_vec());
        if body.len() > cap {
            let _ = call_method(&reader, "cancel", &[]);
            return Ok(body);
        }
    }
}

/// `target[name](...args)`.
fn call_method(target: &JsValue, name: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let method: Function = Reflect::get(target, &name.into())?.dyn_into()?;
    let list: Array = args.iter().collect();
    method.apply(target, &list)
}

/// The readable headers of a response (CORS hides the others).
fn read_headers(headers: &Headers) -> Result<Vec<(String, String)>, JsValue> {
    let mut out = Vec::new();
    let Some(entries) = js_sys::try_iter(headers)? else {
        return Ok(out);
    };
    for entry in entries {
        let pair: Array = entry?.unchecked_into();
        if let (Some(name), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
            out.push((name, value));
        }
    }
    Ok(out)
}

//! Executes core's [`HttpRequest`]s with the browser's `fetch`.
//!
//! Requests go without cookies (`credentials: "omit"`), so the test server's and
//! real servers' wildcard CORS answers are readable, including the
//! `WWW-Authenticate` challenge when the server lists it in
//! `Access-Control-Expose-Headers`. Token and registration calls do not follow
//! redirects (`redirect: "manual"`); core then sees a `302` and refuses it, as it
//! does natively.

use crate::error::{Failure, NETWORK_ERROR};
use js_sys::{Array, Promise, Uint8Array};
use mcp_oauth_core::http::{HttpRequest, HttpResponse, Method};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    Headers, RequestCache, RequestCredentials, RequestInit, RequestRedirect, Response, ResponseType,
};

#[wasm_bindgen]
extern "C" {
    /// `globalThis.fetch`, looked up at call time (windows, workers, Node, stubs).
    #[wasm_bindgen(js_name = fetch, catch)]
    pub(crate) fn global_fetch(input: &JsValue, init: &JsValue) -> Result<Promise, JsValue>;
}

/// Sends `request` and reads the whole answer.
pub(crate) async fn execute(request: &HttpRequest) -> Result<HttpResponse, Failure> {
    let network = |e: JsValue| {
        Failure::from_js(
            NETWORK_ERROR,
            &format!("cannot reach {}", request.url.as_str()),
            &e,
        )
    };
    let init = RequestInit::new();
    init.set_method(match request.method {
        Method::Get => "GET",
        Method::Post => "POST",
    });
    init.set_credentials(RequestCredentials::Omit);
    init.set_cache(RequestCache::NoStore);
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
    let pending = global_fetch(&request.url.as_str().into(), &init).map_err(network)?;
    let response: Response = JsFuture::from(pending)
        .await
        .map_err(network)?
        .dyn_into()
        .map_err(network)?;
    if response.type_() == ResponseType::Opaqueredirect {
        // What a non-following native client sees: a redirect with nothing readable.
        return Ok(HttpResponse::new(302, Vec::new(), Vec::new()));
    }
    let headers = read_headers(&response.headers()).map_err(network)?;
    let body = JsFuture::from(response.array_buffer().map_err(network)?)
        .await
        .map_err(network)?;
    Ok(HttpResponse::new(
        response.status(),
        headers,
        Uint8Array::new(&body).to_vec(),
    ))
}

/// The readable headers of a response (CORS hides the others).
pub(crate) fn read_headers(headers: &Headers) -> Result<Vec<(String, String)>, JsValue> {
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

//! Popup sign-in, both ends of it.
//!
//! The callback page (the redirect URI, on the app's origin) calls
//! [`relay_callback`]: it posts `{ type: "mcp-oauth-callback", url: location.href }`
//! to `window.opener` with its own origin as the exact target origin, so the
//! message reaches only a same-origin opener, then closes itself.
//!
//! The opener waits in `completeWithPopup`: it takes a message only if it comes
//! from the popup it opened, from the redirect URI's origin, with the expected
//! shape ([`accept_message`]); anything else is ignored. The callback's `state`
//! is then checked by core. A popup closed before a message arrived ends the wait
//! with `popup_closed`.

use crate::error::{Failure, INVALID_CONFIG, POPUP_CLOSED};
use js_sys::{Object, Reflect};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::{wasm_bindgen, Closure};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{EventTarget, MessageEvent};

/// The `type` of the relay's message.
pub const MESSAGE_TYPE: &str = "mcp-oauth-callback";

/// How often the opener looks whether the popup was closed, in milliseconds.
const CLOSED_POLL_MS: i32 = 250;

/// Ticks a popup must stay closed before the wait ends: the relay posts and then
/// closes, and its message may be dispatched after the first tick sees `closed`.
const CLOSED_TICKS: u32 = 2;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setInterval)]
    fn set_interval(handler: &JsValue, millis: i32) -> JsValue;
    #[wasm_bindgen(js_name = clearInterval)]
    fn clear_interval(handle: &JsValue);
}

/// On the callback page: sends this page's URL to the window that opened it, with
/// this page's origin as the target origin, and closes the page. Returns `false`
/// (and does nothing) when there is no opener: a same-window redirect, where the
/// page completes the flow itself with `resume(...).complete(location.href)`.
#[wasm_bindgen(js_name = relayCallback)]
pub fn relay_callback() -> Result<bool, JsValue> {
    let global = js_sys::global();
    let opener = Reflect::get(&global, &"opener".into()).unwrap_or(JsValue::NULL);
    if opener.is_null() || opener.is_undefined() {
        return Ok(false);
    }
    let location = Reflect::get(&global, &"location".into())?;
    let href = Reflect::get(&location, &"href".into())?;
    let origin = Reflect::get(&location, &"origin".into())?;
    let message = Object::new();
    Reflect::set(&message, &"type".into(), &MESSAGE_TYPE.into())?;
    Reflect::set(&message, &"url".into(), &href)?;
    let post: js_sys::Function = Reflect::get(&opener, &"postMessage".into())?.dyn_into()?;
    post.call2(&opener, &message, &origin)?;
    if let Ok(close) = Reflect::get(&global, &"close".into())?.dyn_into::<js_sys::Function>() {
        close.call0(&global)?;
    }
    Ok(true)
}

/// The callback URL carried by a message, if the message is one to take: from
/// `expected_origin` exactly, shaped `{ type: "mcp-oauth-callback", url }`, with a
/// `url` on that same origin. The caller has already checked that it came from
/// the popup.
pub fn accept_message(
    expected_origin: &str,
    origin: &str,
    kind: Option<&str>,
    url: Option<&str>,
) -> Option<String> {
    if origin != expected_origin || kind != Some(MESSAGE_TYPE) {
        return None;
    }
    let url = url?;
    let parsed = url::Url::parse(url).ok()?;
    (parsed.origin().ascii_serialization() == expected_origin).then(|| url.to_owned())
}

/// Waits for the popup's relayed callback URL, or for the popup to close.
pub(crate) async fn wait_for_callback(
    popup: &JsValue,
    expected_origin: &str,
) -> Result<String, Failure> {
    let target: EventTarget = js_sys::global().unchecked_into();
    let (promise, resolve, reject) = crate::connection::deferred();

    let on_message = {
        let popup = popup.clone();
        let expected_origin = expected_origin.to_owned();
        let resolve = resolve.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let from_popup = event
                .source()
                .is_some_and(|source| Object::is(source.as_ref(), &popup));
            if !from_popup {
                return;
            }
            let data = event.data();
            let field = |name: &str| {
                if data.is_object() {
                    Reflect::get(&data, &name.into())
                        .ok()
                        .and_then(|v| v.as_string())
                } else {
                    None
                }
            };
            let accepted = accept_message(
                &expected_origin,
                &event.origin(),
                field("type").as_deref(),
                field("url").as_deref(),
            );
            if let Some(url) = accepted {
                let _ = resolve.call1(&JsValue::NULL, &url.into());
            }
        })
    };
    let on_tick = {
        let popup = popup.clone();
        let closed_ticks = Rc::new(Cell::new(0u32));
        Closure::<dyn FnMut()>::new(move || {
            let closed = Reflect::get(&popup, &"closed".into())
                .map(|v| v.is_truthy())
                .unwrap_or(true);
            closed_ticks.set(if closed { closed_ticks.get() + 1 } else { 0 });
            if closed_ticks.get() >= CLOSED_TICKS {
                let _ = reject.call1(&JsValue::NULL, &closed_failure().into_js());
            }
        })
    };

    target
        .add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref())
        .map_err(|e| Failure::from_js(INVALID_CONFIG, "completeWithPopup needs a window", &e))?;
    let interval = set_interval(on_tick.as_ref(), CLOSED_POLL_MS);
    let outcome = JsFuture::from(promise).await;
    let _ =
        target.remove_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
    clear_interval(&interval);
    drop((on_message, on_tick));

    match outcome {
        Ok(url) => Ok(url.as_string().unwrap_or_default()),
        // The only rejection is the closed popup's.
        Err(_) => Err(closed_failure()),
    }
}

fn closed_failure() -> Failure {
    Failure::new(
        POPUP_CLOSED,
        "the sign-in window was closed before sign-in finished",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "http://127.0.0.1:8080";

    #[test]
    fn only_same_origin_callback_messages_are_taken() {
        let good = "http://127.0.0.1:8080/callback.html?code=c&state=s";
        // (message origin, type, url, taken?)
        let table = [
            (APP, Some(MESSAGE_TYPE), Some(good), true),
            (
                "http://127.0.0.1:9090",
                Some(MESSAGE_TYPE),
                Some(good),
                false,
            ),
            (
                "http://localhost:8080",
                Some(MESSAGE_TYPE),
                Some(good),
                false,
            ),
            ("null", Some(MESSAGE_TYPE), Some(good), false),
            (APP, Some("something-else"), Some(good), false),
            (APP, None, Some(good), false),
            (APP, Some(MESSAGE_TYPE), None, false),
            (APP, Some(MESSAGE_TYPE), Some("not a url"), false),
            (
                APP,
                Some(MESSAGE_TYPE),
                Some("https://evil.example/callback?code=c&state=s"),
                false,
            ),
        ];
        for (origin, kind, url, taken) in table {
            assert_eq!(
                accept_message(APP, origin, kind, url).is_some(),
                taken,
                "{origin} {kind:?} {url:?}"
            );
        }
    }
}

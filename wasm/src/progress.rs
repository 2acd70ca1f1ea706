//! `onProgress(event)`: each step of a sign-in or token refresh, as the events
//! `mcp-oauth-core` defines for every JavaScript host
//! ([`mcp_oauth_core::progress::ProgressEvent`]; the Node addon sends the same).
//! A callback that throws is ignored: progress is for display.

use crate::connection::to_json_value;
use crate::error::Failure;
use js_sys::{Function, Reflect};
use mcp_oauth_core::http::{HttpRequest, HttpResponse};
use mcp_oauth_core::progress::ProgressEvent;
use wasm_bindgen::{JsCast, JsValue};

/// The page's `onProgress` callback, if it gave one.
#[derive(Debug, Clone, Default)]
pub(crate) struct Progress(Option<Function>);

impl Progress {
    /// The `onProgress` property of an options object; anything but a function
    /// (or nothing) there is a configuration error.
    pub(crate) fn from_options(options: &JsValue) -> Result<Self, Failure> {
        if !options.is_object() {
            return Ok(Self(None));
        }
        let value = Reflect::get(options, &"onProgress".into()).unwrap_or(JsValue::UNDEFINED);
        if value.is_undefined() || value.is_null() {
            return Ok(Self(None));
        }
        value
            .dyn_into::<Function>()
            .map(|f| Self(Some(f)))
            .map_err(|_| Failure::config("onProgress must be a function"))
    }

    /// Hands `event` to the callback.
    pub(crate) fn emit(&self, event: ProgressEvent) {
        let Some(callback) = &self.0 else {
            return;
        };
        if let Ok(value) = to_json_value(&event) {
            let _ = callback.call1(&JsValue::NULL, &value);
        }
    }

    /// A request of a flow got its answer.
    pub(crate) fn answered(&self, request: &HttpRequest, response: &HttpResponse) {
        if self.0.is_some() {
            self.emit(ProgressEvent::answered(
                request.purpose,
                request.method.as_str(),
                request.url.to_string(),
                response.status,
            ));
        }
    }
}

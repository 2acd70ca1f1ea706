//! `openBrowser(url)` from JavaScript (Electron passes `shell.openExternal`),
//! called through a thread-safe function.
//!
//! Opening is fire-and-forget on the native side; when the callback throws or its
//! promise rejects, every sign-in of this client waiting for a callback fails
//! with `code: 'browser_failed'` instead of waiting for the timeout.

use crate::store::Callback;
use mcp_oauth::opener::BrowserOpener;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use tokio::sync::broadcast;
use url::Url;

/// A JavaScript `openBrowser` callback.
pub struct JsOpener {
    callback: Callback<String>,
    failures: broadcast::Sender<String>,
}

impl JsOpener {
    /// Wraps `callback`; its failures are announced on `failures`.
    pub fn new(callback: Callback<String>, failures: broadcast::Sender<String>) -> Self {
        Self { callback, failures }
    }
}

impl BrowserOpener for JsOpener {
    fn open(&self, url: &Url) -> std::result::Result<(), mcp_oauth::Error> {
        let failures = self.failures.clone();
        let status = self.callback.call_with_return_value(
            url.to_string(),
            ThreadsafeFunctionCallMode::NonBlocking,
            move |returned: Result<Unknown>, _env| {
                let report = move |reason: String| {
                    let _ = failures.send(format!("openBrowser failed: {reason}"));
                };
                match returned {
                    Err(error) => report(error.reason.clone()),
                    Ok(value) if value.is_promise()? => {
                        PromiseRaw::<Unknown>::from_unknown(value)?.catch(
                            move |ctx: CallbackContext<Unknown>| {
                                let reason = ctx
                                    .value
                                    .coerce_to_string()
                                    .and_then(|s| s.into_utf8())
                                    .and_then(|s| s.into_owned())
                                    .unwrap_or_else(|_| "the promise was rejected".into());
                                report(reason);
                                Ok(())
                            },
                        )?;
                    }
                    Ok(_) => {}
                }
                Ok(())
            },
        );
        if status == Status::Ok {
            Ok(())
        } else {
            Err(mcp_oauth::Error::Browser(format!(
                "the openBrowser callback could not be called: {status}"
            )))
        }
    }
}

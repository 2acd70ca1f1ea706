//! Errors as JS sees them: an `Error` named `McpOAuthError` with a stable `code`.
//!
//! Protocol failures carry [`mcp_oauth_core::Error::code`], the same strings as the
//! Node package. The browser adds a few of its own:
//!
//! | code | meaning |
//! | --- | --- |
//! | [`NETWORK_ERROR`] | `fetch` rejected (offline, DNS, CORS refused) |
//! | [`POPUP_CLOSED`] | the user closed the sign-in popup before it finished |
//! | [`POPUP_BLOCKED`] | no popup window was given (the browser blocked `window.open`) |
//! | [`STORE_ERROR`] | a storage callback threw or rejected |
//! | [`STEP_UP_REQUIRED`] | the server wants a wider scope (`error.scope`): sign in again from a click |
//! | [`TIMEOUT`] | the server did not answer in time |
//! | `invalid_config` | options or saved JSON are unusable (as in core) |

use wasm_bindgen::{JsCast, JsValue};

/// `fetch` itself failed: the server was unreachable or CORS refused the answer.
pub const NETWORK_ERROR: &str = "network_error";
/// The popup was closed before the callback arrived.
pub const POPUP_CLOSED: &str = "popup_closed";
/// The popup handed to `completeWithPopup` is missing (blocked by the browser).
pub const POPUP_BLOCKED: &str = "popup_blocked";
/// A host storage callback failed.
pub const STORE_ERROR: &str = "store_error";
/// The resource answered 403 `insufficient_scope`; `error.scope` is what to ask for.
pub const STEP_UP_REQUIRED: &str = "step_up_required";
/// A request got no answer within the time limit.
pub const TIMEOUT: &str = "timeout";
/// Options, saved flows or saved connections that cannot be used.
pub const INVALID_CONFIG: &str = "invalid_config";

/// A failure on its way to JS: a stable code and a message a user can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The stable code, exposed as `error.code`.
    pub code: &'static str,
    /// The human-readable message.
    pub message: String,
    /// The scope to sign in with again (for [`STEP_UP_REQUIRED`]), as `error.scope`.
    pub scope: Option<String>,
    /// The connection the failure is about (`reauth_required`), exposed as
    /// `error.connectionId`: its server URL, which is its storage key.
    pub connection_id: Option<String>,
}

impl Failure {
    /// A failure with this code and message.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            scope: None,
            connection_id: None,
        }
    }

    /// The same failure carrying `error.scope`.
    pub fn with_scope(mut self, scope: Option<String>) -> Self {
        self.scope = scope;
        self
    }

    /// The same failure, naming the connection it is about.
    pub fn for_connection(mut self, connection_id: impl Into<String>) -> Self {
        self.connection_id = Some(connection_id.into());
        self
    }

    /// Unusable options or saved state.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(INVALID_CONFIG, message)
    }

    /// A JS exception from `fetch` or a callback, reduced to its message.
    pub(crate) fn from_js(code: &'static str, context: &str, thrown: &JsValue) -> Self {
        Self::new(code, format!("{context}: {}", describe(thrown)))
    }

    /// The JS `Error` with `name = "McpOAuthError"` and `code`.
    pub fn into_js(self) -> JsValue {
        let error = js_sys::Error::new(&self.message);
        error.set_name("McpOAuthError");
        // Setting a property on a fresh Error object cannot fail.
        let _ = js_sys::Reflect::set(&error, &"code".into(), &self.code.into());
        if let Some(scope) = &self.scope {
            let _ = js_sys::Reflect::set(&error, &"scope".into(), &scope.into());
        }
        if let Some(id) = &self.connection_id {
            let _ = js_sys::Reflect::set(&error, &"connectionId".into(), &id.into());
        }
        error.into()
    }
}

impl From<mcp_oauth_core::Error> for Failure {
    fn from(error: mcp_oauth_core::Error) -> Self {
        Self::new(error.code(), error.to_string())
    }
}

impl From<Failure> for JsValue {
    fn from(failure: Failure) -> Self {
        failure.into_js()
    }
}

/// The message of a thrown JS value: `Error.message`, a string, or its `String()`.
fn describe(thrown: &JsValue) -> String {
    if let Some(error) = thrown.dyn_ref::<js_sys::Error>() {
        return String::from(error.message());
    }
    thrown.as_string().unwrap_or_else(|| format!("{thrown:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_keep_their_stable_code_and_message() {
        let failure = Failure::from(mcp_oauth_core::Error::ReauthRequired {
            server: "https://mcp.example/mcp".into(),
            cause: None,
        });
        assert_eq!(failure.code, "reauth_required");
        assert!(failure.message.contains("https://mcp.example/mcp"));
    }
}

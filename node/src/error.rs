//! Errors as JavaScript sees them: an `Error` whose `code` is the stable
//! [`mcp_oauth::Error::code`] (`registration_refused`, `state_mismatch`,
//! `timeout`, `reauth_required`, `cancelled`, ...) and whose message is the
//! native one, which never carries a secret. An error about a known connection
//! (`reauth_required`, a failed `complete`) also has `connectionId`.

use napi::bindgen_prelude::*;

/// The `code` of errors about arguments passed from JavaScript.
pub const INVALID_ARGUMENT: &str = "invalid_argument";

/// A JavaScript `Error` with `code` set, ready to reject a promise or be thrown.
pub fn js_error(env: &Env, code: &str, message: &str) -> napi::Error {
    let error = napi::Error::new(code.to_owned(), message);
    napi::Error::from(JsError::from(error).into_unknown(*env))
}

/// The JavaScript form of a native error.
pub fn from_native(env: &Env, error: &mcp_oauth::Error) -> napi::Error {
    let Some(connection_id) = error.connection_id() else {
        return js_error(env, error.code(), &error.to_string());
    };
    let js = JsError::from(napi::Error::new(error.code(), error.to_string())).into_unknown(*env);
    // Setting a property on a fresh Error cannot fail; if it did, the error
    // would still carry its code and message.
    if let Ok(mut object) = js.coerce_to_object() {
        let _ = object.set_named_property("connectionId", connection_id);
    }
    napi::Error::from(js)
}

/// A bad argument (wrong `kind`, a malformed URL...), as a coded error.
pub fn invalid_argument(env: &Env, message: impl AsRef<str>) -> napi::Error {
    js_error(env, INVALID_ARGUMENT, message.as_ref())
}

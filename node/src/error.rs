//! Errors as JavaScript sees them: an `Error` whose `code` is the stable
//! [`mcp_oauth::Error::code`] (`registration_refused`, `state_mismatch`,
//! `timeout`, `invalid_grant`, `cancelled`, ...) and whose message is the native
//! one, which never carries a secret.

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
    js_error(env, error.code(), &error.to_string())
}

/// A bad argument (wrong `kind`, a malformed URL...), as a coded error.
pub fn invalid_argument(env: &Env, message: impl AsRef<str>) -> napi::Error {
    js_error(env, INVALID_ARGUMENT, message.as_ref())
}

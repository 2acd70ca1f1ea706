//! Web backends: `client.begin()` / `client.complete()` around the backend's own
//! callback URL, `callbackPage()` for the popup that ran the sign-in, and
//! `generateSealKey()`. The rules (pending sign-ins, sealing, the relay page)
//! live in `mcp_oauth` and its core; this file only converts.

use crate::cancel::spawn;
use crate::client::{preset_from_js, OAuthClient};
use crate::connection::Connection;
use crate::error::invalid_argument;
use mcp_oauth::core::entropy::OsEntropy;
use mcp_oauth::core::relay::{relay_page, Outcome};
use mcp_oauth::core::seal;
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::HashMap;

/// What `begin` returns: where to send the user, and the sign-in's `state`.
#[napi(object, object_from_js = false)]
pub struct SignInStart {
    /// Redirect the popup (or the page) here.
    pub authorization_url: String,
    /// The `state` the callback will carry; sealed mode: the sealed sign-in.
    pub state: String,
    /// When the sign-in stops being accepted, in milliseconds since the epoch.
    pub expires_at: f64,
}

/// `complete` options.
#[napi(object, object_to_js = false)]
pub struct CompleteOptions {
    /// The full URL that reached the callback route, query included
    /// (Express: `` `${origin}${req.originalUrl}` ``).
    pub callback_url: String,
    /// The app's signed-in user whose session received the callback; must be
    /// the one `begin` was called for.
    pub subject: String,
}

/// The error a failed sign-in reports to the opener.
#[napi(object, object_to_js = false)]
pub struct CallbackPageError {
    /// The stable code (an `Error` from `complete` has one).
    pub code: Option<String>,
    /// The message; shown only when `code` is present (so an uncoded error of
    /// the app's own never reaches the page).
    pub message: Option<String>,
}

/// `callbackPage` options.
#[napi(object, object_to_js = false)]
pub struct CallbackPageOptions {
    /// The app's exact origin, where the page that opened the popup lives
    /// (`https://app.example.com`); never `*`.
    pub target_origin: String,
    /// The connection signed in (or, on failure, the one the sign-in was for).
    pub connection_id: Option<String>,
    /// The failure, if it failed: pass the `Error` `complete` rejected with.
    pub error: Option<CallbackPageError>,
}

/// The callback page and its headers.
#[napi(object, object_from_js = false)]
pub struct CallbackPage {
    /// The HTML document.
    pub html: String,
    /// Headers to send with it, including the `Content-Security-Policy` that
    /// allows its one script by hash.
    pub headers: HashMap<String, String>,
}

#[napi]
impl OAuthClient {
    /// Web backends: starts a sign-in whose callback goes to `redirectUri` (a
    /// route of this backend) for `subject`, the app's signed-in user, stored
    /// under `connectionId` (one per user and server, e.g. `user-42/linear`).
    /// Runs discovery and registration now; redirect the user's popup to
    /// `authorizationUrl`. Any instance sharing the store (stored mode) or the
    /// seal keys (sealed mode) can `complete` it.
    #[napi(
        ts_args_type = "options: { preset: DynamicConnectOptions | ManualConnectOptions, redirectUri: string, subject: string, connectionId: string, signal?: AbortSignal }",
        ts_return_type = "Promise<SignInStart>"
    )]
    pub fn begin<'env>(
        &self,
        env: &'env Env,
        options: Object<'env>,
    ) -> Result<PromiseRaw<'env, SignInStart>> {
        let preset: Option<Object> = options.get_named_property("preset")?;
        let preset = preset.ok_or_else(|| invalid_argument(env, "begin needs a preset"))?;
        let mut preset = preset_from_js(env, preset)?;
        let required = |name: &str| -> Result<String> {
            let value: Option<String> = options.get_named_property(name)?;
            value
                .filter(|v| !v.is_empty())
                .ok_or_else(|| invalid_argument(env, format!("begin needs {name}")))
        };
        let redirect_uri = required("redirectUri")?;
        let subject = required("subject")?;
        let connection_id: Option<String> = options.get_named_property("connectionId")?;
        if let Some(id) = connection_id {
            preset = preset.with_connection_id(id);
        }
        let signal: Option<Object> = options.get_named_property("signal")?;
        let client = self.inner.clone();
        spawn(
            env,
            signal,
            async move { client.begin(preset, &redirect_uri, &subject).await },
            |_, started| {
                Ok(SignInStart {
                    authorization_url: started.authorization_url.into(),
                    state: started.state,
                    expires_at: started.expires_at as f64 * 1000.0,
                })
            },
        )
    }

    /// Web backends: finishes a sign-in started by `begin` (on this instance or
    /// another) with the URL that reached the callback route, for the user
    /// whose session received it. Stores the tokens and resolves to the
    /// connection. Rejects with a coded `Error`: `state_mismatch` (forged, or
    /// already completed), `sign_in_expired`, `subject_mismatch` (another
    /// user's sign-in: login CSRF), `access_denied`, `invalid_grant`, ...; once
    /// the sign-in was found, the error's `connectionId` names it. Nothing is
    /// stored on failure.
    #[napi(ts_return_type = "Promise<Connection>")]
    pub fn complete<'env>(
        &self,
        env: &'env Env,
        options: CompleteOptions,
    ) -> Result<PromiseRaw<'env, Connection>> {
        let client = self.inner.clone();
        spawn(
            env,
            None,
            async move {
                client
                    .complete(&options.callback_url, &options.subject)
                    .await
            },
            |_, connection| Ok(Connection::from(connection)),
        )
    }
}

/// The page to answer on the callback route when the sign-in ran in a popup:
/// it posts `{ type: 'mcp-oauth:sign-in', ok, connectionId, error? }` to the
/// opener at exactly `targetOrigin`, then closes. Send it with its headers:
/// `res.set(page.headers).send(page.html)`.
#[napi]
pub fn callback_page(env: Env, options: CallbackPageOptions) -> Result<CallbackPage> {
    let outcome = match options.error {
        None => Outcome::Connected {
            connection_id: options.connection_id.ok_or_else(|| {
                invalid_argument(&env, "callbackPage needs connectionId or error")
            })?,
        },
        Some(CallbackPageError {
            code: Some(code),
            message,
        }) => Outcome::Failed {
            connection_id: options.connection_id,
            code,
            message: message.unwrap_or_default(),
        },
        Some(CallbackPageError { code: None, .. }) => Outcome::Failed {
            connection_id: options.connection_id,
            code: "sign_in_failed".into(),
            message: "the sign-in could not be completed".into(),
        },
    };
    let page = relay_page(&outcome, &options.target_origin)
        .map_err(|e| crate::error::from_native(&env, &e.into()))?;
    Ok(CallbackPage {
        html: page.html,
        headers: page.headers.into_iter().collect(),
    })
}

/// A new seal key: 32 random bytes in base64url. Keep it in your secret
/// manager, and list it first in `sealKeys` to start sealing with it.
#[napi]
pub fn generate_seal_key(env: Env) -> Result<String> {
    seal::generate_key(&mut OsEntropy)
        .map(|key| key.expose().to_owned())
        .map_err(|e| crate::error::js_error(&env, "entropy_unavailable", &e.to_string()))
}

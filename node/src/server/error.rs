//! Server-side refusals as JavaScript `Error`s that carry what the route needs
//! to answer: `code` (the OAuth error code: `invalid_request`, `invalid_scope`,
//! `invalid_grant`, `invalid_client`, `invalid_token`, `insufficient_scope`,
//! ...), `redirectable` (whether the client may be told by redirect), and, as
//! applicable, `redirectTo`, `status`, `headers`, `body`, `wwwAuthenticate` and
//! `revokeFamily`.

use mcp_oauth::core::server::{
    AuthorizationRefusal, AuthorizationRequestError, BearerError, ProtectedResource,
    TokenEndpointError,
};
use napi::bindgen_prelude::*;
use std::collections::HashMap;

/// The properties of one refusal.
#[derive(Default)]
struct Refusal {
    code: String,
    message: String,
    redirectable: bool,
    redirect_to: Option<String>,
    status: u16,
    headers: Option<HashMap<String, String>>,
    body: Option<serde_json::Value>,
    www_authenticate: Option<String>,
    revoke_family: Option<String>,
}

impl Refusal {
    fn into_error(self, env: &Env) -> napi::Error {
        let build = || -> Result<napi::Error> {
            let error = napi::Error::new(self.code.clone(), self.message.clone());
            let mut object = JsError::from(error).into_unknown(*env).coerce_to_object()?;
            object.set_named_property("redirectable", self.redirectable)?;
            object.set_named_property("status", u32::from(self.status))?;
            if let Some(to) = self.redirect_to {
                object.set_named_property("redirectTo", to)?;
            }
            if let Some(headers) = self.headers {
                object.set_named_property("headers", headers)?;
            }
            if let Some(body) = self.body {
                object.set_named_property("body", body)?;
            }
            if let Some(challenge) = self.www_authenticate {
                object.set_named_property("wwwAuthenticate", challenge)?;
            }
            if let Some(family) = self.revoke_family {
                object.set_named_property("revokeFamily", family)?;
            }
            Ok(napi::Error::from(object.into_unknown(env)?))
        };
        build().unwrap_or_else(|e| e)
    }
}

/// A refused authorization request: redirect to `redirectTo` when
/// `redirectable`, else show an error page (`status` 400).
pub fn authorization(env: &Env, refusal: AuthorizationRefusal) -> napi::Error {
    Refusal {
        code: refusal.error.oauth_error().to_owned(),
        message: refusal.error.to_string(),
        redirectable: refusal.redirect_to.is_some(),
        redirect_to: refusal.redirect_to,
        status: 400,
        ..Refusal::default()
    }
    .into_error(env)
}

/// An authorization request that could not even be read (never redirected).
pub fn authorization_params(env: &Env, error: AuthorizationRequestError) -> napi::Error {
    authorization(env, AuthorizationRefusal::from(error))
}

/// A refused token request: send `status`, `headers` and `body`; when
/// `revokeFamily` is set, revoke that grant family's tokens first.
pub fn token_endpoint(env: &Env, error: TokenEndpointError) -> napi::Error {
    Refusal {
        code: error.code.as_str().to_owned(),
        message: error.description.clone(),
        status: error.status(),
        headers: Some(error.headers().into_iter().collect()),
        body: Some(error.body()),
        revoke_family: error.revoke_family.clone(),
        ..Refusal::default()
    }
    .into_error(env)
}

/// A refused request to the protected resource: send `status` with the
/// `WWW-Authenticate: wwwAuthenticate` header.
pub fn bearer(env: &Env, resource: &ProtectedResource, error: &BearerError) -> napi::Error {
    let code = match error {
        BearerError::Missing => "missing_token",
        BearerError::InvalidToken(_) => "invalid_token",
        BearerError::InsufficientScope { .. } => "insufficient_scope",
    };
    let challenge = resource.challenge(error);
    Refusal {
        code: code.to_owned(),
        message: error.to_string(),
        status: error.status(),
        headers: Some(HashMap::from([(
            "WWW-Authenticate".to_owned(),
            challenge.clone(),
        )])),
        www_authenticate: Some(challenge),
        ..Refusal::default()
    }
    .into_error(env)
}

//! DPoP (RFC 9449) on the test server, when [`TestServerConfig::dpop`] is on: the
//! token endpoint binds tokens to the key of a valid proof (§5, `token_type`
//! `DPoP`) and refuses clients registered with `dpop_bound_access_tokens` that send
//! none (§5.2); the MCP endpoint takes a bound token only as `Authorization: DPoP`
//! with a proof of the same key carrying its `ath` (§7). With
//! [`TestServerConfig::dpop_nonce`], both demand a server nonce first (§8, §9).
//! Proofs are checked with `mcp_oauth_core::dpop::verify_proof`; `jti`s are
//! remembered, so a replayed proof is refused.
//!
//! [`TestServerConfig::dpop`]: super::TestServerConfig::dpop
//! [`TestServerConfig::dpop_nonce`]: super::TestServerConfig::dpop_nonce

use super::reply::oauth_error;
use super::state::AppState;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mcp_oauth_core::dpop::{self, ProofCheck, ProofRejection};
use std::time::{SystemTime, UNIX_EPOCH};
use url::Url;

/// How far a proof's `iat` may be from the server's clock (the MCP profile).
const MAX_SKEW_SECS: u64 = 300;

/// Which server checks a proof: they keep separate nonces (RFC 9449 §8, §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The token endpoint.
    AuthorizationServer,
    /// The MCP endpoint.
    Resource,
}

/// Why a request's proof was not accepted.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// No (or an old) nonce: answer `use_dpop_nonce` with the current one.
    UseNonce,
    /// Anything else, with the reason.
    Invalid(String),
}

impl Refusal {
    /// The token endpoint's answer: `400` with the OAuth error (§5.2, §8).
    pub(crate) fn at_token_endpoint(self, state: &AppState) -> Response {
        match self {
            Refusal::UseNonce => with_nonce(
                oauth_error(
                    StatusCode::BAD_REQUEST,
                    dpop::USE_DPOP_NONCE,
                    "a DPoP nonce is required",
                ),
                state,
                Role::AuthorizationServer,
            ),
            Refusal::Invalid(reason) => {
                oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof", &reason)
            }
        }
    }
}

/// The DPoP header of a request: `Ok(None)` without one; more than one is invalid.
fn proof_header(headers: &HeaderMap) -> Result<Option<&str>, Refusal> {
    let mut values = headers.get_all(dpop::HEADER).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Refusal::Invalid("more than one DPoP header".into()));
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| Refusal::Invalid("the DPoP header is not text".into()))
}

/// Checks the proof of a request to `url` (if it carries one) and returns its
/// key's thumbprint. `access_token`: the token presented at a resource.
pub(crate) fn check(
    state: &AppState,
    role: Role,
    headers: &HeaderMap,
    method: &str,
    url: &str,
    access_token: Option<&str>,
) -> Result<Option<String>, Refusal> {
    let Some(jwt) = proof_header(headers)? else {
        return Ok(None);
    };
    let url = Url::parse(url).map_err(|e| Refusal::Invalid(format!("bad request URL: {e}")))?;
    let nonce = state.config.dpop_nonce.then(|| nonce(state, role));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let verified = dpop::verify_proof(
        jwt,
        &ProofCheck {
            method,
            url: &url,
            access_token,
            nonce: nonce.as_deref(),
            now,
            max_skew_secs: MAX_SKEW_SECS,
        },
    )
    .map_err(|rejection| match rejection {
        ProofRejection::UseNonce => Refusal::UseNonce,
        ProofRejection::Invalid(reason) => Refusal::Invalid(reason.to_owned()),
    })?;
    if !state.oauth().dpop_jtis.insert(verified.jti) {
        return Err(Refusal::Invalid("the proof was already used (jti)".into()));
    }
    Ok(Some(verified.jkt))
}

/// The nonce `role` currently demands.
fn nonce(state: &AppState, role: Role) -> String {
    let oauth = state.oauth();
    match role {
        Role::AuthorizationServer => oauth.as_dpop_nonce.clone(),
        Role::Resource => oauth.rs_dpop_nonce.clone(),
    }
}

/// Adds the current `DPoP-Nonce` of `role` to a response.
pub(crate) fn with_nonce(mut response: Response, state: &AppState, role: Role) -> Response {
    if let Ok(value) = HeaderValue::from_str(&nonce(state, role)) {
        response.headers_mut().insert(dpop::NONCE_HEADER, value);
    }
    response
}

/// The resource's `401` for a refused proof: a `DPoP` challenge (§7.1, §9).
pub(crate) fn resource_challenge(state: &AppState, refusal: Refusal) -> Response {
    let (error, description) = match &refusal {
        Refusal::UseNonce => (dpop::USE_DPOP_NONCE, "a DPoP nonce is required".to_owned()),
        Refusal::Invalid(reason) => ("invalid_dpop_proof", reason.clone()),
    };
    let mut response = (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({
            "jsonrpc": "2.0", "id": null,
            "error": { "code": -32001, "message": description },
        })),
    )
        .into_response();
    let mut challenge = format!("DPoP algs=\"ES256\", error=\"{error}\"");
    if let Some(url) = &state.resource.resource_metadata_url {
        challenge.push_str(&format!(", resource_metadata=\"{url}\""));
    }
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(axum::http::header::WWW_AUTHENTICATE, value);
    }
    match refusal {
        Refusal::UseNonce => with_nonce(response, state, Role::Resource),
        Refusal::Invalid(_) => response,
    }
}

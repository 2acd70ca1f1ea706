//! The protected MCP endpoint: JSON-RPC over `POST /mcp` (MCP "Streamable HTTP",
//! answering with plain JSON), guarded by bearer tokens (RFC 6750) whose audience
//! must be this resource (RFC 8707).
//!
//! A missing or invalid token gets `401` with an RFC 9728 §5.1 challenge
//! (`resource_metadata`, `scope`); calling the `admin_reset` tool without
//! `mcp:admin` gets `403` with `error="insufficient_scope"` and the scopes needed
//! (RFC 6750 §3.1), which is what drives a client's step-up.

use super::config::ADMIN_SCOPE;
use super::dpop;
use super::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;

/// The protocol version answered when `initialize` names none.
pub const DEFAULT_PROTOCOL_VERSION: &str = "2025-11-25";

/// JSON-RPC: the method does not exist.
const METHOD_NOT_FOUND: i64 = -32601;
/// JSON-RPC: invalid parameters.
const INVALID_PARAMS: i64 = -32602;
/// JSON-RPC: not a valid request object.
const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC: the body is not JSON.
const PARSE_ERROR: i64 = -32700;

/// `POST /mcp`.
pub(crate) async fn mcp(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let scopes = match authorize(&state, &headers) {
        Ok(scopes) => scopes,
        Err(Denied::Bearer(error)) => return unauthorized(&state, error),
        Err(Denied::Dpop(refusal)) => return dpop::resource_challenge(&state, refusal),
    };
    let message: Value = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(e) => {
            return rpc_error_response(
                StatusCode::BAD_REQUEST,
                Value::Null,
                PARSE_ERROR,
                &format!("parse error: {e}"),
            )
        }
    };
    let Some(method) = message.get("method").and_then(Value::as_str) else {
        let id = message.get("id").cloned().unwrap_or(Value::Null);
        return rpc_error_response(
            StatusCode::BAD_REQUEST,
            id,
            INVALID_REQUEST,
            "expected a JSON-RPC request object with a method",
        );
    };
    let Some(id) = message.get("id").cloned() else {
        // A notification (e.g. notifications/initialized): accepted, no body.
        return StatusCode::ACCEPTED.into_response();
    };
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    match method {
        "initialize" => result(id, initialize(&params)),
        "server/discover" => result(
            id,
            json!({
                "serverInfo": server_info(),
                "capabilities": capabilities(),
                "supportedVersions": ["2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"],
            }),
        ),
        "ping" => result(id, json!({})),
        "tools/list" => result(id, json!({ "tools": tools() })),
        "tools/call" => call_tool(&state, id, &params, &scopes),
        other => rpc_error_response(
            StatusCode::OK,
            id,
            METHOD_NOT_FOUND,
            &format!("method {other} not found"),
        ),
    }
}

/// Why a request was not let in.
enum Denied {
    /// A Bearer challenge with this `error` (none when no token was sent, RFC
    /// 6750 §3.1).
    Bearer(Option<&'static str>),
    /// A DPoP-bound token whose proof was refused (RFC 9449 §7.1, §9).
    Dpop(dpop::Refusal),
}

/// The scopes of a valid token for this resource: a bearer token as `Bearer`, a
/// DPoP-bound one as `DPoP` with a proof of its key (RFC 9449 §7).
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<Vec<String>, Denied> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("bearer")
                || scheme.eq_ignore_ascii_case(mcp_oauth_core::dpop::TOKEN_TYPE)
        });
    let Some((scheme, token)) = presented else {
        return Err(Denied::Bearer(None));
    };
    let token = token.trim();
    let grant = state.oauth().access_tokens.get(token).cloned();
    let grant = match grant {
        Some(grant)
            if grant.expires > Instant::now()
                && grant.resource.as_deref().is_none_or(|r| r == state.mcp_url) =>
        {
            grant
        }
        _ => return Err(Denied::Bearer(Some("invalid_token"))),
    };
    let Some(jkt) = &grant.jkt else {
        // A bearer token is presented as one.
        return if scheme.eq_ignore_ascii_case("bearer") {
            Ok(grant.scopes)
        } else {
            Err(Denied::Bearer(Some("invalid_token")))
        };
    };
    if !scheme.eq_ignore_ascii_case(mcp_oauth_core::dpop::TOKEN_TYPE) {
        return Err(Denied::Dpop(dpop::Refusal::Invalid(
            "a DPoP-bound token must be presented with the DPoP scheme".into(),
        )));
    }
    match dpop::check(
        state,
        dpop::Role::Resource,
        headers,
        "POST",
        &state.mcp_url,
        Some(token),
    ) {
        Ok(Some(proven)) if &proven == jkt => Ok(grant.scopes),
        Ok(Some(_)) => Err(Denied::Dpop(dpop::Refusal::Invalid(
            "the proof's key is not the one the token is bound to".into(),
        ))),
        Ok(None) => Err(Denied::Dpop(dpop::Refusal::Invalid(
            "a DPoP-bound token needs a DPoP proof".into(),
        ))),
        Err(refusal) => Err(Denied::Dpop(refusal)),
    }
}

/// `401` with the RFC 9728 §5.1 challenge.
fn unauthorized(state: &AppState, error: Option<&str>) -> Response {
    let mut params = Vec::new();
    if let Some(error) = error {
        params.push(("error", error.to_owned()));
    }
    if state.config.prm_in_header {
        params.push(("resource_metadata", state.header_prm_url()));
    }
    if !state.config.default_scopes.is_empty() {
        params.push(("scope", state.config.default_scopes.join(" ")));
    }
    with_challenge(
        rpc_error_response(
            StatusCode::UNAUTHORIZED,
            Value::Null,
            -32001,
            "authorization required",
        ),
        &params,
    )
}

/// `403 insufficient_scope` naming the scopes the call needs (RFC 6750 §3.1).
fn insufficient_scope(state: &AppState, id: Value, current: &[String]) -> Response {
    let mut needed = current.to_vec();
    if !needed.iter().any(|s| s == ADMIN_SCOPE) {
        needed.push(ADMIN_SCOPE.to_owned());
    }
    let mut params = vec![
        ("error", "insufficient_scope".to_owned()),
        ("scope", needed.join(" ")),
    ];
    if state.config.prm_in_header {
        params.push(("resource_metadata", state.header_prm_url()));
    }
    with_challenge(
        rpc_error_response(
            StatusCode::FORBIDDEN,
            id,
            -32003,
            &format!("insufficient scope: {ADMIN_SCOPE} is required"),
        ),
        &params,
    )
}

/// Adds `WWW-Authenticate: Bearer k="v", ...`.
fn with_challenge(mut response: Response, params: &[(&str, String)]) -> Response {
    let rendered: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{name}=\"{}\"", value.replace(['\\', '"'], "")))
        .collect();
    let challenge = if rendered.is_empty() {
        "Bearer".to_owned()
    } else {
        format!("Bearer {}", rendered.join(", "))
    };
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

/// The `initialize` result, echoing the client's protocol version.
fn initialize(params: &Value) -> Value {
    let version = params
        .get("protocolVersion")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_PROTOCOL_VERSION);
    json!({
        "protocolVersion": version,
        "capabilities": capabilities(),
        "serverInfo": server_info(),
    })
}

fn capabilities() -> Value {
    json!({ "tools": {} })
}

fn server_info() -> Value {
    json!({ "name": "mcp-oauth-test-server", "version": env!("CARGO_PKG_VERSION") })
}

fn tools() -> Value {
    json!([
        {
            "name": "echo",
            "description": "Returns its text argument.",
            "inputSchema": {
                "type": "object",
                "properties": { "text": { "type": "string" } },
                "required": ["text"],
            },
        },
        {
            "name": "admin_reset",
            "description": "Pretends to reset the server; needs the mcp:admin scope.",
            "inputSchema": { "type": "object", "properties": {} },
        },
    ])
}

/// `tools/call`.
fn call_tool(state: &AppState, id: Value, params: &Value, scopes: &[String]) -> Response {
    match params.get("name").and_then(Value::as_str) {
        Some("echo") => {
            let Some(text) = params
                .get("arguments")
                .and_then(|a| a.get("text"))
                .and_then(Value::as_str)
            else {
                return rpc_error_response(
                    StatusCode::OK,
                    id,
                    INVALID_PARAMS,
                    "echo needs a string argument text",
                );
            };
            result(id, tool_text(text))
        }
        Some("admin_reset") if scopes.iter().any(|s| s == ADMIN_SCOPE) => {
            result(id, tool_text("reset done"))
        }
        Some("admin_reset") => insufficient_scope(state, id, scopes),
        Some(other) => rpc_error_response(
            StatusCode::OK,
            id,
            INVALID_PARAMS,
            &format!("unknown tool {other}"),
        ),
        None => rpc_error_response(StatusCode::OK, id, INVALID_PARAMS, "name is required"),
    }
}

fn tool_text(text: &str) -> Value {
    json!({ "content": [{ "type": "text", "text": text }], "isError": false })
}

fn result(id: Value, result: Value) -> Response {
    Json(json!({ "jsonrpc": "2.0", "id": id, "result": result })).into_response()
}

fn rpc_error_response(status: StatusCode, id: Value, code: i64, message: &str) -> Response {
    (
        status,
        Json(json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": code, "message": message },
        })),
    )
        .into_response()
}

//! The protected MCP endpoint: JSON-RPC over `POST /mcp` (MCP "Streamable HTTP",
//! answering with plain JSON), guarded by bearer tokens (RFC 6750) whose audience
//! must be this resource (RFC 8707).
//!
//! `mcp_oauth_core::server::ProtectedResource` decides: a missing or invalid
//! token gets `401` with an RFC 9728 §5.1 challenge (`resource_metadata`,
//! `scope`); calling the `admin_reset` tool without `mcp:admin` gets `403` with
//! `error="insufficient_scope"` and the scopes needed (RFC 6750 §3.1), which is
//! what drives a client's step-up.

use super::config::ADMIN_SCOPE;
use super::state::{now, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use mcp_oauth_core::server::{bearer_token, token_key, AccessTokenRecord, BearerError};
use serde_json::{json, Value};
use std::sync::Arc;

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
    let record = match authorize(&state, &headers) {
        Ok(record) => record,
        Err(error) => return refused(&state, Value::Null, &error),
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
        "tools/call" => call_tool(&state, id, &params, &record),
        other => rpc_error_response(
            StatusCode::OK,
            id,
            METHOD_NOT_FOUND,
            &format!("method {other} not found"),
        ),
    }
}

/// The record of the request's bearer token, if it is valid for this resource.
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<AccessTokenRecord, BearerError> {
    let token = bearer_token(
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    let record = token.and_then(|t| state.oauth().access_tokens.get(&token_key(t)).cloned());
    state.resource.verify(token, record.as_ref(), &[], now())?;
    record.ok_or(BearerError::Missing)
}

/// `401` or `403` with the challenge core builds.
fn refused(state: &AppState, id: Value, error: &BearerError) -> Response {
    let (code, message) = match error {
        BearerError::InsufficientScope { .. } => (
            -32003,
            format!("insufficient scope: {ADMIN_SCOPE} is required"),
        ),
        _ => (-32001, "authorization required".to_owned()),
    };
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    let mut response = rpc_error_response(status, id, code, &message);
    if let Ok(value) = HeaderValue::from_str(&state.resource.challenge(error)) {
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
fn call_tool(state: &AppState, id: Value, params: &Value, record: &AccessTokenRecord) -> Response {
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
        Some("admin_reset") => {
            let admin = [ADMIN_SCOPE.to_owned()];
            match state.resource.require_scopes(record, &admin) {
                Ok(()) => result(id, tool_text("reset done")),
                Err(error) => refused(state, id, &error),
            }
        }
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

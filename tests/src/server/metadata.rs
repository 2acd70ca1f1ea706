//! The discovery documents: authorization-server metadata (RFC 8414 §2, at the
//! path-inserted well-known URL of §3.1) and protected-resource metadata (RFC 9728
//! §2, at the well-known URLs of §3.1 and at the URL the 401 challenge names).

use super::config::Registration;
use super::reply::no_store_json;
use super::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};
use std::sync::Arc;

/// The RFC 8414 document for this issuer.
pub(crate) fn authorization_server_document(state: &AppState) -> Value {
    let config = &state.config;
    let mut doc = json!({
        "issuer": state.issuer,
        "authorization_endpoint": state.endpoint("/authorize"),
        "token_endpoint": state.endpoint("/token"),
        "scopes_supported": config.scopes_supported,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": config
            .token_endpoint_auth_methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>(),
        "authorization_response_iss_parameter_supported": config.iss_parameter,
        "client_id_metadata_document_supported": false,
    });
    if config.registration != Registration::Absent {
        doc["registration_endpoint"] = Value::String(state.endpoint("/register"));
    }
    if config.dpop {
        doc["dpop_signing_alg_values_supported"] = json!([mcp_oauth_core::dpop::ALGORITHM]);
    }
    doc
}

/// The RFC 9728 document for the MCP endpoint.
pub(crate) fn protected_resource_document(state: &AppState) -> Value {
    json!({
        "resource": state.mcp_url,
        "authorization_servers": [state.issuer],
        "scopes_supported": state.config.scopes_supported,
        "bearer_methods_supported": ["header"],
        "resource_name": "mcp-oauth test server",
    })
}

/// `GET /.well-known/oauth-authorization-server[/issuer_path]`.
pub(crate) async fn authorization_server(State(state): State<Arc<AppState>>) -> Response {
    no_store_json(StatusCode::OK, authorization_server_document(&state))
}

/// `GET` of any protected-resource metadata URL this configuration serves.
pub(crate) async fn protected_resource(State(state): State<Arc<AppState>>) -> Response {
    no_store_json(StatusCode::OK, protected_resource_document(&state))
}

//! The discovery documents, as `mcp_oauth_core::server` builds them from the
//! configuration: authorization-server metadata (RFC 8414 §2, at the
//! path-inserted well-known URL of §3.1) and protected-resource metadata (RFC 9728
//! §2, at the well-known URLs of §3.1 and at the URL the 401 challenge names).

use super::reply::no_store_json;
use super::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::Arc;

/// `GET /.well-known/oauth-authorization-server[/issuer_path]`.
pub(crate) async fn authorization_server(State(state): State<Arc<AppState>>) -> Response {
    let mut document = state.server.metadata();
    if state.config.dpop {
        document["dpop_signing_alg_values_supported"] =
            serde_json::json!([mcp_oauth_core::dpop::ALGORITHM]);
    }
    no_store_json(StatusCode::OK, document)
}

/// `GET` of any protected-resource metadata URL this configuration serves.
pub(crate) async fn protected_resource(State(state): State<Arc<AppState>>) -> Response {
    let mut document = state.resource.metadata();
    if state.config.dpop {
        // RFC 9728 §2: the resource takes DPoP-bound tokens.
        document["dpop_signing_alg_values_supported"] =
            serde_json::json!([mcp_oauth_core::dpop::ALGORITHM]);
    }
    no_store_json(StatusCode::OK, document)
}

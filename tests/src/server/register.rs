//! Dynamic client registration (RFC 7591 §3): open, closed (`403`), or absent.
//!
//! Each redirect URI must be registrable (`mcp_oauth_core::server::redirect`:
//! loopback or https, spelled canonically); they become the client's
//! [`RedirectPolicy`]: exact, except that a loopback URI matches on any port
//! (RFC 8252 §7.3). The requested `token_endpoint_auth_method` (default
//! `client_secret_basic`, §2) must be one the server advertises; a secret is
//! issued for every method but `none`.

use super::config::Registration;
use super::reply::{no_store_json, oauth_error};
use super::state::{random_id, AppState};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use mcp_oauth_core::client_auth::AuthMethod;
use mcp_oauth_core::server::redirect::check_registrable;
use mcp_oauth_core::server::{Client, RedirectPolicy};
use mcp_oauth_core::Secret;
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// `POST /register`.
pub(crate) async fn register(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    if state.config.registration == Registration::Closed {
        return oauth_error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "dynamic client registration is closed on this server; register a client by hand",
        );
    }
    let mut metadata: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return invalid_metadata("the body must be a JSON object"),
        Err(e) => return invalid_metadata(&format!("the body is not JSON: {e}")),
    };

    let redirect_uris = match strings(&metadata, "redirect_uris") {
        Ok(Some(uris)) if !uris.is_empty() => uris,
        Ok(_) => return invalid_redirect("redirect_uris is required"),
        Err(description) => return invalid_metadata(&description),
    };
    for uri in &redirect_uris {
        if let Err(error) = check_registrable(uri) {
            return invalid_redirect(&format!("{uri}: {error}"));
        }
    }

    let method_name = match metadata.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => "client_secret_basic".to_owned(),
        Some(Value::String(name)) => name.clone(),
        Some(_) => return invalid_metadata("token_endpoint_auth_method must be a string"),
    };
    let Some(method) = AuthMethod::from_name(&method_name)
        .filter(|m| state.config.token_endpoint_auth_methods.contains(m))
    else {
        let offered: Vec<&str> = state
            .config
            .token_endpoint_auth_methods
            .iter()
            .map(|m| m.as_str())
            .collect();
        return invalid_metadata(&format!(
            "token_endpoint_auth_method {method_name} is not supported; use one of {}",
            offered.join(", ")
        ));
    };
    let scope = match metadata.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(scope)) => Some(scope.clone()),
        Some(_) => return invalid_metadata("scope must be a string"),
    };
    if let Some(unknown) = scope
        .iter()
        .flat_map(|s| s.split(' '))
        .find(|s| !s.is_empty() && !state.config.scopes_supported.iter().any(|k| k == s))
    {
        return invalid_metadata(&format!("scope {unknown} is not supported"));
    }
    if let Err(description) = strings(&metadata, "grant_types") {
        return invalid_metadata(&description);
    }

    let client_id = random_id("client");
    let secret = (method != AuthMethod::None).then(|| random_id("secret"));
    state.oauth().clients.insert(
        client_id.clone(),
        Client {
            client_id: client_id.clone(),
            redirect: RedirectPolicy::registered(redirect_uris),
            scope: state.server.dynamic_client_scope(),
            auth_methods: vec![method],
            secret: secret.clone().map(Secret::new),
        },
    );

    // RFC 7591 §3.2.1: echo the registered metadata with the credentials.
    metadata.insert("client_id".into(), client_id.into());
    metadata.insert(
        "client_id_issued_at".into(),
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
            .into(),
    );
    metadata.insert(
        "token_endpoint_auth_method".into(),
        method.as_str().to_owned().into(),
    );
    if let Some(secret) = secret {
        metadata.insert("client_secret".into(), secret.into());
        metadata.insert("client_secret_expires_at".into(), 0.into());
    }
    no_store_json(StatusCode::CREATED, Value::Object(metadata))
}

/// An optional array of strings.
fn strings(metadata: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, String> {
    match metadata.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{name} must hold only strings"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(format!("{name} must be an array of strings")),
    }
}

fn invalid_metadata(description: &str) -> Response {
    oauth_error(
        StatusCode::BAD_REQUEST,
        "invalid_client_metadata",
        description,
    )
}

fn invalid_redirect(description: &str) -> Response {
    oauth_error(StatusCode::BAD_REQUEST, "invalid_redirect_uri", description)
}

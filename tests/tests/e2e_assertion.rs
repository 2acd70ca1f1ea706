//! Assertion grants end to end over loopback HTTP: the native client signs in to a
//! small authorization server + resource that take only the JWT-bearer grant
//! (workload identity, RFC 7523 §2.1), with no browser and no listener, and
//! renews an expired token by presenting the assertion again, without a user.
//! The server here is minimal on purpose: the test server has no JWT-bearer
//! grant, and the official conformance suite covers the protocol checks.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use mcp_oauth::opener::FnOpener;
use mcp_oauth::{OAuthClient, Preset};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);
const ASSERTION: &str = "eyJ.workload.jwt";

#[derive(Default)]
struct Server {
    origin: String,
    /// The form of every token request.
    token_requests: Vec<HashMap<String, String>>,
    /// The token currently valid at the resource.
    valid: Option<String>,
}

type Shared = Arc<Mutex<Server>>;

async fn start() -> (Shared, String) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let state: Shared = Arc::new(Mutex::new(Server {
        origin: origin.clone(),
        ..Default::default()
    }));
    let app = Router::new()
        .route("/mcp", post(mcp))
        .route("/.well-known/oauth-protected-resource/mcp", get(prm))
        .route("/.well-known/oauth-authorization-server", get(metadata))
        .route("/token", post(token))
        .with_state(Arc::clone(&state));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (state, format!("{origin}/mcp"))
}

async fn prm(State(state): State<Shared>) -> Json<Value> {
    let origin = state.lock().unwrap().origin.clone();
    Json(json!({ "resource": format!("{origin}/mcp"), "authorization_servers": [origin] }))
}

async fn metadata(State(state): State<Shared>) -> Json<Value> {
    let origin = state.lock().unwrap().origin.clone();
    Json(json!({
        "issuer": origin,
        "authorization_endpoint": format!("{origin}/authorize"),
        "token_endpoint": format!("{origin}/token"),
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": [mcp_oauth::core::assertion::JWT_BEARER_GRANT],
        "token_endpoint_auth_methods_supported": ["none"],
    }))
}

async fn token(State(state): State<Shared>, Form(form): Form<HashMap<String, String>>) -> Response {
    let mut server = state.lock().unwrap();
    server.token_requests.push(form.clone());
    let ok = form.get("grant_type").map(String::as_str)
        == Some(mcp_oauth::core::assertion::JWT_BEARER_GRANT)
        && form.get("assertion").map(String::as_str) == Some(ASSERTION);
    if !ok {
        let body = json!({ "error": "invalid_grant" });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let access_token = format!("at-{}", server.token_requests.len());
    server.valid = Some(access_token.clone());
    // 2 s: due for renewal half-way through, one second after issue.
    Json(json!({ "access_token": access_token, "token_type": "Bearer", "expires_in": 2 }))
        .into_response()
}

async fn mcp(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let server = state.lock().unwrap();
    let presented = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if presented.is_some() && presented == server.valid.as_deref() {
        return Json(json!({ "jsonrpc": "2.0", "id": 1, "result": { "tools": [] } }))
            .into_response();
    }
    let challenge = format!(
        "Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource/mcp\"",
        server.origin
    );
    (StatusCode::UNAUTHORIZED, [("www-authenticate", challenge)]).into_response()
}

#[test]
fn a_workload_signs_in_without_a_browser_and_renews_by_presenting_the_assertion_again() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        tokio::time::timeout(LIMIT, async {
            let (server, mcp_url) = start().await;
            let client = OAuthClient::builder("workload e2e")
                .opener(FnOpener(|url: &url::Url| {
                    Err(format!("no browser for a workload, got {url}"))
                }))
                .build()
                .expect("client");
            let connection = client
                .connect(Preset::workload(&mcp_url, ASSERTION))
                .await
                .expect("connect");
            let first = connection.access_token().await.expect("token");
            {
                let server = server.lock().unwrap();
                assert_eq!(server.token_requests.len(), 1);
                let form = &server.token_requests[0];
                assert_eq!(form.get("resource"), Some(&mcp_url));
                assert_eq!(form.get("client_id"), None, "an anonymous workload");
            }
            // The token is due: the connection presents the assertion again.
            tokio::time::sleep(Duration::from_millis(1_500)).await;
            let second = connection.access_token().await.expect("renewed token");
            assert_ne!(second, first);
            assert_eq!(server.lock().unwrap().token_requests.len(), 2);
            let request = reqwest::Client::new()
                .post(&mcp_url)
                .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }))
                .build()
                .expect("request");
            assert_eq!(connection.send(request).await.expect("send").status(), 200);
        })
        .await
        .expect("the test took too long");
    });
}

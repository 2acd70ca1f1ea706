//! A hostile MCP server and authorization server on one loopback origin: it
//! answers like a real pair but with the attacks of issue 10 switched on, and
//! records every request so a case can assert what it never received.

#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use mcp_oauth::opener::HeadlessBrowser;
use mcp_oauth::store::MemoryStore;
use mcp_oauth::{OAuthClient, OAuthClientBuilder};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request the hostile server received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub authorization: Option<String>,
    pub body: String,
}

/// What the hostile pair does.
#[derive(Clone, Default)]
pub struct Script {
    /// The `resource` its PRM states (default: its own MCP URL).
    pub prm_resource: Option<String>,
    /// The issuer its PRM names (default: its own `/as`).
    pub issuer: Option<String>,
    /// Advertise `authorization_response_iss_parameter_supported`.
    pub iss_supported: bool,
    /// How `/authorize` answers.
    pub authorize: Authorize,
    /// How `/mcp` answers a request that carries a token.
    pub resource: Resource,
}

/// The authorization endpoint's behaviour.
#[derive(Clone, Default)]
pub enum Authorize {
    /// Redirect back with a code and the state.
    #[default]
    Code,
    /// First hit the redirect URI itself with `extra` (a forged callback, as any
    /// local process or web page could), then redirect back with a code.
    ForgeFirst(String),
    /// Redirect back with the state and these raw query parameters.
    Raw(String),
}

/// The resource's behaviour for authorized requests.
#[derive(Clone, Default)]
pub enum Resource {
    /// 200 with a JSON-RPC result.
    #[default]
    Ok,
    /// 403 `insufficient_scope` asking for this scope, every time.
    Forbidden(String),
}

pub struct Hostile {
    pub origin: String,
    log: Arc<Mutex<Vec<Seen>>>,
}

#[derive(Clone)]
struct Ctx {
    origin: String,
    script: Script,
    log: Arc<Mutex<Vec<Seen>>>,
    http: reqwest::Client,
}

impl Hostile {
    /// Starts the pair on an ephemeral loopback port.
    pub async fn start(script: Script) -> Hostile {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let origin = format!("http://{}", listener.local_addr().expect("addr"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let ctx = Ctx {
            origin: origin.clone(),
            script,
            log: log.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        };
        let app = Router::new()
            .route("/mcp", any(mcp))
            .route("/.well-known/oauth-protected-resource/mcp", get(prm))
            .route(
                "/.well-known/oauth-authorization-server/as",
                get(as_metadata),
            )
            .route("/as/authorize", get(authorize))
            .route("/as/token", post(token))
            .route("/as/register", post(register))
            .fallback(any(record_only))
            .with_state(ctx);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Hostile { origin, log }
    }

    /// The MCP server URL.
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.origin)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.origin.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Everything received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// Requests to `path`.
    pub fn hits(&self, path: &str) -> Vec<Seen> {
        self.seen().into_iter().filter(|s| s.path == path).collect()
    }
}

fn remember(ctx: &Ctx, method: &str, uri: &Uri, headers: &HeaderMap, body: &[u8]) {
    ctx.log.lock().unwrap().push(Seen {
        method: method.to_owned(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: String::from_utf8_lossy(body).into_owned(),
    });
}

async fn record_only(
    State(ctx): State<Ctx>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    remember(&ctx, method.as_str(), &uri, &headers, &body);
    StatusCode::NOT_FOUND
}

async fn mcp(
    State(ctx): State<Ctx>,
    method: axum::http::Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    remember(&ctx, method.as_str(), &uri, &headers, &body);
    let prm = format!("{}/.well-known/oauth-protected-resource/mcp", ctx.origin);
    if !headers.contains_key("authorization") {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                "www-authenticate",
                format!("Bearer resource_metadata=\"{prm}\""),
            )],
        )
            .into_response();
    }
    match &ctx.script.resource {
        Resource::Ok => Json(json!({"jsonrpc": "2.0", "id": 1, "result": {}})).into_response(),
        Resource::Forbidden(scope) => (
            StatusCode::FORBIDDEN,
            [(
                "www-authenticate",
                format!("Bearer error=\"insufficient_scope\", scope=\"{scope}\", resource_metadata=\"{prm}\""),
            )],
        )
            .into_response(),
    }
}

async fn prm(State(ctx): State<Ctx>, uri: Uri, headers: HeaderMap) -> Json<Value> {
    remember(&ctx, "GET", &uri, &headers, b"");
    Json(json!({
        "resource": ctx.script.prm_resource.clone().unwrap_or(format!("{}/mcp", ctx.origin)),
        "authorization_servers": [ctx.script.issuer.clone().unwrap_or(format!("{}/as", ctx.origin))],
    }))
}

async fn as_metadata(State(ctx): State<Ctx>, uri: Uri, headers: HeaderMap) -> Json<Value> {
    remember(&ctx, "GET", &uri, &headers, b"");
    let issuer = format!("{}/as", ctx.origin);
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "registration_endpoint": format!("{issuer}/register"),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "none"],
        "authorization_response_iss_parameter_supported": ctx.script.iss_supported,
    }))
}

async fn authorize(
    State(ctx): State<Ctx>,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    remember(&ctx, "GET", &uri, &headers, b"");
    let redirect = query.get("redirect_uri").cloned().unwrap_or_default();
    let state = query.get("state").cloned().unwrap_or_default();
    let state = url::form_urlencoded::byte_serialize(state.as_bytes()).collect::<String>();
    let tail = match &ctx.script.authorize {
        Authorize::Code => "code=hostile-code".to_owned(),
        Authorize::ForgeFirst(forged) => {
            // Another local process gets there first.
            let _ = ctx.http.get(format!("{redirect}?{forged}")).send().await;
            "code=hostile-code".to_owned()
        }
        Authorize::Raw(raw) => raw.clone(),
    };
    Redirect::to(&format!("{redirect}?{tail}&state={state}")).into_response()
}

async fn token(State(ctx): State<Ctx>, uri: Uri, headers: HeaderMap, body: Bytes) -> Json<Value> {
    remember(&ctx, "POST", &uri, &headers, &body);
    Json(
        json!({"access_token": "hostile-at", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "hostile-rt"}),
    )
}

async fn register(State(ctx): State<Ctx>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    remember(&ctx, "POST", &uri, &headers, &body);
    (
        StatusCode::CREATED,
        Json(json!({"client_id": "hostile-client"})),
    )
        .into_response()
}

/// A client with a headless user agent and an in-memory store.
pub fn client() -> OAuthClientBuilder {
    OAuthClient::builder("hostile suite")
        .store(Arc::new(MemoryStore::new()))
        .opener(HeadlessBrowser::new().expect("headless browser"))
        .callback_timeout(Duration::from_secs(10))
}

/// Runs `body` on a fresh runtime, failing after 30 s (a hang is a failure).
pub fn run<F: Future<Output = ()>>(body: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            tokio::time::timeout(Duration::from_secs(30), body)
                .await
                .expect("the case hung");
        });
}

/// Whether shown text is safe for a terminal: no control characters (ESC, BEL,
/// CR, LF) and bounded.
pub fn assert_clean(text: &str) {
    assert!(
        !text.chars().any(char::is_control),
        "control characters reach the user: {text:?}"
    );
    assert!(text.len() < 2_000, "{} bytes reach the user", text.len());
}

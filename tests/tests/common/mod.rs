//! Shared helpers for the test-server tests: a non-redirecting HTTP client, time
//! bounds, and the OAuth steps (register, authorize, exchange) done by hand; and,
//! in [`runtime`], what the native client's end-to-end tests run on.

#![allow(dead_code)]

pub mod runtime;

use mcp_oauth_core::pkce::s256_challenge;
use mcp_oauth_tests::{TestServer, TestServerConfig};
use reqwest::header::{HeaderMap, LOCATION};
use reqwest::StatusCode;
use serde_json::Value;
use std::future::Future;
use std::time::Duration;
use url::Url;

/// A PKCE verifier (43 unreserved characters).
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// Where the test client pretends to listen.
pub const REDIRECT: &str = "http://127.0.0.1:53682/callback";

/// Runs `future`, failing the test if it takes longer than 20 seconds.
pub async fn within<T>(future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(20), future).await {
        Ok(value) => value,
        Err(_) => panic!("test step timed out"),
    }
}

/// Starts a server with `config`.
pub async fn start(config: TestServerConfig) -> TestServer {
    within(TestServer::start(config))
        .await
        .expect("test server starts")
}

/// An HTTP client that does not follow redirects.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// A response's status, headers and body as JSON (`Null` when not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The `Location` header as a URL.
    pub fn location(&self) -> Url {
        Url::parse(&self.header(LOCATION.as_str()).expect("a Location header"))
            .expect("Location is a URL")
    }

    /// A string field of the JSON body.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.json.get(name).and_then(Value::as_str)
    }
}

/// Sends `request` and reads the whole reply.
pub async fn send(request: reqwest::RequestBuilder) -> Reply {
    within(async {
        let response = request.send().await.expect("request is answered");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body is readable");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    })
    .await
}

/// A JSON `POST` to `url`.
pub fn json_post(url: &str, body: &Value) -> reqwest::RequestBuilder {
    http()
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
}

/// `GET url`.
pub async fn get(url: &str) -> Reply {
    send(http().get(url)).await
}

/// Registers a client with `token_endpoint_auth_method`; returns id and secret.
pub async fn register(server: &TestServer, method: &str) -> (String, Option<String>) {
    let reply = send(json_post(
        server.registration_endpoint().as_str(),
        &serde_json::json!({
            "client_name": "test",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": method,
            "application_type": "native",
        }),
    ))
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    (
        reply.str("client_id").expect("client_id").to_owned(),
        reply.str("client_secret").map(str::to_owned),
    )
}

/// The authorization URL for `client_id` with PKCE, state `xyz` and `extra` params.
pub fn authorization_url(server: &TestServer, client_id: &str, extra: &[(&str, &str)]) -> Url {
    let mut url = server.authorization_endpoint();
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("state", "xyz")
            .append_pair("code_challenge", &s256_challenge(VERIFIER))
            .append_pair("code_challenge_method", "S256");
        for (name, value) in extra {
            query.append_pair(name, value);
        }
    }
    url
}

/// A query parameter of `url`.
pub fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Authorizes (headless consent) with the server's resource and returns the code.
pub async fn code(server: &TestServer, client_id: &str, extra: &[(&str, &str)]) -> String {
    let resource = server.mcp_url().to_string();
    let mut params = vec![("resource", resource.as_str())];
    params.extend_from_slice(extra);
    let reply = get(authorization_url(server, client_id, &params).as_str()).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text);
    let location = reply.location();
    param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"))
}

/// POSTs a form to the token endpoint.
pub async fn token(server: &TestServer, form: &[(&str, &str)]) -> Reply {
    send(http().post(server.token_endpoint()).form(form)).await
}

/// Exchanges `code` as public client `client_id` with the right verifier.
pub async fn exchange(server: &TestServer, client_id: &str, code: &str) -> Reply {
    let resource = server.mcp_url().to_string();
    token(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", client_id),
            ("resource", &resource),
        ],
    )
    .await
}

/// Registers a public client and returns it with a fresh token response.
pub async fn public_client_tokens(server: &TestServer, extra: &[(&str, &str)]) -> (String, Reply) {
    let (client_id, _) = register(server, "none").await;
    let code = code(server, &client_id, extra).await;
    let reply = exchange(server, &client_id, &code).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    (client_id, reply)
}

/// POSTs a JSON-RPC message to the MCP endpoint with an optional bearer token.
pub async fn mcp(server: &TestServer, token: Option<&str>, message: Value) -> Reply {
    let mut request = json_post(server.mcp_url().as_str(), &message);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    send(request).await
}

//! DPoP end to end over real loopback HTTP: the native client (`mcp-oauth`) and
//! the test server with DPoP on (RFC 9449), nonces included. The client signs in,
//! its registration says it always uses DPoP (so the server requires proofs from
//! it), its tokens are bound to its key, every MCP request carries a fresh proof,
//! both servers' nonce challenges are answered once, refreshes are proven, and a
//! restored connection keeps its key. Every test is bounded by
//! [`common::runtime::LIMIT`].

mod common;

use common::runtime::{run, TestClock};

use base64::Engine as _;
use mcp_oauth::client::Clock;
use mcp_oauth::core::session::Session;
use mcp_oauth::opener::HeadlessBrowser;
use mcp_oauth::store::MemoryStore;
use mcp_oauth::{Connection, OAuthClient, OAuthClientBuilder, Preset};
use mcp_oauth_tests::{TestServer, TestServerConfig};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

fn builder(store: Arc<MemoryStore>, clock: Clock) -> OAuthClientBuilder {
    OAuthClient::builder("mcp-oauth dpop e2e")
        .store(store)
        .opener(HeadlessBrowser::new().expect("headless browser"))
        .callback_timeout(Duration::from_secs(20))
        .clock(clock)
}

fn dpop_server() -> TestServerConfig {
    TestServerConfig {
        dpop: true,
        dpop_nonce: true,
        ..Default::default()
    }
}

async fn tools_list(connection: &Connection, server: &TestServer) -> reqwest::Response {
    let request = reqwest::Client::new()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {} }))
        .build()
        .expect("request");
    connection.send(request).await.expect("authorized request")
}

fn claims(jwt: &str) -> Value {
    let part = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

/// (method path status, has a proof, nonce claim) of every request.
fn trace(server: &TestServer) -> Vec<(String, bool, Option<String>)> {
    server
        .log()
        .iter()
        .map(|r| {
            let nonce = r
                .dpop
                .as_deref()
                .and_then(|p| claims(p)["nonce"].as_str().map(str::to_owned));
            (
                format!("{} {} {}", r.method, r.path, r.status),
                r.dpop.is_some(),
                nonce,
            )
        })
        .collect()
}

#[test]
fn a_dpop_server_binds_the_tokens_proofs_answer_both_nonces_and_refresh_keeps_the_key() {
    run(async {
        let server = TestServer::start(dpop_server()).await.expect("server");
        let time = TestClock::default();
        let store = Arc::new(MemoryStore::new());
        let client = builder(Arc::clone(&store), time.clock())
            .build()
            .expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        let session: Session = connection.session().await;
        assert_eq!(session.tokens.token_type, "DPoP");
        let key = session.dpop.clone().expect("a DPoP binding").key;
        let response = tools_list(&connection, &server).await;
        assert_eq!(response.status(), 200);

        let log = server.log();
        let registration = log.iter().find(|r| r.path == "/register").expect("DCR");
        assert_eq!(
            registration.json.as_ref().unwrap()["dpop_bound_access_tokens"],
            true
        );
        // The token endpoint asked for a nonce once; the retry carried it.
        let tokens: Vec<_> = log.iter().filter(|r| r.path == "/token").collect();
        assert_eq!(
            tokens.iter().map(|r| r.status).collect::<Vec<_>>(),
            [400, 200],
            "{:?}",
            trace(&server)
        );
        assert!(tokens.iter().all(|r| r.dpop.is_some()));
        assert!(claims(tokens[1].dpop.as_deref().unwrap())["nonce"].is_string());
        // The resource asked for its own nonce once, then took the bound token.
        let mcp: Vec<_> = log
            .iter()
            .filter(|r| r.path == "/mcp" && r.authorization.is_some())
            .collect();
        assert_eq!(
            mcp.iter().map(|r| r.status).collect::<Vec<_>>(),
            [401, 200],
            "{:?}",
            trace(&server)
        );
        for request in &mcp {
            assert!(request
                .authorization
                .as_deref()
                .unwrap()
                .starts_with("DPoP "));
            let proof = claims(request.dpop.as_deref().expect("a proof"));
            assert_eq!(proof["htu"], server.mcp_url().as_str());
            assert!(proof["ath"].is_string() && proof["content_digest"].is_string());
        }
        drop(log);

        // A refresh is proven with the same key and the AS nonce the connection
        // kept (no second challenge); the new token is bound again. (The clock
        // stays real: the server checks `iat` against its own.)
        server.clear_log();
        connection.refresh().await.expect("refresh");
        assert_eq!(tools_list(&connection, &server).await.status(), 200);
        let refresh = server
            .log()
            .into_iter()
            .find(|r| r.path == "/token")
            .expect("a refresh");
        assert_eq!(refresh.status, 200, "{:?}", trace(&server));
        assert_eq!(refresh.form_value("grant_type"), Some("refresh_token"));
        let after = connection.session().await;
        assert_eq!(after.tokens.token_type, "DPoP");
        assert_eq!(after.dpop.expect("still bound").key, key);
        assert_ne!(after.tokens.access_token, session.tokens.access_token);

        // A restart: the stored connection has its key and keeps working.
        let restarted = builder(store, time.clock()).build().expect("client");
        let restored = restarted
            .connection(server.mcp_url().as_str())
            .await
            .expect("store")
            .expect("a stored connection");
        assert_eq!(restored.session().await.dpop.expect("bound").key, key);
        assert_eq!(tools_list(&restored, &server).await.status(), 200);
        server.shutdown().await;
    });
}

#[test]
fn a_bound_token_is_useless_without_its_key() {
    run(async {
        let server = TestServer::start(dpop_server()).await.expect("server");
        let time = TestClock::default();
        let client = builder(Arc::new(MemoryStore::new()), time.clock())
            .build()
            .expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        let token = connection.access_token().await.expect("token");
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" });
        for scheme in ["Bearer", "DPoP"] {
            let response = reqwest::Client::new()
                .post(server.mcp_url())
                .header("authorization", format!("{scheme} {}", token.expose()))
                .json(&body)
                .send()
                .await
                .expect("send");
            assert_eq!(response.status(), 401, "{scheme} without a proof");
        }
        // Nor is the refresh token: the client registered as DPoP-bound, so the
        // token endpoint wants a proof, and a replayed one does not count.
        let session = connection.session().await;
        let resource = server.mcp_url();
        let form = [
            ("grant_type", "refresh_token"),
            (
                "refresh_token",
                session.tokens.refresh_token.as_ref().expect("rt").expose(),
            ),
            ("client_id", session.grant.client.client_id.as_str()),
            ("resource", resource.as_str()),
        ];
        let replayed = server
            .log()
            .into_iter()
            .rev()
            .find_map(|r| r.dpop.filter(|_| r.path == "/token"))
            .expect("a proof the client sent");
        for proof in [None, Some(replayed)] {
            let mut request = reqwest::Client::new()
                .post(server.token_endpoint())
                .form(&form);
            if let Some(proof) = &proof {
                request = request.header("DPoP", proof);
            }
            let response = request.send().await.expect("send");
            assert_eq!(response.status(), 400, "proof {proof:?}");
            let body: Value = response.json().await.expect("JSON");
            assert_eq!(body["error"], "invalid_dpop_proof", "{body}");
        }
        server.shutdown().await;
    });
}

#[test]
fn with_dpop_turned_off_the_same_server_issues_bearer_tokens() {
    run(async {
        let server = TestServer::start(dpop_server()).await.expect("server");
        let time = TestClock::default();
        let client = builder(Arc::new(MemoryStore::new()), time.clock())
            .dpop(false)
            .build()
            .expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        assert_eq!(connection.session().await.tokens.token_type, "Bearer");
        assert!(connection.session().await.dpop.is_none());
        assert_eq!(tools_list(&connection, &server).await.status(), 200);
        assert!(server.log().iter().all(|r| r.dpop.is_none()));
        server.shutdown().await;
    });
}

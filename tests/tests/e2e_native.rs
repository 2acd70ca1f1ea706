//! End to end over real loopback HTTP: the native client (`mcp-oauth`) against the
//! bundled test authorization server + MCP server, with a headless user agent in
//! place of the browser. Every test starts its own server on an ephemeral port and
//! is bounded by [`common::runtime::LIMIT`].

mod common;

use common::runtime::{run, TestClock};

use mcp_oauth::core::client_auth::AuthMethod;
use mcp_oauth::core::session::Status;
use mcp_oauth::core::Secret;
use mcp_oauth::opener::{FnOpener, HeadlessBrowser};
use mcp_oauth::store::MemoryStore;
use mcp_oauth::{Connection, OAuthClient, OAuthClientBuilder, Preset};
use mcp_oauth_tests::server::{PreRegisteredClient, Registration};
use mcp_oauth_tests::{TestServer, TestServerConfig};
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

fn builder() -> OAuthClientBuilder {
    OAuthClient::builder("mcp-oauth e2e")
        .store(Arc::new(MemoryStore::new()))
        .opener(HeadlessBrowser::new().expect("headless browser"))
        .callback_timeout(Duration::from_secs(20))
}

async fn start(config: TestServerConfig) -> TestServer {
    TestServer::start(config).await.expect("start test server")
}

fn pre_registered(id: &str, secret: &str) -> Option<PreRegisteredClient> {
    Some(PreRegisteredClient::desktop(id, Some(secret)))
}

/// A JSON-RPC call through the connection's authorized-request helper.
async fn mcp_call(
    connection: &Connection,
    server: &TestServer,
    method: &str,
    params: Value,
) -> Value {
    let request = reqwest::Client::new()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }))
        .build()
        .expect("request");
    let response = connection.send(request).await.expect("authorized request");
    assert_eq!(response.status(), 200, "{method}");
    let body: Value = response.json().await.expect("JSON-RPC reply");
    assert!(body.get("error").is_none(), "{method}: {body}");
    body["result"].clone()
}

async fn tool_names(connection: &Connection, server: &TestServer) -> Vec<String> {
    let result = mcp_call(connection, server, "tools/list", json!({})).await;
    result["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

fn paths(server: &TestServer) -> Vec<String> {
    server
        .log()
        .iter()
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect()
}

#[test]
fn dynamic_flow_discovers_through_the_401_header() {
    run(async {
        let server = start(TestServerConfig::default()).await;
        let client = builder().build().expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        assert!(matches!(
            connection.status().await,
            Status::Connected { .. }
        ));
        assert!(tool_names(&connection, &server)
            .await
            .contains(&"echo".to_owned()));

        let log = server.log();
        let prm = server.header_protected_resource_metadata_url();
        assert!(
            log.iter().any(|r| r.path == prm.path() && r.status == 200),
            "PRM fetched from the header URL: {:?}",
            paths(&server)
        );
        assert_eq!(server.count("POST", "/register"), 1);
        let authorize = log
            .iter()
            .find(|r| r.path == "/authorize")
            .expect("authorize");
        assert_eq!(
            authorize.query_value("resource").as_deref(),
            Some(server.mcp_url().as_str())
        );
        assert_eq!(
            authorize.query_value("code_challenge_method").as_deref(),
            Some("S256")
        );
        let exchange = log.iter().find(|r| r.path == "/token").expect("token");
        assert_eq!(
            exchange.form_value("resource"),
            Some(server.mcp_url().as_str())
        );
        assert_eq!(
            exchange.form_value("grant_type"),
            Some("authorization_code")
        );
        server.shutdown().await;
    });
}

#[test]
fn dynamic_flow_discovers_through_well_known_urls_only() {
    run(async {
        let server = start(TestServerConfig {
            prm_in_header: false,
            ..TestServerConfig::default()
        })
        .await;
        let client = builder().build().expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        assert!(!tool_names(&connection, &server).await.is_empty());
        assert!(
            server.count("GET", "/.well-known/oauth-protected-resource/mcp") >= 1,
            "{:?}",
            paths(&server)
        );
        server.shutdown().await;
    });
}

#[test]
fn dynamic_flow_with_a_path_issuer() {
    run(async {
        let server = start(TestServerConfig {
            issuer_path: "/tenant1".to_owned(),
            ..TestServerConfig::default()
        })
        .await;
        let client = builder().build().expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        assert_eq!(connection.session().await.grant.issuer, server.issuer());
        assert!(server.issuer().ends_with("/tenant1"));
        assert_eq!(
            server.count("GET", "/.well-known/oauth-authorization-server/tenant1"),
            1,
            "{:?}",
            paths(&server)
        );
        assert!(!tool_names(&connection, &server).await.is_empty());
        server.shutdown().await;
    });
}

async fn manual_flow_with(method: AuthMethod) {
    let server = start(TestServerConfig {
        registration: Registration::Closed,
        token_endpoint_auth_methods: vec![method],
        pre_registered_client: pre_registered("figma-app", "s3cr3t:/+ &é"),
        ..TestServerConfig::default()
    })
    .await;

    // The dynamic preset fails with an actionable error.
    let client = builder().build().expect("client");
    let refused = client
        .connect(Preset::dynamic(server.mcp_url().as_str()))
        .await
        .expect_err("closed registration");
    assert_eq!(refused.code(), "registration_refused", "{refused}");
    assert!(refused.to_string().contains("manual"), "{refused}");

    let mut preset = Preset::manual(
        "figma-app",
        Some(Secret::new("s3cr3t:/+ &é")),
        server.authorization_endpoint().as_str(),
        server.token_endpoint().as_str(),
    );
    preset.server_url = Some(server.mcp_url().to_string());
    preset.auth_method = Some(method);
    preset.scopes = Some("mcp:read mcp:write".to_owned());
    let connection = client.connect(preset).await.expect("manual connect");
    assert!(!tool_names(&connection, &server).await.is_empty());

    let exchange = server
        .log()
        .into_iter()
        .find(|r| r.path == "/token" && r.status == 200)
        .expect("token exchange");
    match method {
        AuthMethod::ClientSecretBasic => {
            assert!(exchange
                .authorization
                .as_deref()
                .unwrap_or("")
                .starts_with("Basic "));
            assert_eq!(exchange.form_value("client_secret"), None);
        }
        AuthMethod::ClientSecretPost => {
            assert_eq!(exchange.authorization, None);
            assert_eq!(exchange.form_value("client_secret"), Some("s3cr3t:/+ &é"));
        }
        AuthMethod::None | AuthMethod::PrivateKeyJwt => unreachable!(),
    }
    server.shutdown().await;
}

#[test]
fn manual_flow_against_closed_registration_with_client_secret_basic() {
    run(manual_flow_with(AuthMethod::ClientSecretBasic));
}

#[test]
fn manual_flow_against_closed_registration_with_client_secret_post() {
    run(manual_flow_with(AuthMethod::ClientSecretPost));
}

#[test]
fn access_token_refreshes_before_expiry_and_follows_rotation() {
    run(async {
        let server = start(TestServerConfig {
            access_token_lifetime_secs: 600,
            rotate_refresh_tokens: true,
            ..TestServerConfig::default()
        })
        .await;
        let time = TestClock::default();
        let client = builder().clock(time.clock()).build().expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        let first = connection.access_token().await.expect("token");
        assert_eq!(
            connection.access_token().await.expect("token").expose(),
            first.expose()
        );
        assert_eq!(server.count("POST", "/token"), 1);

        let mut refresh_tokens = Vec::new();
        for round in 1..=3 {
            time.advance(600);
            let token = connection.access_token().await.expect("refreshed token");
            assert_ne!(token.expose(), first.expose());
            assert_eq!(server.count("POST", "/token"), 1 + round);
            let sent = server
                .log()
                .into_iter()
                .rev()
                .find(|r| r.path == "/token")
                .expect("refresh");
            assert_eq!(sent.form_value("grant_type"), Some("refresh_token"));
            assert_eq!(sent.form_value("resource"), Some(server.mcp_url().as_str()));
            refresh_tokens.push(sent.form_value("refresh_token").expect("rt").to_owned());
            assert!(!tool_names(&connection, &server).await.is_empty());
        }
        // Each refresh used the token the previous rotation issued.
        refresh_tokens.dedup();
        assert_eq!(refresh_tokens.len(), 3);
        server.shutdown().await;
    });
}

#[test]
fn access_token_now_answers_without_io_until_a_refresh_is_due() {
    run(async {
        let server = start(TestServerConfig {
            access_token_lifetime_secs: 600,
            ..TestServerConfig::default()
        })
        .await;
        let time = TestClock::default();
        let client = builder().clock(time.clock()).build().expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        let first = connection.access_token().await.expect("token");
        let now = connection
            .access_token_now()
            .expect("a valid token at hand");
        assert_eq!(now.expose(), first.expose());
        assert!(matches!(connection.status_now(), Status::Connected { .. }));

        time.advance(600);
        assert!(
            connection.access_token_now().is_none(),
            "due for a refresh: only the async path may answer"
        );
        assert_eq!(server.count("POST", "/token"), 1, "and it sent nothing");
        let refreshed = connection.access_token().await.expect("refreshed");
        assert_ne!(refreshed.expose(), first.expose());
        assert_eq!(
            connection
                .access_token_now()
                .expect("the new token")
                .expose(),
            refreshed.expose()
        );

        // A token the resource rejects is no longer handed out synchronously.
        server.expire_access_tokens();
        let before = server.count("POST", "/token");
        assert!(!tool_names(&connection, &server).await.is_empty());
        assert_eq!(server.count("POST", "/token"), before + 1);
        let current = connection
            .access_token_now()
            .expect("the token after the 401");
        assert_ne!(current.expose(), refreshed.expose());
        server.shutdown().await;
    });
}

#[test]
fn a_rejected_token_is_refreshed_once_and_the_request_retried() {
    run(async {
        let server = start(TestServerConfig::default()).await;
        let client = builder().build().expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        server.expire_access_tokens();
        assert!(!tool_names(&connection, &server).await.is_empty());
        assert_eq!(server.count("POST", "/token"), 2, "{:?}", paths(&server));
        server.shutdown().await;
    });
}

#[test]
fn a_refused_refresh_requires_reauth_and_keeps_the_grant() {
    run(async {
        let server = start(TestServerConfig {
            refresh_always_fails: true,
            ..TestServerConfig::default()
        })
        .await;
        let time = TestClock::default();
        let client = builder().clock(time.clock()).build().expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        let issuer_before = connection.session().await.grant.issuer;
        time.advance(7200);
        let error = connection.access_token().await.expect_err("refresh fails");
        assert_eq!(error.code(), "reauth_required", "{error}");
        assert!(error.to_string().contains("invalid_grant"), "{error}");
        assert_eq!(connection.status().await, Status::ReauthRequired);
        assert_eq!(connection.status_now(), Status::ReauthRequired);
        assert!(connection.access_token_now().is_none());
        // Everything but the usable token is kept, for a Reconnect button.
        assert_eq!(connection.session().await.grant.issuer, issuer_before);
        let stored = client
            .connection(connection.id())
            .await
            .expect("store")
            .expect("still stored");
        assert_eq!(stored.status().await, Status::ReauthRequired);
        server.shutdown().await;
    });
}

#[test]
fn insufficient_scope_steps_up_through_a_new_authorization() {
    run(async {
        let server = start(TestServerConfig::default()).await;
        let client = builder().build().expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        let before = connection.session().await.grant.scope.unwrap_or_default();
        assert!(!before.contains("mcp:admin"));
        let result = mcp_call(
            &connection,
            &server,
            "tools/call",
            json!({ "name": "admin_reset", "arguments": {} }),
        )
        .await;
        assert!(result.is_object());
        let after = connection.session().await.grant.scope.unwrap_or_default();
        assert!(
            after.contains("mcp:admin") && after.contains("mcp:read"),
            "{after}"
        );
        assert_eq!(server.count("GET", "/authorize"), 2);
        // The step-up reused the metadata the sign-in had just read.
        let metadata_reads = paths(&server)
            .into_iter()
            .filter(|p| {
                p.starts_with("GET /.well-known/") || p.starts_with("GET /resource-metadata")
            })
            .count();
        assert_eq!(metadata_reads, 2, "{:?}", paths(&server));
        server.shutdown().await;
    });
}

#[test]
fn the_listener_ignores_a_wrong_state_callback_and_still_completes() {
    run(async {
        let server = start(TestServerConfig::default()).await;
        let statuses = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&statuses);
        let opener = FnOpener(move |url: &url::Url| {
            let url = url.clone();
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let redirect = url
                    .query_pairs()
                    .find(|(k, _)| k == "redirect_uri")
                    .map(|(_, v)| v.into_owned())
                    .expect("redirect_uri");
                let http = reqwest::Client::new();
                // A forged callback first, and a favicon request, as browsers do.
                let forged = http
                    .get(format!("{redirect}?code=stolen&state=forged"))
                    .send()
                    .await
                    .expect("forged callback");
                let favicon = redirect.replace("/callback", "/favicon.ico");
                let icon = http.get(favicon).send().await.expect("favicon");
                seen.lock()
                    .unwrap()
                    .extend([forged.status().as_u16(), icon.status().as_u16()]);
                HeadlessBrowser::new()
                    .expect("browser")
                    .follow(&url)
                    .await
                    .expect("follow");
            });
            Ok(())
        });
        let client = OAuthClient::builder("mcp-oauth e2e")
            .store(Arc::new(MemoryStore::new()))
            .opener(opener)
            .callback_timeout(Duration::from_secs(20))
            .build()
            .expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("the real callback still completes the sign-in");
        assert!(!tool_names(&connection, &server).await.is_empty());
        let statuses = statuses.lock().unwrap().clone();
        assert_eq!(statuses.len(), 2);
        assert!(
            statuses[0] >= 400,
            "forged callback answered {}",
            statuses[0]
        );
        assert_eq!(statuses[1], 404);
        server.shutdown().await;
    });
}

#[test]
fn the_listener_times_out_when_no_callback_arrives() {
    run(async {
        let server = start(TestServerConfig::default()).await;
        let client = OAuthClient::builder("mcp-oauth e2e")
            .store(Arc::new(MemoryStore::new()))
            .opener(FnOpener(|_: &url::Url| Ok(())))
            .callback_timeout(Duration::from_secs(1))
            .build()
            .expect("client");
        let started = std::time::Instant::now();
        let error = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect_err("no callback");
        assert_eq!(error.code(), "timeout", "{error}");
        assert!(started.elapsed() < Duration::from_secs(10));
        server.shutdown().await;
    });
}

#[test]
fn a_corrupt_token_file_is_moved_aside_and_sign_in_still_works() {
    run(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, b"{ this is not json").expect("write garbage");
        let server = start(TestServerConfig::default()).await;
        let client = builder().file_store(&path).build().expect("client");
        assert!(client
            .connection_ids()
            .await
            .expect("empty store")
            .is_empty());
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        let broken: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("tokens.json.broken-")
            })
            .collect();
        assert_eq!(
            broken.len(),
            1,
            "the unreadable file is kept for inspection"
        );

        // A new client on the same file finds the connection.
        let again = builder().file_store(&path).build().expect("client");
        let restored = again
            .connection(connection.id())
            .await
            .expect("readable")
            .expect("stored");
        assert_eq!(
            restored.access_token().await.expect("token").expose(),
            connection.access_token().await.expect("token").expose()
        );
        server.shutdown().await;
    });
}

#[test]
fn two_hundred_concurrent_callers_share_one_refresh() {
    run(async {
        let server = start(TestServerConfig::default()).await;
        let time = TestClock::default();
        let client = builder().clock(time.clock()).build().expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        for round in 1..=20 {
            time.advance(7200);
            let before = server.count("POST", "/token");
            let callers = (0..200).map(|_| {
                let connection = connection.clone();
                tokio::spawn(async move { connection.access_token().await })
            });
            let tokens: Vec<String> = futures_join(callers).await;
            assert_eq!(
                server.count("POST", "/token") - before,
                1,
                "round {round}: exactly one refresh request"
            );
            assert!(
                tokens.windows(2).all(|w| w[0] == w[1]),
                "round {round}: one token for all"
            );
        }
        server.shutdown().await;
    });
}

async fn futures_join(
    handles: impl Iterator<Item = tokio::task::JoinHandle<Result<Secret, mcp_oauth::Error>>>,
) -> Vec<String> {
    let mut tokens = Vec::new();
    for handle in handles.collect::<Vec<_>>() {
        let token = handle.await.expect("task").expect("token");
        tokens.push(token.expose().to_owned());
    }
    tokens
}

/// A store whose writes can be switched off, like a keychain that is locked.
#[derive(Default)]
struct FlakyStore {
    inner: MemoryStore,
    refuse_writes: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl mcp_oauth::store::TokenStore for FlakyStore {
    async fn get(&self, key: &str) -> Result<Option<String>, mcp_oauth::StoreError> {
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: String) -> Result<(), mcp_oauth::StoreError> {
        if self.refuse_writes.load(Ordering::SeqCst) {
            return Err(mcp_oauth::StoreError::Backend(
                "the keychain is locked".into(),
            ));
        }
        self.inner.set(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), mcp_oauth::StoreError> {
        self.inner.delete(key).await
    }
    async fn keys(&self) -> Result<Vec<String>, mcp_oauth::StoreError> {
        self.inner.keys().await
    }
}

#[test]
fn a_refresh_the_store_could_not_save_is_saved_on_the_next_call() {
    run(async {
        let server = start(TestServerConfig {
            rotate_refresh_tokens: true,
            ..TestServerConfig::default()
        })
        .await;
        let store = Arc::new(FlakyStore::default());
        let time = TestClock::default();
        let client = builder()
            .store(store.clone())
            .clock(time.clock())
            .build()
            .expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");

        store.refuse_writes.store(true, Ordering::SeqCst);
        time.advance(7200);
        let error = connection.access_token().await.expect_err("save fails");
        assert_eq!(error.code(), "store_error", "{error}");
        // Not saved: the synchronous path leaves the call to the async one, which
        // tries to save again.
        assert!(connection.access_token_now().is_none());
        // The rotated grant lives on in memory: the next call does not refresh again.
        let token = connection.access_token().await.expect("in-memory token");
        assert_eq!(server.count("POST", "/token"), 2);

        store.refuse_writes.store(false, Ordering::SeqCst);
        assert_eq!(
            connection.access_token().await.expect("token").expose(),
            token.expose()
        );
        assert_eq!(
            connection.access_token_now().expect("saved now").expose(),
            token.expose()
        );
        // A fresh client reading the store gets the rotated refresh token, and can refresh.
        let reopened = builder()
            .store(store.clone())
            .clock(time.clock())
            .build()
            .expect("client");
        let restored = reopened
            .connection(connection.id())
            .await
            .expect("store")
            .expect("stored");
        assert_eq!(
            restored.access_token().await.expect("token").expose(),
            token.expose()
        );
        time.advance(7200);
        restored
            .access_token()
            .await
            .expect("refresh with the saved rotated token");
        server.shutdown().await;
    });
}

#[test]
fn clients_sharing_a_token_file_refresh_once_between_them() {
    // Eight clients on one file stand for eight processes (an app, the CLI,
    // scripts): each has its own in-process single-flight, so only the file
    // store's lock and the re-read after taking it keep them from spending the
    // same rotating refresh token eight times.
    run(async {
        let server = start(TestServerConfig {
            rotate_refresh_tokens: true,
            ..TestServerConfig::default()
        })
        .await;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("tokens.json");
        let time = TestClock::default();
        let on_file = || {
            OAuthClient::builder("mcp-oauth e2e")
                .file_store(&path)
                .opener(HeadlessBrowser::new().expect("headless browser"))
                .callback_timeout(Duration::from_secs(20))
                .clock(time.clock())
                .build()
                .expect("client")
        };
        let signed_in = on_file()
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        let mut connections = Vec::new();
        for _ in 0..8 {
            connections.push(
                on_file()
                    .connection(signed_in.id())
                    .await
                    .expect("store")
                    .expect("stored"),
            );
        }
        time.advance(7200);
        server.clear_log();
        let tokens = futures_join(connections.iter().map(|c| {
            let c = c.clone();
            tokio::spawn(async move { c.access_token().await })
        }))
        .await;
        assert_eq!(server.count("POST", "/token"), 1, "{:?}", paths(&server));
        assert!(tokens.iter().all(|t| t == &tokens[0]), "one token for all");
        for connection in &connections {
            assert!(matches!(
                connection.status().await,
                Status::Connected { .. }
            ));
        }
        server.shutdown().await;
    });
}

/// A store whose writes can be made slow, to stop waiting in the middle of one.
#[derive(Default)]
struct SlowStore {
    inner: MemoryStore,
    slow_writes: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl mcp_oauth::store::TokenStore for SlowStore {
    async fn get(&self, key: &str) -> Result<Option<String>, mcp_oauth::StoreError> {
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: String) -> Result<(), mcp_oauth::StoreError> {
        if self.slow_writes.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(600)).await;
        }
        self.inner.set(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), mcp_oauth::StoreError> {
        self.inner.delete(key).await
    }
}

#[test]
fn a_refresh_whose_caller_stopped_waiting_still_completes_and_is_saved() {
    run(async {
        let server = start(TestServerConfig {
            rotate_refresh_tokens: true,
            ..TestServerConfig::default()
        })
        .await;
        let store = Arc::new(SlowStore::default());
        let time = TestClock::default();
        let client = builder()
            .store(store.clone())
            .clock(time.clock())
            .build()
            .expect("client");
        let connection = client
            .connect(Preset::dynamic(server.mcp_url().as_str()))
            .await
            .expect("connect");
        time.advance(7200);
        store.slow_writes.store(true, Ordering::SeqCst);
        // The caller gives up while the rotated refresh token is being saved.
        let gave_up =
            tokio::time::timeout(Duration::from_millis(250), connection.access_token()).await;
        assert!(gave_up.is_err(), "the caller stopped waiting");
        tokio::time::sleep(Duration::from_millis(800)).await;
        store.slow_writes.store(false, Ordering::SeqCst);
        assert_eq!(server.count("POST", "/token"), 2);

        // Another client reading the store holds the rotated refresh token.
        let restored = builder()
            .store(store.clone())
            .clock(time.clock())
            .build()
            .expect("client")
            .connection(connection.id())
            .await
            .expect("store")
            .expect("stored");
        time.advance(7200);
        restored
            .access_token()
            .await
            .expect("the saved refresh token is the live one");
        server.shutdown().await;
    });
}

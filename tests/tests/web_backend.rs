//! Web backends over real loopback HTTP: `begin` on one instance, the user's
//! browser at the test authorization server, `complete` on another instance,
//! in both pending modes; and every way a callback can be wrong (forged,
//! replayed, expired, another user's), each with its own code and nothing
//! stored. Instances are separate `OAuthClient`s; "the browser" follows the
//! authorization URL without following the redirect back to the backend.

mod common;

use common::runtime::{run, TestClock};

use mcp_oauth::core::seal::{SealKey, SealKeys};
use mcp_oauth::core::session::Status;
use mcp_oauth::store::{FileStore, MemoryStore, TokenStore};
use mcp_oauth::{
    Connection, OAuthClient, OAuthClientBuilder, PendingMode, Preset, Progress, StartedSignIn,
};
use mcp_oauth_tests::{TestServer, TestServerConfig};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The backend's own callback URL (loopback, so the test server's redirect
/// policy accepts it without an https allowlist).
const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";
const USER: &str = "user-42";
const CONNECTION: &str = "user-42/test-server";

fn keys() -> SealKeys {
    SealKeys::new([SealKey::new("2025-01", &[42; 32]).expect("key")]).expect("keys")
}

fn backend(store: Arc<dyn TokenStore>, mode: PendingMode) -> OAuthClientBuilder {
    OAuthClient::builder("web backend")
        .store(store)
        .seal_keys(keys())
        .pending_sign_ins(mode)
}

fn preset(server: &TestServer) -> Preset {
    Preset::dynamic(server.mcp_url().as_str()).with_connection_id(CONNECTION)
}

/// The user's browser: the authorization server consents and redirects to the
/// backend; returns the URL it redirected to.
async fn browser(started: &StartedSignIn) -> String {
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http");
    let answer = no_redirects
        .get(started.authorization_url.clone())
        .send()
        .await
        .expect("authorize");
    assert_eq!(answer.status(), 302);
    let callback = answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(callback.starts_with(REDIRECT), "{callback}");
    callback
}

async fn tool_names(connection: &Connection, server: &TestServer) -> Vec<String> {
    let request = reqwest::Client::new()
        .post(server.mcp_url())
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {} }))
        .build()
        .expect("request");
    let response = connection.send(request).await.expect("authorized request");
    let body: Value = response.json().await.expect("JSON-RPC reply");
    body["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

/// Every key in a store, with its value.
async fn contents(store: &dyn TokenStore) -> Vec<(String, String)> {
    let mut all = Vec::new();
    for key in store.keys().await.expect("keys") {
        let value = store.get(&key).await.expect("get").unwrap_or_default();
        all.push((key, value));
    }
    all
}

#[test]
fn stored_mode_begins_on_one_instance_and_completes_on_another_then_refuses_a_replay() {
    run(async {
        let server = TestServer::start(TestServerConfig::default())
            .await
            .expect("server");
        let store = Arc::new(MemoryStore::new());
        let a = backend(store.clone(), PendingMode::Stored)
            .build()
            .expect("a");
        let b = backend(store.clone(), PendingMode::Stored)
            .build()
            .expect("b");

        let before = server.log().len();
        let started = a
            .begin(preset(&server), REDIRECT, USER)
            .await
            .expect("begin");
        let begin_requests = server.log().len() - before;
        assert_eq!(started.state.len(), 22, "a random state");
        assert!(store
            .keys()
            .await
            .unwrap()
            .contains(&format!("pending/{}", started.state)));
        let callback = browser(&started).await;

        let before = server.log().len();
        let connection = b.complete(&callback, USER).await.expect("complete");
        let complete_requests = server.log().len() - before;
        println!(
            "stored mode: {begin_requests} requests in begin (probe, metadata, registration), {complete_requests} in complete"
        );
        assert_eq!(complete_requests, 1, "only the code exchange");
        assert_eq!(connection.id(), CONNECTION);
        assert!(tool_names(&connection, &server)
            .await
            .contains(&"echo".to_owned()));
        assert!(
            !store
                .keys()
                .await
                .unwrap()
                .iter()
                .any(|k| k.starts_with("pending/")),
            "the pending sign-in was burned"
        );

        let stored = contents(store.as_ref()).await;
        let tokens_before = server.count("POST", "/token");
        let error = a.complete(&callback, USER).await.expect_err("a replay");
        assert_eq!(error.code(), "state_mismatch", "{error}");
        assert_eq!(
            server.count("POST", "/token"),
            tokens_before,
            "the code never left"
        );
        assert_eq!(contents(store.as_ref()).await, stored, "nothing stored");
        server.shutdown().await;
    });
}

#[test]
fn sealed_mode_needs_no_record_and_a_replay_is_refused_by_the_authorization_server() {
    run(async {
        let server = TestServer::start(TestServerConfig::default())
            .await
            .expect("server");
        // Separate stores: nothing passes between the instances but the state.
        let store_a = Arc::new(MemoryStore::new());
        let store_b = Arc::new(MemoryStore::new());
        let a = backend(store_a.clone(), PendingMode::Sealed)
            .build()
            .expect("a");
        let b = backend(store_b.clone(), PendingMode::Sealed)
            .build()
            .expect("b");

        let started = a
            .begin(preset(&server), REDIRECT, USER)
            .await
            .expect("begin");
        println!("sealed state: {} characters", started.state.len());
        assert!(started.state.starts_with("s1.2025-01."));
        assert!(started.state.len() <= mcp_oauth::core::pending::MAX_SEALED_STATE_LEN);
        assert!(
            contents(store_a.as_ref()).await.is_empty(),
            "begin keeps nothing server-side"
        );
        let callback = browser(&started).await;
        let connection = b.complete(&callback, USER).await.expect("complete");
        assert!(tool_names(&connection, &server)
            .await
            .contains(&"echo".to_owned()));

        let stored = contents(store_b.as_ref()).await;
        let error = b.complete(&callback, USER).await.expect_err("a replay");
        assert_eq!(error.code(), "invalid_grant", "{error}");
        assert_eq!(error.connection_id(), Some(CONNECTION));
        assert_eq!(contents(store_b.as_ref()).await, stored, "nothing stored");
        server.shutdown().await;
    });
}

#[test]
fn begin_and_complete_report_the_steps_of_a_desktop_sign_in() {
    run(async {
        let server = TestServer::start(TestServerConfig::default())
            .await
            .expect("server");
        let events = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&events);
        let client = backend(Arc::new(MemoryStore::new()), PendingMode::Sealed)
            .observer(move |event: &Progress| seen.lock().expect("events").push(event.clone()))
            .build()
            .expect("client");
        let started = client
            .begin(preset(&server), REDIRECT, USER)
            .await
            .expect("begin");
        let callback = browser(&started).await;
        client.complete(&callback, USER).await.expect("complete");

        let steps: Vec<String> = events
            .lock()
            .expect("events")
            .iter()
            .map(|event| match event {
                Progress::Request {
                    purpose, status, ..
                } => format!("{purpose:?} {status}"),
                Progress::CallbackAccepted => "callback accepted".into(),
                Progress::SignedIn { client_id, .. } => {
                    assert!(!client_id.is_empty());
                    "signed in".into()
                }
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            steps,
            [
                "Probe 401",
                "ResourceMetadata 200",
                "AuthorizationServerMetadata 200",
                "Registration 201",
                "callback accepted",
                "Token 200",
                "signed in",
            ],
        );
        server.shutdown().await;
    });
}

#[test]
fn forged_states_are_refused_in_both_modes_and_nothing_is_stored() {
    run(async {
        let server = TestServer::start(TestServerConfig::default())
            .await
            .expect("server");
        for mode in [PendingMode::Stored, PendingMode::Sealed] {
            let store = Arc::new(MemoryStore::new());
            let client = backend(store.clone(), mode).build().expect("client");
            let started = client
                .begin(preset(&server), REDIRECT, USER)
                .await
                .expect("begin");
            let callback = browser(&started).await;
            let stored = contents(store.as_ref()).await;
            let mut altered = started.state.clone();
            altered.replace_range(altered.len() - 4.., "AAAA");
            let forged_state = callback.replace(&started.state, &altered);
            let sealed_elsewhere = {
                let other = SealKeys::new([SealKey::new("2025-01", &[1; 32]).unwrap()]).unwrap();
                let attacker = OAuthClient::builder("attacker")
                    .seal_keys(other)
                    .pending_sign_ins(PendingMode::Sealed)
                    .build()
                    .unwrap();
                let theirs = attacker
                    .begin(preset(&server), REDIRECT, USER)
                    .await
                    .unwrap();
                callback.replace(&started.state, &theirs.state)
            };
            let no_state = callback.replace(&format!("state={}", started.state), "x=1");
            for (forged, code) in [
                (forged_state.as_str(), "state_mismatch"),
                (sealed_elsewhere.as_str(), "state_mismatch"),
                (no_state.as_str(), "state_mismatch"),
                ("not a url", "invalid_callback"),
            ] {
                let error = client.complete(forged, USER).await.expect_err("forged");
                assert_eq!(error.code(), code, "{mode:?} {forged}: {error}");
                assert_eq!(error.connection_id(), None);
            }
            assert_eq!(
                contents(store.as_ref()).await,
                stored,
                "{mode:?}: nothing stored"
            );
            // The genuine callback still works.
            client
                .complete(&callback, USER)
                .await
                .expect("the real one");
        }
        server.shutdown().await;
    });
}

#[test]
fn an_expired_sign_in_is_refused_with_its_own_code() {
    run(async {
        let server = TestServer::start(TestServerConfig::default())
            .await
            .expect("server");
        for mode in [PendingMode::Stored, PendingMode::Sealed] {
            let time = TestClock::default();
            let store = Arc::new(MemoryStore::new());
            let client = backend(store.clone(), mode)
                .clock(time.clock())
                .sign_in_ttl(Duration::from_secs(120))
                .build()
                .expect("client");
            let started = client
                .begin(preset(&server), REDIRECT, USER)
                .await
                .expect("begin");
            let callback = browser(&started).await;
            time.advance(121);
            let error = client.complete(&callback, USER).await.expect_err("expired");
            assert_eq!(error.code(), "sign_in_expired", "{mode:?}: {error}");
            assert_eq!(error.connection_id(), Some(CONNECTION));
            assert!(
                client.connection(CONNECTION).await.unwrap().is_none(),
                "{mode:?}: nothing stored"
            );
            assert!(
                !store
                    .keys()
                    .await
                    .unwrap()
                    .iter()
                    .any(|k| k.starts_with("pending/")),
                "{mode:?}: an expired record is burned too"
            );
        }
        server.shutdown().await;
    });
}

#[test]
fn a_callback_completed_under_another_subject_is_refused() {
    run(async {
        let server = TestServer::start(TestServerConfig::default())
            .await
            .expect("server");
        for mode in [PendingMode::Stored, PendingMode::Sealed] {
            let store = Arc::new(MemoryStore::new());
            let client = backend(store.clone(), mode).build().expect("client");
            // Mallory starts a sign-in to her own account and gets user-42's
            // browser to finish it (login CSRF).
            let started = client
                .begin(preset(&server), REDIRECT, "mallory")
                .await
                .expect("begin");
            let callback = browser(&started).await;
            let error = client.complete(&callback, USER).await.expect_err("csrf");
            assert_eq!(error.code(), "subject_mismatch", "{mode:?}: {error}");
            assert!(client.connection(CONNECTION).await.unwrap().is_none());
            assert!(!store
                .keys()
                .await
                .unwrap()
                .iter()
                .any(|k| k.starts_with("session/")));
        }
        server.shutdown().await;
    });
}

#[test]
fn begin_needs_a_connection_id_and_a_subject() {
    run(async {
        let server = TestServer::start(TestServerConfig::default())
            .await
            .expect("server");
        let client = backend(Arc::new(MemoryStore::new()), PendingMode::Stored)
            .build()
            .expect("client");
        let unnamed = client
            .begin(Preset::dynamic(server.mcp_url().as_str()), REDIRECT, USER)
            .await
            .expect_err("no connection id");
        assert_eq!(unnamed.code(), "invalid_config");
        let anonymous = client
            .begin(preset(&server), REDIRECT, "")
            .await
            .expect_err("no subject");
        assert_eq!(anonymous.code(), "invalid_config");
        assert!(server.log().is_empty(), "refused before any request");
        let error = OAuthClient::builder("x")
            .pending_sign_ins(PendingMode::Sealed)
            .build()
            .expect_err("sealed without keys");
        assert_eq!(error.code(), "invalid_config");
        server.shutdown().await;
    });
}

#[test]
fn a_dead_refresh_token_is_reauth_required_naming_the_connection() {
    run(async {
        let server = TestServer::start(TestServerConfig {
            refresh_always_fails: true,
            ..TestServerConfig::default()
        })
        .await
        .expect("server");
        let time = TestClock::default();
        let client = backend(Arc::new(MemoryStore::new()), PendingMode::Stored)
            .clock(time.clock())
            .build()
            .expect("client");
        let started = client
            .begin(preset(&server), REDIRECT, USER)
            .await
            .expect("begin");
        let connection = client
            .complete(&browser(&started).await, USER)
            .await
            .expect("complete");
        time.advance(3600);
        for attempt in 0..2 {
            let error = connection.access_token().await.expect_err("dead");
            assert_eq!(
                error.code(),
                "reauth_required",
                "attempt {attempt}: {error}"
            );
            assert_eq!(error.connection_id(), Some(CONNECTION));
            assert!(error.to_string().contains(CONNECTION), "{error}");
        }
        assert_eq!(connection.status().await, Status::ReauthRequired);
        assert_eq!(
            server.count("POST", "/token"),
            2,
            "one code exchange, one refused refresh"
        );
        let request = reqwest::Client::new()
            .post(server.mcp_url())
            .body("{}")
            .build()
            .unwrap();
        let error = connection.send(request).await.expect_err("dead");
        assert_eq!(error.code(), "reauth_required");
        server.shutdown().await;
    });
}

#[test]
fn a_sealed_file_store_holds_no_readable_token() {
    run(async {
        let server = TestServer::start(TestServerConfig::default())
            .await
            .expect("server");
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("tokens.json");
        let client = backend(Arc::new(FileStore::new(&path)), PendingMode::Stored)
            .build()
            .expect("client");
        let started = client
            .begin(preset(&server), REDIRECT, USER)
            .await
            .expect("begin");
        let pending_file = std::fs::read_to_string(&path).expect("file");
        assert!(!pending_file.contains("code_verifier"), "{pending_file}");
        let connection = client
            .complete(&browser(&started).await, USER)
            .await
            .expect("complete");
        let token = connection.access_token().await.expect("token");
        let file = std::fs::read_to_string(&path).expect("file");
        assert!(!file.contains(token.expose()));
        assert!(!file.contains("refresh_token") && !file.contains(server.issuer().as_str()));
        assert!(file.contains("s1.2025-01."), "{file}");
        server.shutdown().await;
    });
}

/// The public key in a DPoP proof's header.
fn proof_jwk(jwt: &str) -> Value {
    use base64::Engine as _;
    let header = jwt.split('.').next().expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .expect("base64url");
    serde_json::from_slice::<Value>(&bytes).expect("JSON header")["jwk"].clone()
}

#[test]
fn a_dpop_sign_in_keeps_its_key_from_begin_to_complete_and_sealed_at_rest_in_both_modes() {
    run(async {
        let server = TestServer::start(TestServerConfig {
            dpop: true,
            dpop_nonce: true,
            ..Default::default()
        })
        .await
        .expect("server");
        for mode in [PendingMode::Stored, PendingMode::Sealed] {
            // Two instances sharing a (sealed) store: `begin` draws the key and
            // registers the client as DPoP-bound; `complete` on the other
            // instance must prove the code exchange with that same key, or the
            // server refuses it.
            let store = Arc::new(MemoryStore::new());
            let a = backend(store.clone(), mode).build().expect("a");
            let b = backend(store.clone(), mode).build().expect("b");
            let started = a
                .begin(preset(&server), REDIRECT, USER)
                .await
                .expect("begin");
            println!(
                "{mode:?} state with a DPoP key: {} characters",
                started.state.len()
            );
            assert!(started.state.len() <= mcp_oauth::core::pending::MAX_SEALED_STATE_LEN);
            let callback = browser(&started).await;
            server.clear_log();
            let connection = b.complete(&callback, USER).await.expect("complete");
            let session = connection.session().await;
            assert_eq!(session.tokens.token_type, "DPoP");
            let key = session.dpop.clone().expect("a bound session").key;
            let exchange = server.log();
            let exchange: Vec<_> = exchange.iter().filter(|r| r.path == "/token").collect();
            assert_eq!(exchange.last().expect("an exchange").status, 200);
            for request in &exchange {
                let proof = request.dpop.as_deref().expect("a proven exchange");
                assert_eq!(proof_jwk(proof), json!(key.public_jwk), "{mode:?}");
            }
            assert!(tool_names(&connection, &server)
                .await
                .contains(&"echo".to_owned()));

            // At rest the key is sealed with the tokens; the other instance
            // restores the connection with its binding and keeps using it.
            let private = key.private_key.clone().expect("core holds the key");
            for (name, value) in contents(store.as_ref()).await {
                assert!(value.starts_with("s1.2025-01."), "{name} is sealed");
                assert!(!value.contains(private.expose()), "{name}");
            }
            let restored = a
                .connection(CONNECTION)
                .await
                .expect("store")
                .expect("a stored connection");
            assert_eq!(restored.session().await.dpop.expect("bound").key, key);
            assert!(tool_names(&restored, &server)
                .await
                .contains(&"echo".to_owned()));
        }
        server.shutdown().await;
    });
}

//! The request log: every request is recorded with its body and status, so tests
//! can count a client's round trips.

mod common;

use common::{get, mcp, public_client_tokens, start};
use mcp_oauth_tests::TestServerConfig;
use serde_json::json;

#[tokio::test]
async fn every_request_is_logged_with_form_and_status() {
    let server = start(TestServerConfig::default()).await;
    let _ = get(server.protected_resource_metadata_url().as_str()).await;
    let _ = get(server.authorization_server_metadata_url().as_str()).await;
    let _ = mcp(
        &server,
        None,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }),
    )
    .await;
    let (client_id, _) = public_client_tokens(&server, &[]).await;
    let _ = get(&format!("{}/nowhere?x=1", server.origin())).await;

    assert_eq!(
        server.count("GET", "/.well-known/oauth-protected-resource/mcp"),
        1
    );
    assert_eq!(
        server.count("GET", "/.well-known/oauth-authorization-server"),
        1
    );
    assert_eq!(server.count("POST", "/mcp"), 1);
    assert_eq!(server.count("post", "/register"), 1);
    assert_eq!(server.count("GET", "/authorize"), 1);
    assert_eq!(server.count("POST", "/token"), 1);
    assert_eq!(server.count("GET", "/nowhere"), 1);

    let log = server.log();
    assert_eq!(log.len(), 7);
    let statuses: Vec<u16> = log.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 401, 201, 302, 200, 404]);
    let token = log
        .iter()
        .find(|r| r.path == "/token")
        .expect("token request");
    assert_eq!(token.form_value("grant_type"), Some("authorization_code"));
    assert_eq!(token.form_value("client_id"), Some(client_id.as_str()));
    let authorize = log
        .iter()
        .find(|r| r.path == "/authorize")
        .expect("authorize");
    assert_eq!(authorize.query_value("state").as_deref(), Some("xyz"));
    let register = log
        .iter()
        .find(|r| r.path == "/register")
        .expect("register");
    assert_eq!(
        register
            .json
            .as_ref()
            .and_then(|j| j.get("token_endpoint_auth_method")),
        Some(&json!("none"))
    );
    assert_eq!(log.last().and_then(|r| r.query.as_deref()), Some("x=1"));

    server.clear_log();
    assert!(server.log().is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn bearer_tokens_appear_in_the_log() {
    let server = start(TestServerConfig::default()).await;
    let _ = mcp(
        &server,
        Some("at_x"),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }),
    )
    .await;
    let log = server.log();
    assert_eq!(log[0].authorization.as_deref(), Some("Bearer at_x"));
    server.shutdown().await;
}

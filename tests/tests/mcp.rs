//! The MCP endpoint: the 401 challenge, bearer checks (expiry, audience), the
//! JSON-RPC methods, and the 403 `insufficient_scope` step-up challenge.

mod common;

use common::{http, mcp, public_client_tokens, send, start, token};
use mcp_oauth_tests::{TestServer, TestServerConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};

fn request(method: &str, params: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params })
}

/// A fresh access token for the default scopes plus `extra` authorization params.
async fn access_token(server: &TestServer, extra: &[(&str, &str)]) -> String {
    let (_, reply) = public_client_tokens(server, extra).await;
    reply.str("access_token").expect("access token").to_owned()
}

#[tokio::test]
async fn no_token_gets_401_with_resource_metadata_and_default_scope() {
    let server = start(TestServerConfig::default()).await;
    let reply = mcp(&server, None, request("initialize", json!({}))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(format!(
            "Bearer scope=\"mcp:read mcp:write\", resource_metadata=\"{}\"",
            server.header_protected_resource_metadata_url()
        ))
    );
    server.shutdown().await;
}

#[tokio::test]
async fn challenge_parameters_follow_the_knobs() {
    let server = start(TestServerConfig {
        prm_in_header: false,
        default_scopes: vec![],
        ..Default::default()
    })
    .await;
    let reply = mcp(&server, None, request("tools/list", json!({}))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.header("www-authenticate").as_deref(), Some("Bearer"));
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_and_expired_tokens_get_invalid_token() {
    let server = start(TestServerConfig::default()).await;
    let token = access_token(&server, &[]).await;
    let ok = mcp(&server, Some(&token), request("tools/list", json!({}))).await;
    assert_eq!(ok.status, StatusCode::OK);

    let unknown = mcp(&server, Some("at_nope"), request("tools/list", json!({}))).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    let challenge = unknown.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{challenge}"
    );
    assert!(challenge.contains("resource_metadata="), "{challenge}");

    server.expire_access_tokens();
    let expired = mcp(&server, Some(&token), request("tools/list", json!({}))).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    server.shutdown().await;
}

#[tokio::test]
async fn access_tokens_expire_after_their_lifetime() {
    let server = start(TestServerConfig {
        access_token_lifetime_secs: 1,
        ..Default::default()
    })
    .await;
    let token = access_token(&server, &[]).await;
    assert_eq!(
        mcp(&server, Some(&token), request("ping", json!({})))
            .await
            .status,
        StatusCode::OK
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        mcp(&server, Some(&token), request("ping", json!({})))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    server.shutdown().await;
}

#[tokio::test]
async fn refresh_after_expiry_restores_access() {
    let server = start(TestServerConfig::default()).await;
    let (client_id, reply) = public_client_tokens(&server, &[]).await;
    let refresh_token = reply
        .str("refresh_token")
        .expect("refresh token")
        .to_owned();
    server.expire_access_tokens();
    let resource = server.mcp_url().to_string();
    let refreshed = token(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh_token),
            ("client_id", &client_id),
            ("resource", &resource),
        ],
    )
    .await;
    let access = refreshed.str("access_token").expect("new access token");
    let ok = mcp(&server, Some(access), request("tools/list", json!({}))).await;
    assert_eq!(ok.status, StatusCode::OK);
    server.shutdown().await;
}

#[tokio::test]
async fn tokens_for_another_resource_are_not_accepted() {
    // Two servers: a token from one must not open the other.
    let a = start(TestServerConfig::default()).await;
    let b = start(TestServerConfig::default()).await;
    let token = access_token(&a, &[]).await;
    let reply = mcp(&b, Some(&token), request("tools/list", json!({}))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn jsonrpc_methods_answer_as_mcp_expects() {
    let server = start(TestServerConfig::default()).await;
    let token = access_token(&server, &[]).await;
    let t = Some(token.as_str());

    let init = mcp(
        &server,
        t,
        request("initialize", json!({ "protocolVersion": "2025-06-18" })),
    )
    .await;
    assert_eq!(init.status, StatusCode::OK);
    assert!(init
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json")));
    assert_eq!(init.json["jsonrpc"], json!("2.0"));
    assert_eq!(init.json["id"], json!(1));
    assert_eq!(init.json["result"]["protocolVersion"], json!("2025-06-18"));
    assert_eq!(init.json["result"]["capabilities"], json!({ "tools": {} }));
    assert!(init.json["result"]["serverInfo"]["name"].is_string());

    let default = mcp(&server, t, request("initialize", json!({}))).await;
    assert_eq!(
        default.json["result"]["protocolVersion"],
        json!("2025-11-25")
    );

    let note = mcp(
        &server,
        t,
        json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }),
    )
    .await;
    assert_eq!(note.status, StatusCode::ACCEPTED);

    let list = mcp(&server, t, request("tools/list", json!({}))).await;
    let names: Vec<&str> = list.json["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|tool| tool["name"].as_str())
        .collect();
    assert_eq!(names, ["echo", "admin_reset"]);

    let echo = mcp(
        &server,
        t,
        request(
            "tools/call",
            json!({ "name": "echo", "arguments": { "text": "hi" } }),
        ),
    )
    .await;
    assert_eq!(echo.json["result"]["content"][0]["text"], json!("hi"));

    let discover = mcp(&server, t, request("server/discover", json!({}))).await;
    assert!(discover.json["result"]["serverInfo"].is_object());
    assert_eq!(
        discover.json["result"]["capabilities"],
        json!({ "tools": {} })
    );

    let unknown = mcp(&server, t, request("resources/list", json!({}))).await;
    assert_eq!(unknown.json["error"]["code"], json!(-32601));

    let bad_tool = mcp(&server, t, request("tools/call", json!({ "name": "nope" }))).await;
    assert_eq!(bad_tool.json["error"]["code"], json!(-32602));

    let garbage = send(
        http()
            .post(server.mcp_url())
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{oops"),
    )
    .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert_eq!(garbage.json["error"]["code"], json!(-32700));

    let get = send(http().get(server.mcp_url()).bearer_auth(&token)).await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    server.shutdown().await;
}

#[tokio::test]
async fn admin_tool_without_admin_scope_gets_insufficient_scope_then_works_after_step_up() {
    let server = start(TestServerConfig::default()).await;
    let token = access_token(&server, &[]).await;
    let call = request(
        "tools/call",
        json!({ "name": "admin_reset", "arguments": {} }),
    );
    let reply = mcp(&server, Some(&token), call.clone()).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.header("www-authenticate"),
        Some(format!(
            "Bearer error=\"insufficient_scope\", scope=\"mcp:read mcp:write mcp:admin\", resource_metadata=\"{}\"",
            server.header_protected_resource_metadata_url()
        ))
    );

    let admin = access_token(&server, &[("scope", "mcp:read mcp:write mcp:admin")]).await;
    let reply = mcp(&server, Some(&admin), call).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(
        reply.json["result"]["content"][0]["text"],
        json!("reset done")
    );
    server.shutdown().await;
}

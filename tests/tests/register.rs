//! Dynamic client registration (RFC 7591): open, closed and absent, redirect URI
//! validation, auth-method rules and malformed bodies.

mod common;

use common::{json_post, register, send, start, REDIRECT};
use mcp_oauth_core::client_auth::AuthMethod;
use mcp_oauth_tests::server::Registration;
use mcp_oauth_tests::TestServerConfig;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn open_registration_issues_ids_and_secrets_only_to_confidential_clients() {
    let server = start(TestServerConfig::default()).await;
    let body = json!({
        "client_name": "test",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none",
        "application_type": "native",
        "scope": "mcp:read",
    });
    let reply = send(json_post(server.registration_endpoint().as_str(), &body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert!(reply.str("client_id").is_some_and(|id| !id.is_empty()));
    assert!(reply.json.get("client_secret").is_none());
    // The metadata is echoed.
    assert_eq!(reply.json["redirect_uris"], json!([REDIRECT]));
    assert_eq!(reply.json["client_name"], json!("test"));
    assert_eq!(reply.json["token_endpoint_auth_method"], json!("none"));
    assert_eq!(reply.json["application_type"], json!("native"));

    for method in ["client_secret_basic", "client_secret_post"] {
        let (_, secret) = register(&server, method).await;
        assert!(secret.is_some_and(|s| !s.is_empty()), "{method}");
    }
    // RFC 7591 §2: an absent method means client_secret_basic.
    let reply = send(json_post(
        server.registration_endpoint().as_str(),
        &json!({ "redirect_uris": [REDIRECT] }),
    ))
    .await;
    assert_eq!(
        reply.json["token_endpoint_auth_method"],
        json!("client_secret_basic")
    );
    assert!(reply.str("client_secret").is_some());
    server.shutdown().await;
}

#[tokio::test]
async fn core_reads_the_registration_response() {
    let server = start(TestServerConfig::default()).await;
    let metadata: mcp_oauth_core::discovery::AuthorizationServerMetadata = serde_json::from_value(
        common::get(server.authorization_server_metadata_url().as_str())
            .await
            .json,
    )
    .expect("metadata");
    let reply = send(json_post(
        server.registration_endpoint().as_str(),
        &json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_post" }),
    ))
    .await;
    let response = mcp_oauth_core::http::HttpResponse::new(
        reply.status.as_u16(),
        vec![("content-type".into(), "application/json".into())],
        reply.text,
    );
    let credentials =
        mcp_oauth_core::registration::parse_registration_response(&metadata, &response)
            .expect("core accepts the registration");
    assert_eq!(credentials.auth_method, AuthMethod::ClientSecretPost);
    assert_eq!(credentials.issuer, server.issuer());
    server.shutdown().await;
}

#[tokio::test]
async fn closed_registration_is_403_and_absent_registration_is_404() {
    for (registration, status) in [
        (Registration::Closed, StatusCode::FORBIDDEN),
        (Registration::Absent, StatusCode::NOT_FOUND),
    ] {
        let server = start(TestServerConfig {
            registration,
            ..Default::default()
        })
        .await;
        let reply = send(json_post(
            server.registration_endpoint().as_str(),
            &json!({ "redirect_uris": [REDIRECT] }),
        ))
        .await;
        assert_eq!(reply.status, status, "{registration:?}");
        if registration == Registration::Closed {
            assert!(reply.str("error").is_some());
        }
        server.shutdown().await;
    }
}

#[tokio::test]
async fn bad_registrations_are_400_with_an_rfc7591_error() {
    let server = start(TestServerConfig {
        token_endpoint_auth_methods: vec![AuthMethod::None],
        ..Default::default()
    })
    .await;
    let url = server.registration_endpoint();
    // (body, expected error)
    let cases = [
        (
            json!({ "redirect_uris": ["http://evil.example/cb"], "token_endpoint_auth_method": "none" }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": ["http://127.0.0.1:1/cb#frag"], "token_endpoint_auth_method": "none" }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": ["http://user@127.0.0.1:1/cb"], "token_endpoint_auth_method": "none" }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": [], "token_endpoint_auth_method": "none" }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "token_endpoint_auth_method": "none" }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_basic" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", "scope": "root" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": "not-an-array" }),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ];
    for (body, error) in cases {
        let reply = send(json_post(url.as_str(), &body)).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.str("error"), Some(error), "{body}");
    }
    let malformed = send(
        common::http()
            .post(url)
            .header("content-type", "application/json")
            .body("{not json"),
    )
    .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.str("error"), Some("invalid_client_metadata"));
    server.shutdown().await;
}

//! URL client ids: the test server fetches the Client ID Metadata Document, and
//! the client it describes signs in; a document that does not describe it (or
//! cannot be fetched) stops the authorization request before any redirect.

mod common;

use axum::routing::get as route;
use axum::Router;
use common::{param, send, start, token, Reply, VERIFIER};
use mcp_oauth_core::pkce::s256_challenge;
use mcp_oauth_tests::{TestServer, TestServerConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// Serves `document` (as JSON) at `/client.json` on 127.0.0.1; returns the URL.
async fn serve_document(document: impl Fn(&str) -> Value + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!(
        "http://127.0.0.1:{}/client.json",
        listener.local_addr().expect("addr").port()
    );
    let body = document(&url);
    let app = Router::new().route(
        "/client.json",
        route(move || async move { axum::Json(body) }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

async fn authorize(server: &TestServer, client_id: &str, redirect: &str) -> Reply {
    let mut url = server.authorization_endpoint();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect)
        .append_pair("state", "s")
        .append_pair("code_challenge", &s256_challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256");
    send(common::http().get(url)).await
}

#[tokio::test]
async fn a_client_described_by_its_metadata_document_signs_in() {
    let server = start(TestServerConfig::default()).await;
    let client_id = serve_document(|url| {
        json!({
            "client_id": url,
            "client_name": "CIMD client",
            "redirect_uris": ["http://127.0.0.1/callback"],
            "token_endpoint_auth_method": "none",
        })
    })
    .await;
    let redirect = "http://127.0.0.1:45678/callback";
    let reply = authorize(&server, &client_id, redirect).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text);
    let code = param(&reply.location(), "code").expect("a code");
    let tokens = token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("code_verifier", VERIFIER),
            ("client_id", &client_id),
        ],
    )
    .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text);
    assert!(tokens.str("access_token").is_some());
    // A redirect URI the document does not list is refused without a redirect.
    let elsewhere = authorize(&server, &client_id, "http://127.0.0.1:45678/other").await;
    assert_eq!(elsewhere.status, StatusCode::BAD_REQUEST);
    assert!(elsewhere.header("location").is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn documents_that_do_not_describe_their_client_are_refused_without_a_redirect() {
    let server = start(TestServerConfig::default()).await;
    let wrong_id = serve_document(|_| {
        json!({ "client_id": "https://elsewhere.example/c.json", "redirect_uris": ["http://127.0.0.1/callback"] })
    })
    .await;
    let secret = serve_document(|url| {
        json!({ "client_id": url, "client_secret": "s", "redirect_uris": ["http://127.0.0.1/callback"] })
    })
    .await;
    // Nothing listens there.
    let unreachable = "http://127.0.0.1:9/client.json".to_owned();
    for client_id in [wrong_id, secret, unreachable] {
        let reply = authorize(&server, &client_id, "http://127.0.0.1:5/callback").await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{client_id}: {}",
            reply.text
        );
        assert!(reply.header("location").is_none(), "{client_id}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn url_client_ids_are_unknown_when_the_knob_is_off() {
    let server = start(TestServerConfig {
        client_id_metadata_documents: false,
        ..Default::default()
    })
    .await;
    let client_id = serve_document(
        |url| json!({ "client_id": url, "redirect_uris": ["http://127.0.0.1/callback"] }),
    )
    .await;
    let reply = authorize(&server, &client_id, "http://127.0.0.1:5/callback").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    let metadata = common::get(server.authorization_server_metadata_url().as_str()).await;
    assert_eq!(
        metadata.json["client_id_metadata_document_supported"],
        json!(false)
    );
    server.shutdown().await;
}

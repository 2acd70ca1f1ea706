//! The native executor's I/O policy over real loopback HTTP: redirects are
//! followed for metadata only, bodies are capped, plain http is refused off
//! loopback, and a server that never answers hits the timeout.

use axum::response::Redirect;
use axum::routing::{get, post};
use axum::Router;
use mcp_oauth::core::http::{HttpRequest, Purpose};
use mcp_oauth::executor::{ExecutorConfig, HttpExecutor};
use mcp_oauth::TransportError;
use std::time::Duration;
use url::Url;

async fn serve() -> Url {
    let app = Router::new()
        .route("/moved", get(|| async { Redirect::temporary("/metadata") }))
        .route(
            "/moved",
            post(|| async { Redirect::temporary("/elsewhere") }),
        )
        .route("/metadata", get(|| async { "{\"ok\":true}" }))
        .route("/huge", get(|| async { "x".repeat(64 * 1024) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    Url::parse(&format!("http://{addr}/")).expect("url")
}

fn executor() -> HttpExecutor {
    HttpExecutor::new(ExecutorConfig {
        request_timeout: Duration::from_secs(1),
        max_body_bytes: 16 * 1024,
        ..ExecutorConfig::default()
    })
    .expect("executor")
}

#[tokio::test]
async fn metadata_fetches_follow_redirects() {
    let base = serve().await;
    let response = executor()
        .execute(HttpRequest::get(
            base.join("moved").unwrap(),
            Purpose::AuthorizationServerMetadata,
        ))
        .await
        .expect("followed");
    assert_eq!(response.status, 200);
    assert_eq!(response.body, b"{\"ok\":true}");
}

#[tokio::test]
async fn token_and_registration_calls_never_follow_redirects() {
    let base = serve().await;
    for purpose in [Purpose::Token, Purpose::Registration] {
        let request = HttpRequest::post_form(
            base.join("moved").unwrap(),
            purpose,
            [("client_secret", "s3cr3t")],
        );
        let response = executor().execute(request).await.expect("answer");
        assert_eq!(
            response.status, 307,
            "{purpose:?}: the redirect is returned, not followed"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_are_cut_off_with_a_clear_error() {
    let base = serve().await;
    let error = executor()
        .execute(HttpRequest::get(
            base.join("huge").unwrap(),
            Purpose::ResourceMetadata,
        ))
        .await
        .expect_err("too large");
    assert!(
        matches!(error, TransportError::BodyTooLarge { limit: 16384, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn plain_http_off_loopback_is_refused_before_sending() {
    let error = executor()
        .execute(HttpRequest::get(
            Url::parse("http://auth.example.com/token").unwrap(),
            Purpose::Token,
        ))
        .await
        .expect_err("insecure");
    assert!(
        matches!(error, TransportError::Insecure { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let base = serve().await;
    let started = std::time::Instant::now();
    let error = executor()
        .execute(HttpRequest::get(
            base.join("slow").unwrap(),
            Purpose::ResourceMetadata,
        ))
        .await
        .expect_err("timeout");
    assert!(matches!(error, TransportError::Timeout { .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

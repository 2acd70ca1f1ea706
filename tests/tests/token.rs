//! The token endpoint: PKCE, single-use codes, each client authentication method
//! enforced, RFC 8707 resource binding, refresh with and without rotation, and the
//! "refresh always fails" knob.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::{
    code, exchange, http, mcp, public_client_tokens, register, send, start, token, REDIRECT,
    VERIFIER,
};
use mcp_oauth_core::client_auth::AuthMethod;
use mcp_oauth_tests::server::PreRegisteredClient;
use mcp_oauth_tests::{TestServer, TestServerConfig};
use reqwest::StatusCode;
use serde_json::json;

/// A secret with every character RFC 6749 §2.3.1 form-encoding changes.
const SPECIAL_SECRET: &str = "s3cr3t:+/%&= ü\"";

fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", form_encode(id), form_encode(secret)))
    )
}

#[tokio::test]
async fn code_exchange_with_the_right_verifier_issues_bearer_tokens() {
    let server = start(TestServerConfig::default()).await;
    let (_, reply) = public_client_tokens(&server, &[("scope", "mcp:read")]).await;
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(reply.json["token_type"], json!("Bearer"));
    assert_eq!(reply.json["expires_in"], json!(3600));
    assert_eq!(reply.json["scope"], json!("mcp:read"));
    assert!(reply.str("access_token").is_some_and(|t| !t.is_empty()));
    assert!(reply.str("refresh_token").is_some_and(|t| !t.is_empty()));
    server.shutdown().await;
}

#[tokio::test]
async fn a_request_without_scope_is_granted_the_default_scopes() {
    let server = start(TestServerConfig::default()).await;
    let (_, reply) = public_client_tokens(&server, &[]).await;
    assert_eq!(reply.json["scope"], json!("mcp:read mcp:write"));
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_verifier_is_invalid_grant_and_consumes_the_code() {
    let server = start(TestServerConfig::default()).await;
    let (client_id, _) = register(&server, "none").await;
    let code = code(&server, &client_id, &[]).await;
    let resource = server.mcp_url().to_string();
    let wrong = "x".repeat(43);
    let reply = token(
        &server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &wrong),
            ("client_id", &client_id),
            ("resource", &resource),
        ],
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.str("error"), Some("invalid_grant"));
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
    // The code is gone even for the right verifier now.
    let retry = exchange(&server, &client_id, &code).await;
    assert_eq!(retry.str("error"), Some("invalid_grant"));
    server.shutdown().await;
}

#[tokio::test]
async fn a_code_is_single_use() {
    let server = start(TestServerConfig::default()).await;
    let (client_id, _) = register(&server, "none").await;
    let code = code(&server, &client_id, &[]).await;
    assert_eq!(
        exchange(&server, &client_id, &code).await.status,
        StatusCode::OK
    );
    let reuse = exchange(&server, &client_id, &code).await;
    assert_eq!(reuse.status, StatusCode::BAD_REQUEST);
    assert_eq!(reuse.str("error"), Some("invalid_grant"));
    server.shutdown().await;
}

/// Form overrides, then the expected status and error.
type ExchangeCase = (Vec<(&'static str, String)>, StatusCode, &'static str);

#[tokio::test]
async fn exchange_checks_redirect_uri_client_and_missing_parameters() {
    let server = start(TestServerConfig::default()).await;
    let (client_id, _) = register(&server, "none").await;
    let (other_id, _) = register(&server, "none").await;
    let resource = server.mcp_url().to_string();
    // (form, expected status, expected error)
    let cases: Vec<ExchangeCase> = vec![
        (
            vec![("redirect_uri", "http://127.0.0.1:1/other".into())],
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            vec![("client_id", other_id.clone())],
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        ),
        (
            vec![("code_verifier", String::new())],
            StatusCode::BAD_REQUEST,
            "invalid_request",
        ),
        (
            vec![("client_id", String::new())],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
        ),
        (
            vec![("grant_type", "password".into())],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
        ),
    ];
    for (overrides, status, error) in cases {
        let code = code(&server, &client_id, &[]).await;
        let mut form: Vec<(&str, String)> = vec![
            ("grant_type", "authorization_code".into()),
            ("code", code),
            ("redirect_uri", REDIRECT.into()),
            ("code_verifier", VERIFIER.into()),
            ("client_id", client_id.clone()),
            ("resource", resource.clone()),
        ];
        for (name, value) in &overrides {
            for entry in form.iter_mut().filter(|(k, _)| k == name) {
                entry.1 = value.clone();
            }
        }
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = token(&server, &pairs).await;
        assert_eq!(
            (reply.status, reply.str("error")),
            (status, Some(error)),
            "{overrides:?}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn resource_must_match_the_authorization_request() {
    let server = start(TestServerConfig::default()).await;
    let (client_id, _) = register(&server, "none").await;
    for resource in [Some("http://127.0.0.1:1/mcp"), None] {
        let code = code(&server, &client_id, &[]).await;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", &client_id),
        ];
        if let Some(resource) = resource {
            form.push(("resource", resource));
        }
        let reply = token(&server, &form).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{resource:?}");
        assert_eq!(reply.str("error"), Some("invalid_target"), "{resource:?}");
    }
    server.shutdown().await;
}

/// A server whose only method is `method`, with a pre-registered confidential
/// client `app` holding [`SPECIAL_SECRET`] (or public, for `none`).
async fn server_with_only(method: AuthMethod) -> TestServer {
    start(TestServerConfig {
        token_endpoint_auth_methods: vec![method],
        pre_registered_client: Some(PreRegisteredClient::desktop(
            "app",
            (method != AuthMethod::None).then_some(SPECIAL_SECRET),
        )),
        ..Default::default()
    })
    .await
}

/// How a token request authenticates `app`.
#[derive(Debug, Clone, Copy)]
enum Auth {
    Basic(&'static str),
    Post(&'static str),
    Public,
}

async fn exchange_as(server: &TestServer, auth: Auth) -> common::Reply {
    let code = code(server, "app", &[]).await;
    let resource = server.mcp_url().to_string();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("resource", resource.as_str()),
    ];
    let mut request = http().post(server.token_endpoint());
    match auth {
        Auth::Basic(secret) => request = request.header("authorization", basic("app", secret)),
        Auth::Post(secret) => form.extend([("client_id", "app"), ("client_secret", secret)]),
        Auth::Public => form.push(("client_id", "app")),
    }
    send(request.form(&form)).await
}

#[tokio::test]
async fn each_client_authentication_method_is_enforced() {
    use AuthMethod::*;
    // (the server's only method, how the client authenticates, expected status)
    let table = [
        (
            ClientSecretBasic,
            Auth::Basic(SPECIAL_SECRET),
            StatusCode::OK,
        ),
        (
            ClientSecretBasic,
            Auth::Basic("wrong"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            ClientSecretBasic,
            Auth::Post(SPECIAL_SECRET),
            StatusCode::UNAUTHORIZED,
        ),
        (ClientSecretBasic, Auth::Public, StatusCode::UNAUTHORIZED),
        (ClientSecretPost, Auth::Post(SPECIAL_SECRET), StatusCode::OK),
        (
            ClientSecretPost,
            Auth::Post("wrong"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            ClientSecretPost,
            Auth::Basic(SPECIAL_SECRET),
            StatusCode::UNAUTHORIZED,
        ),
        (ClientSecretPost, Auth::Public, StatusCode::UNAUTHORIZED),
        (None, Auth::Public, StatusCode::OK),
        (None, Auth::Post("anything"), StatusCode::UNAUTHORIZED),
    ];
    for (method, auth, status) in table {
        let server = server_with_only(method).await;
        let reply = exchange_as(&server, auth).await;
        assert_eq!(reply.status, status, "{method:?} {auth:?}: {}", reply.text);
        if status == StatusCode::UNAUTHORIZED {
            assert_eq!(reply.str("error"), Some("invalid_client"));
        }
        server.shutdown().await;
    }
}

#[tokio::test]
async fn basic_and_a_body_secret_together_are_refused() {
    let server = start(TestServerConfig {
        pre_registered_client: Some(PreRegisteredClient::desktop("app", Some("s"))),
        ..Default::default()
    })
    .await;
    let reply = send(
        http()
            .post(server.token_endpoint())
            .header("authorization", basic("app", "s"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", "x"),
                ("client_secret", "s"),
            ]),
    )
    .await;
    assert_eq!(reply.str("error"), Some("invalid_request"));
    server.shutdown().await;
}

#[tokio::test]
async fn dynamically_registered_confidential_clients_use_their_registered_method() {
    let server = start(TestServerConfig::default()).await;
    for method in ["client_secret_basic", "client_secret_post"] {
        let (client_id, secret) = register(&server, method).await;
        let secret = secret.expect("a secret for a confidential client");
        let code = code(&server, &client_id, &[]).await;
        let resource = server.mcp_url().to_string();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("resource", resource.as_str()),
        ];
        let mut request = http().post(server.token_endpoint());
        if method == "client_secret_basic" {
            request = request.header("authorization", basic(&client_id, &secret));
        } else {
            form.extend([
                ("client_id", client_id.as_str()),
                ("client_secret", secret.as_str()),
            ]);
        }
        let reply = send(request.form(&form)).await;
        assert_eq!(reply.status, StatusCode::OK, "{method}: {}", reply.text);
    }
    server.shutdown().await;
}

async fn refresh(
    server: &TestServer,
    client_id: &str,
    refresh_token: &str,
    extra: &[(&str, &str)],
) -> common::Reply {
    let resource = server.mcp_url().to_string();
    let mut form = vec![
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
        ("client_id", client_id),
        ("resource", resource.as_str()),
    ];
    form.extend_from_slice(extra);
    token(server, &form).await
}

#[tokio::test]
async fn rotation_issues_a_new_refresh_token_and_a_replayed_old_one_revokes_the_grant() {
    let server = start(TestServerConfig::default()).await;
    let (client_id, first) = public_client_tokens(&server, &[]).await;
    let old = first
        .str("refresh_token")
        .expect("refresh token")
        .to_owned();
    let second = refresh(&server, &client_id, &old, &[]).await;
    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    let new = second
        .str("refresh_token")
        .expect("a rotated refresh token")
        .to_owned();
    assert_ne!(new, old);
    assert_ne!(second.str("access_token"), first.str("access_token"));
    let access = second.str("access_token").expect("access token").to_owned();
    let call = json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" });
    assert_eq!(
        mcp(&server, Some(&access), call.clone()).await.status,
        StatusCode::OK
    );
    // The old token again: a replay. Every token of the grant is revoked.
    let reuse = refresh(&server, &client_id, &old, &[]).await;
    assert_eq!(reuse.status, StatusCode::BAD_REQUEST);
    assert_eq!(reuse.str("error"), Some("invalid_grant"));
    let newest = refresh(&server, &client_id, &new, &[]).await;
    assert_eq!(newest.status, StatusCode::BAD_REQUEST, "{}", newest.text);
    assert_eq!(newest.str("error"), Some("invalid_grant"));
    assert_eq!(
        mcp(&server, Some(&access), call).await.status,
        StatusCode::UNAUTHORIZED
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_replayed_code_revokes_the_tokens_issued_for_it() {
    let server = start(TestServerConfig::default()).await;
    let (client_id, _) = register(&server, "none").await;
    let code = code(&server, &client_id, &[]).await;
    let first = exchange(&server, &client_id, &code).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    let access = first.str("access_token").expect("access token").to_owned();
    let rt = first
        .str("refresh_token")
        .expect("refresh token")
        .to_owned();
    let replay = exchange(&server, &client_id, &code).await;
    assert_eq!(replay.str("error"), Some("invalid_grant"));
    let call = json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" });
    assert_eq!(
        mcp(&server, Some(&access), call).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        refresh(&server, &client_id, &rt, &[]).await.str("error"),
        Some("invalid_grant")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn without_rotation_the_refresh_token_is_kept_and_omitted() {
    let server = start(TestServerConfig {
        rotate_refresh_tokens: false,
        ..Default::default()
    })
    .await;
    let (client_id, first) = public_client_tokens(&server, &[]).await;
    let rt = first
        .str("refresh_token")
        .expect("refresh token")
        .to_owned();
    for _ in 0..2 {
        let reply = refresh(&server, &client_id, &rt, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        assert!(reply.str("refresh_token").is_none());
    }
    server.shutdown().await;
}

#[tokio::test]
async fn refresh_checks_scope_resource_and_client() {
    let server = start(TestServerConfig::default()).await;
    let (client_id, first) =
        public_client_tokens(&server, &[("scope", "mcp:read mcp:write")]).await;
    let (other, _) = register(&server, "none").await;
    let rt = first
        .str("refresh_token")
        .expect("refresh token")
        .to_owned();

    let narrower = refresh(&server, &client_id, &rt, &[("scope", "mcp:read")]).await;
    assert_eq!(narrower.status, StatusCode::OK, "{}", narrower.text);
    assert_eq!(narrower.json["scope"], json!("mcp:read"));
    let rt = narrower.str("refresh_token").expect("rotated").to_owned();

    let wider = refresh(&server, &client_id, &rt, &[("scope", "mcp:read mcp:admin")]).await;
    assert_eq!(wider.str("error"), Some("invalid_scope"));

    let resource = token(
        &server,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &rt),
            ("client_id", &client_id),
            ("resource", "http://127.0.0.1:1/mcp"),
        ],
    )
    .await;
    assert_eq!(resource.str("error"), Some("invalid_target"));

    let stolen = refresh(&server, &other, &rt, &[]).await;
    assert_eq!(stolen.str("error"), Some("invalid_grant"));
    server.shutdown().await;
}

#[tokio::test]
async fn refresh_always_fails_when_told_to() {
    let server = start(TestServerConfig {
        refresh_always_fails: true,
        ..Default::default()
    })
    .await;
    let (client_id, first) = public_client_tokens(&server, &[]).await;
    let rt = first
        .str("refresh_token")
        .expect("refresh token")
        .to_owned();
    let reply = refresh(&server, &client_id, &rt, &[]).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.str("error"), Some("invalid_grant"));
    server.shutdown().await;
}

#[tokio::test]
async fn token_lifetime_and_refresh_issuance_follow_the_knobs() {
    let server = start(TestServerConfig {
        access_token_lifetime_secs: 5,
        issue_refresh_tokens: false,
        ..Default::default()
    })
    .await;
    let (_, reply) = public_client_tokens(&server, &[]).await;
    assert_eq!(reply.json["expires_in"], json!(5));
    assert!(reply.str("refresh_token").is_none());
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_token_requests_are_400_invalid_request() {
    let server = start(TestServerConfig::default()).await;
    let url = server.token_endpoint();
    let cases = [
        http()
            .post(url.clone())
            .header("content-type", "application/json")
            .body("{}"),
        http()
            .post(url.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=authorization_code&grant_type=refresh_token"),
        http()
            .post(url.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("client_id=x"),
        http()
            .post(url.clone())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(vec![b'a', b'=', 0xff]),
    ];
    for request in cases {
        let reply = send(request).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.text);
        assert_eq!(reply.str("error"), Some("invalid_request"));
    }
    let huge = send(
        http()
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("a={}", "x".repeat(200 * 1024))),
    )
    .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    server.shutdown().await;
}

#[tokio::test]
async fn concurrent_refreshes_with_one_rotated_token_let_exactly_one_win() {
    let server = start(TestServerConfig::default()).await;
    let (client_id, first) = public_client_tokens(&server, &[]).await;
    let rt = first
        .str("refresh_token")
        .expect("refresh token")
        .to_owned();
    let (a, b) = tokio::join!(
        refresh(&server, &client_id, &rt, &[]),
        refresh(&server, &client_id, &rt, &[])
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::BAD_REQUEST]);
    server.shutdown().await;
}

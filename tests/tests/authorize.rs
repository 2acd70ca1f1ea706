//! The authorization endpoint: code redirects with and without RFC 9207 `iss`,
//! error redirects, `400` pages for requests that must not be redirected, RFC 8707
//! `resource` checks and the consent page.

mod common;

use common::{
    authorization_url, get, http, json_post, param, register, send, start, Reply, REDIRECT,
};
use mcp_oauth_tests::server::PreRegisteredClient;
use mcp_oauth_tests::{TestServer, TestServerConfig};
use reqwest::StatusCode;

#[tokio::test]
async fn headless_consent_redirects_with_code_state_and_iss() {
    let server = start(TestServerConfig::default()).await;
    let (client_id, _) = register(&server, "none").await;
    let resource = server.mcp_url().to_string();
    let reply =
        get(authorization_url(&server, &client_id, &[("resource", &resource)]).as_str()).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text);
    let location = reply.location();
    assert!(location.as_str().starts_with(REDIRECT), "{location}");
    assert!(param(&location, "code").is_some_and(|c| !c.is_empty()));
    assert_eq!(param(&location, "state").as_deref(), Some("xyz"));
    assert_eq!(param(&location, "iss"), Some(server.issuer()));
    server.shutdown().await;
}

#[tokio::test]
async fn iss_is_left_out_when_the_knob_is_off() {
    let server = start(TestServerConfig {
        iss_parameter: false,
        ..Default::default()
    })
    .await;
    let (client_id, _) = register(&server, "none").await;
    let reply = get(authorization_url(&server, &client_id, &[]).as_str()).await;
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text);
    let location = reply.location();
    assert!(param(&location, "code").is_some());
    assert_eq!(param(&location, "iss"), None);
    server.shutdown().await;
}

#[tokio::test]
async fn redirectable_errors_go_back_with_state_and_iss() {
    let server = start(TestServerConfig::default()).await;
    let (client_id, _) = register(&server, "none").await;
    // (what to change, expected error)
    let base = authorization_url(&server, &client_id, &[]);
    let without = |drop: &str| {
        let mut url = base.clone();
        let pairs: Vec<(String, String)> = base
            .query_pairs()
            .filter(|(k, _)| k != drop)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        url
    };
    let with = |name: &str, value: &str| {
        let mut url = without(name);
        url.query_pairs_mut().append_pair(name, value);
        url
    };
    let cases = [
        (without("code_challenge"), "invalid_request"),
        (with("code_challenge_method", "plain"), "invalid_request"),
        (with("response_type", "token"), "unsupported_response_type"),
        (with("scope", "mcp:read unknown:scope"), "invalid_scope"),
        (
            with("resource", "http://127.0.0.1:1/elsewhere"),
            "invalid_target",
        ),
    ];
    for (url, error) in cases {
        let reply = get(url.as_str()).await;
        assert_eq!(reply.status, StatusCode::FOUND, "{url}: {}", reply.text);
        let location = reply.location();
        assert!(location.as_str().starts_with(REDIRECT), "{location}");
        assert_eq!(param(&location, "error").as_deref(), Some(error), "{url}");
        assert_eq!(param(&location, "state").as_deref(), Some("xyz"));
        assert_eq!(param(&location, "iss"), Some(server.issuer()));
        assert_eq!(param(&location, "code"), None);
    }
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_client_and_bad_redirect_uri_get_a_400_page_not_a_redirect() {
    let server = start(TestServerConfig::default()).await;
    let (client_id, _) = register(&server, "none").await;
    let unknown = authorization_url(&server, "no-such-client", &[]);
    let mut bad_redirect = server.authorization_endpoint();
    bad_redirect
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &client_id)
        .append_pair("redirect_uri", "https://evil.example/callback")
        .append_pair("state", "xyz")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256");
    let mut duplicate = authorization_url(&server, &client_id, &[]);
    duplicate.query_pairs_mut().append_pair("state", "again");
    for url in [unknown, bad_redirect, duplicate] {
        let reply = get(url.as_str()).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{url}");
        assert!(reply.header("location").is_none(), "{url}");
        assert!(reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/html")));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn missing_resource_is_refused_only_when_required() {
    let server = start(TestServerConfig {
        require_resource: true,
        ..Default::default()
    })
    .await;
    let (client_id, _) = register(&server, "none").await;
    let reply = get(authorization_url(&server, &client_id, &[]).as_str()).await;
    assert_eq!(
        param(&reply.location(), "error").as_deref(),
        Some("invalid_target")
    );
    server.shutdown().await;
}

/// `GET /authorize` for `client_id` with `redirect_uri`, PKCE and no resource.
async fn authorize_with(server: &TestServer, client_id: &str, redirect_uri: &str) -> Reply {
    let mut url = server.authorization_endpoint();
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        )
        .append_pair("code_challenge_method", "S256");
    get(url.as_str()).await
}

#[tokio::test]
async fn a_registered_loopback_uri_matches_on_any_port_and_nothing_else_varies() {
    let server = start(TestServerConfig {
        pre_registered_client: Some(PreRegisteredClient {
            client_id: "app".into(),
            client_secret: Some("s".into()),
            redirect_uris: vec![
                "http://127.0.0.1/callback".into(),
                "https://app.example/cb".into(),
            ],
        }),
        ..Default::default()
    })
    .await;
    // (redirect URI, accepted)
    let table = [
        ("http://127.0.0.1:40001/callback", true),
        ("http://127.0.0.1:9/callback", true),
        ("http://127.0.0.1/callback", true),
        ("https://app.example/cb", true),
        ("http://127.0.0.1:40001/other", false),
        ("http://localhost:40001/callback", false),
        ("http://[::1]:40001/callback", false),
        ("https://app.example:444/cb", false),
    ];
    for (redirect, accepted) in table {
        let reply = authorize_with(&server, "app", redirect).await;
        if accepted {
            assert_eq!(
                reply.status,
                StatusCode::FOUND,
                "{redirect}: {}",
                reply.text
            );
            assert!(
                reply.location().as_str().starts_with(redirect),
                "{redirect}"
            );
        } else {
            assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{redirect}");
            assert!(reply.header("location").is_none(), "{redirect}");
        }
    }
    server.shutdown().await;
}

/// Issue 10, item 9: a client registered only with `https://app.example/cb` was
/// given a code on any loopback redirect URI, and the code was exchangeable.
#[tokio::test]
async fn a_client_registered_only_with_an_https_uri_gets_no_loopback_redirect() {
    let server = start(TestServerConfig::default()).await;
    let registered = send(json_post(
        server.registration_endpoint().as_str(),
        &serde_json::json!({
            "client_name": "web app",
            "redirect_uris": ["https://app.example/cb"],
            "token_endpoint_auth_method": "none",
        }),
    ))
    .await;
    assert_eq!(
        registered.status,
        StatusCode::CREATED,
        "{}",
        registered.text
    );
    let client_id = registered.str("client_id").expect("client_id").to_owned();
    for redirect in [
        REDIRECT,
        "http://localhost:8080/callback",
        "http://[::1]/cb",
    ] {
        let reply = authorize_with(&server, &client_id, redirect).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{redirect}: {}",
            reply.text
        );
        assert!(reply.header("location").is_none(), "{redirect}");
    }
    assert_eq!(server.count("POST", "/token"), 0);
    let web = authorize_with(&server, &client_id, "https://app.example/cb").await;
    assert_eq!(web.status, StatusCode::FOUND, "{}", web.text);
    server.shutdown().await;
}

#[tokio::test]
async fn consent_page_approves_and_denies_through_a_form_post() {
    let server = start(TestServerConfig {
        consent_page: true,
        ..Default::default()
    })
    .await;
    let (client_id, _) = register(&server, "none").await;
    let approve_url = server.authorization_endpoint().to_string() + "/approve";
    for (decision, expect_code) in [("approve", true), ("deny", false)] {
        let page = get(authorization_url(&server, &client_id, &[]).as_str()).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text.contains("Approve"));
        let pending = page
            .text
            .split("name=\"pending\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a pending id in the page")
            .to_owned();
        let reply = send(
            http()
                .post(&approve_url)
                .form(&[("pending", pending.as_str()), ("decision", decision)]),
        )
        .await;
        assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text);
        let location = reply.location();
        assert_eq!(
            param(&location, "code").is_some(),
            expect_code,
            "{location}"
        );
        assert_eq!(param(&location, "state").as_deref(), Some("xyz"));
        if !expect_code {
            assert_eq!(param(&location, "error").as_deref(), Some("access_denied"));
        }
        // A pending request is answered once.
        let again = send(
            http()
                .post(&approve_url)
                .form(&[("pending", pending.as_str()), ("decision", "approve")]),
        )
        .await;
        assert_eq!(again.status, StatusCode::BAD_REQUEST);
    }
    server.shutdown().await;
}

//! Inspections driven against recorded responses: which requests go out, in which
//! order, and what is reported.

use super::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Recorded answers by method and URL; anything else is a 404.
struct Recorded {
    routes: BTreeMap<(Method, String), HttpResponse>,
    sent: Vec<String>,
}

impl Recorded {
    fn new() -> Self {
        Self {
            routes: BTreeMap::new(),
            sent: Vec::new(),
        }
    }

    fn get(mut self, url: &str, body: Value) -> Self {
        self.routes.insert(
            (Method::Get, url.to_owned()),
            HttpResponse::json_body(200, &body),
        );
        self
    }

    fn post(mut self, url: &str, response: HttpResponse) -> Self {
        self.routes.insert((Method::Post, url.to_owned()), response);
        self
    }

    fn inspect(&mut self, url: &str) -> Result<ServerInfo, Error> {
        let mut inspection = Inspection::new(url)?;
        for _ in 0..30 {
            match inspection.next_action() {
                InspectAction::Send(request) => {
                    let key = (request.method, request.url.to_string());
                    self.sent
                        .push(format!("{} {}", request.method.as_str(), request.url));
                    let response = self
                        .routes
                        .get(&key)
                        .cloned()
                        .unwrap_or_else(|| HttpResponse::new(404, vec![], "not found"));
                    let _ = inspection.on_response(&response);
                }
                InspectAction::Done(info) => return Ok(*info),
                InspectAction::Failed(error) => return Err(error),
            }
        }
        panic!("the inspection did not finish in 30 steps");
    }
}

fn as_document(issuer: &str, methods: &[&str], registration: bool) -> Value {
    let mut document = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/auth"),
        "token_endpoint": format!("{issuer}/token"),
        "revocation_endpoint": format!("{issuer}/token/revocation"),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": methods,
        "scopes_supported": ["openid", "offline_access", "mcp:read"],
    });
    if registration {
        document["registration_endpoint"] = json!(format!("{issuer}/reg"));
    }
    document
}

#[test]
fn a_server_url_reports_its_authorization_server_and_open_registration() {
    let mut server = Recorded::new()
        .get(
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            json!({
                "resource": "https://mcp.example.com/mcp",
                "authorization_servers": ["https://auth.example.com"],
                "scopes_supported": ["mcp:read", "mcp:write"],
            }),
        )
        .get(
            "https://auth.example.com/.well-known/oauth-authorization-server",
            as_document(
                "https://auth.example.com",
                &["none", "client_secret_basic"],
                true,
            ),
        )
        .post(
            "https://auth.example.com/reg",
            HttpResponse::json_body(400, &json!({"error": "invalid_redirect_uri"})),
        );
    let info = server.inspect("https://mcp.example.com/mcp").unwrap();
    assert_eq!(
        server.sent,
        [
            "GET https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            "GET https://auth.example.com/.well-known/oauth-authorization-server",
            "POST https://auth.example.com/reg",
        ]
    );
    assert_eq!(info.issuer, "https://auth.example.com");
    assert_eq!(
        info.resource.as_deref(),
        Some("https://mcp.example.com/mcp")
    );
    assert!(!info.client_secret_required);
    assert_eq!(info.registration, RegistrationAvailability::Open);
    assert_eq!(
        info.resource_scopes_supported,
        Some(vec!["mcp:read".into(), "mcp:write".into()])
    );
    assert!(info.revocation_supported);
}

#[test]
fn an_authorization_url_finds_the_metadata_of_its_issuer() {
    let issuer = "http://127.0.0.1:9000";
    let mut server = Recorded::new().get(
        "http://127.0.0.1:9000/.well-known/openid-configuration",
        as_document(issuer, &["client_secret_post"], false),
    );
    let info = server.inspect("http://127.0.0.1:9000/auth").unwrap();
    assert_eq!(info.issuer, issuer);
    assert!(info.client_secret_required, "none is not listed");
    assert_eq!(info.registration, RegistrationAvailability::Absent);
    assert_eq!(
        info.token_endpoint_auth_methods_supported,
        Some(vec!["client_secret_post".into()])
    );
    assert_eq!(
        server.sent,
        [
            "GET http://127.0.0.1:9000/.well-known/oauth-protected-resource/auth",
            "GET http://127.0.0.1:9000/.well-known/oauth-protected-resource",
            "GET http://127.0.0.1:9000/.well-known/oauth-authorization-server",
            "GET http://127.0.0.1:9000/.well-known/openid-configuration",
        ]
    );
}

#[test]
fn registration_refused_without_an_initial_access_token_is_closed() {
    let issuer = "https://auth.example.com";
    let mut server = Recorded::new()
        .get(
            "https://auth.example.com/.well-known/oauth-authorization-server",
            as_document(issuer, &["client_secret_basic"], true),
        )
        .post(
            "https://auth.example.com/reg",
            HttpResponse::json_body(401, &json!({"error": "invalid_token"})),
        );
    let info = server.inspect("https://auth.example.com/auth").unwrap();
    assert_eq!(info.registration, RegistrationAvailability::Closed);
    assert!(info.client_secret_required);
}

#[test]
fn a_guessed_document_for_other_endpoints_is_not_used() {
    // The origin serves the metadata of another tenant; the URL's own issuer is
    // a path below it.
    let mut server = Recorded::new()
        .get(
            "https://login.example.com/.well-known/openid-configuration",
            as_document("https://login.example.com", &["none"], false),
        )
        .get(
            "https://login.example.com/.well-known/openid-configuration/t1",
            as_document(
                "https://login.example.com/t1",
                &["client_secret_post"],
                false,
            ),
        );
    let info = server.inspect("https://login.example.com/t1/auth").unwrap();
    assert_eq!(info.issuer, "https://login.example.com/t1");
}

#[test]
fn a_server_naming_its_metadata_only_in_the_challenge_is_probed() {
    let mut server = Recorded::new()
        .post(
            "https://mcp.example.com/mcp",
            HttpResponse::new(
                401,
                vec![(
                    "WWW-Authenticate".into(),
                    r#"Bearer resource_metadata="https://mcp.example.com/prm""#.into(),
                )],
                "",
            ),
        )
        .get(
            "https://mcp.example.com/prm",
            json!({"resource": "https://mcp.example.com/mcp", "authorization_servers": ["https://auth.example.com"]}),
        )
        .get(
            "https://auth.example.com/.well-known/oauth-authorization-server",
            as_document("https://auth.example.com", &["none"], false),
        );
    let info = server.inspect("https://mcp.example.com/mcp").unwrap();
    assert_eq!(info.issuer, "https://auth.example.com");
    assert_eq!(
        info.resource.as_deref(),
        Some("https://mcp.example.com/mcp")
    );
}

#[test]
fn nothing_found_is_a_typed_error_after_a_bounded_number_of_requests() {
    let mut server = Recorded::new();
    let error = server
        .inspect("https://nothing.example.com/a/b")
        .unwrap_err();
    assert_eq!(error.code(), "metadata_not_found");
    assert!(server.sent.len() <= 12, "{:?}", server.sent);
    assert_eq!(
        server.sent.last().map(String::as_str),
        Some("POST https://nothing.example.com/a/b")
    );
}

#[test]
fn insecure_urls_are_refused_before_any_request() {
    assert_eq!(
        Inspection::new("http://example.com/mcp")
            .unwrap_err()
            .code(),
        "insecure_endpoint"
    );
    assert_eq!(
        Inspection::new("not a url").unwrap_err().code(),
        "invalid_metadata"
    );
}

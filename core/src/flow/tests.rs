//! Whole flows driven against recorded server responses: no sockets, no clock, no
//! randomness beyond an injected byte source (STYLE.md: the quinn-proto way).

use super::*;
use crate::client_auth::AuthMethod;
use crate::http::{Method, Purpose};
use crate::pending::CodeExchange;
use crate::pkce;
use crate::registration::PreRegisteredClient;
use crate::secret::Secret;
use crate::www_authenticate::BearerChallenge;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const NOW: u64 = 1_700_000_000;
const SERVER: &str = "https://mcp.example.com/mcp";
const ISSUER: &str = "https://auth.example.com";
const REDIRECT: &str = "http://127.0.0.1:33418/callback";

fn entropy() -> impl FnMut(&mut [u8]) {
    let mut counter = 0u8;
    move |buf: &mut [u8]| {
        for b in buf {
            counter = counter.wrapping_add(1);
            *b = counter;
        }
    }
}

/// A table of recorded responses keyed by method and URL, plus a user agent that
/// "consents" by turning the authorization URL into a callback.
struct Recorded {
    routes: BTreeMap<(Method, String), HttpResponse>,
    /// One-off answers, used before `routes` (first in, first out).
    queued: BTreeMap<(Method, String), std::collections::VecDeque<HttpResponse>>,
    sent: Vec<HttpRequest>,
    /// Query parameters of the authorization URL the flow opened.
    authorize_params: BTreeMap<String, String>,
    /// Whether the user agent adds `iss` to the callback, and with what value.
    callback_iss: Option<String>,
}

impl Recorded {
    fn new() -> Self {
        Self {
            routes: BTreeMap::new(),
            queued: BTreeMap::new(),
            sent: Vec::new(),
            authorize_params: BTreeMap::new(),
            callback_iss: None,
        }
    }

    fn route(mut self, method: Method, url: &str, response: HttpResponse) -> Self {
        self.routes.insert((method, url.to_owned()), response);
        self
    }

    /// Answers the next `method url` request with `response`, once.
    #[cfg(feature = "private-key-jwt")]
    fn once(mut self, method: Method, url: &str, response: HttpResponse) -> Self {
        self.queued
            .entry((method, url.to_owned()))
            .or_default()
            .push_back(response);
        self
    }

    fn get(self, url: &str, body: Value) -> Self {
        self.route(Method::Get, url, HttpResponse::json_body(200, &body))
    }

    fn post(self, url: &str, status: u16, body: Value) -> Self {
        self.route(Method::Post, url, HttpResponse::json_body(status, &body))
    }

    fn answer(&mut self, request: HttpRequest) -> HttpResponse {
        let key = (request.method, request.url.to_string());
        self.sent.push(request);
        if let Some(response) = self.queued.get_mut(&key).and_then(|q| q.pop_front()) {
            return response;
        }
        self.routes
            .get(&key)
            .cloned()
            .unwrap_or_else(|| HttpResponse::new(404, vec![], "not found"))
    }

    fn consent(&mut self, url: &Url, redirect_uri: &str) -> String {
        self.authorize_params = url.query_pairs().into_owned().collect();
        let mut callback = Url::parse(redirect_uri).unwrap();
        callback
            .query_pairs_mut()
            .append_pair("code", "the-code")
            .append_pair("state", &self.authorize_params["state"]);
        if let Some(iss) = &self.callback_iss {
            callback.query_pairs_mut().append_pair("iss", iss);
        }
        callback.to_string()
    }

    fn drive(&mut self, flow: &mut Flow) -> Result<Session, Error> {
        let mut jti_source = entropy();
        for _ in 0..20 {
            match flow.next_action() {
                Action::Send(request) => {
                    // What every host does: a DPoP proof where the flow asks for
                    // one, and one more try when the server wants a nonce.
                    let mut retried = false;
                    let response = loop {
                        let mut attempt = request.clone();
                        if let Some(proof) = flow.dpop_proof(&attempt, NOW, &mut jti_source)? {
                            let jwt = flow.sign_proof(proof)?;
                            attempt = attempt.with_header(crate::dpop::HEADER, jwt);
                        }
                        let response = self.answer(attempt.clone());
                        if flow.dpop_retry(&attempt, &response, retried) {
                            retried = true;
                            continue;
                        }
                        break response;
                    };
                    flow.on_response(response, NOW)?;
                }
                Action::Authorize { url, redirect_uri } => {
                    let callback = self.consent(&url, &redirect_uri);
                    flow.on_callback(&callback, NOW)?;
                }
                Action::Done(session) => return Ok(*session),
                Action::Failed(error) => return Err(error),
            }
        }
        panic!("flow did not finish in 20 steps");
    }

    fn urls(&self) -> Vec<String> {
        self.sent
            .iter()
            .map(|r| format!("{} {}", r.method.as_str(), r.url))
            .collect()
    }

    fn last_token_request(&self) -> &HttpRequest {
        self.sent
            .iter()
            .rev()
            .find(|r| r.purpose == Purpose::Token)
            .expect("a token request")
    }
}

fn unauthorized(www_authenticate: &str) -> HttpResponse {
    HttpResponse::new(
        401,
        vec![("WWW-Authenticate".into(), www_authenticate.into())],
        "",
    )
}

fn as_metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "registration_endpoint": format!("{issuer}/register"),
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_basic"],
        "scopes_supported": ["mcp:read", "mcp:write", "offline_access"],
        "response_types_supported": ["code"],
    })
}

fn prm(resource: &str, issuer: &str) -> Value {
    json!({ "resource": resource, "authorization_servers": [issuer], "scopes_supported": ["mcp:read", "mcp:write"] })
}

fn tokens() -> Value {
    json!({ "access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-1" })
}

fn dynamic(config: DynamicConfig) -> Flow {
    DynamicFlow::new(config, &mut entropy()).unwrap().into()
}

fn config() -> DynamicConfig {
    DynamicConfig::new(SERVER, REDIRECT, "Test App")
}

fn form(request: &HttpRequest) -> BTreeMap<String, String> {
    request.form_pairs().into_iter().collect()
}

/// The standard dynamic server: PRM advertised in the 401, AS at the root issuer, open DCR.
fn dynamic_server() -> Recorded {
    Recorded::new()
        .route(
            Method::Post,
            SERVER,
            unauthorized(r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:read""#),
        )
        .get("https://mcp.example.com/.well-known/oauth-protected-resource/mcp", prm(SERVER, ISSUER))
        .get("https://auth.example.com/.well-known/oauth-authorization-server", as_metadata(ISSUER))
        .post("https://auth.example.com/register", 201, json!({ "client_id": "dyn-client" }))
        .post("https://auth.example.com/token", 200, tokens())
}

#[test]
fn dynamic_flow_with_the_401_header_discovers_registers_and_exchanges() {
    let mut server = dynamic_server();
    let session = server.drive(&mut dynamic(config())).unwrap();

    assert_eq!(
        server.urls(),
        [
            "POST https://mcp.example.com/mcp",
            "GET https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            "GET https://auth.example.com/.well-known/oauth-authorization-server",
            "POST https://auth.example.com/register",
            "POST https://auth.example.com/token",
        ]
    );
    // Registration: a native public client that wants refresh tokens.
    let registration: Value = serde_json::from_slice(&server.sent[3].body).unwrap();
    assert_eq!(registration["application_type"], "native");
    assert_eq!(registration["redirect_uris"], json!([REDIRECT]));
    assert!(registration["grant_types"]
        .as_array()
        .unwrap()
        .contains(&json!("refresh_token")));
    // Authorization request: PKCE S256, resource, challenge scope plus offline_access.
    let params = &server.authorize_params;
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], "dyn-client");
    assert_eq!(params["redirect_uri"], REDIRECT);
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["resource"], SERVER);
    assert_eq!(params["scope"], "mcp:read offline_access");
    // Token request: the verifier matches the challenge; the resource is repeated.
    let token = form(server.last_token_request());
    assert!(pkce::verify_s256(
        &token["code_verifier"],
        &params["code_challenge"]
    ));
    assert_eq!(token["grant_type"], "authorization_code");
    assert_eq!(token["code"], "the-code");
    assert_eq!(token["resource"], SERVER);
    assert_eq!(token["client_id"], "dyn-client");
    // The session carries everything needed to refresh.
    assert_eq!(session.tokens.access_token, Secret::new("at-1"));
    assert_eq!(session.tokens.expires_at, Some(NOW + 3600));
    assert_eq!(session.grant.issuer, ISSUER);
    assert_eq!(session.grant.resource.as_deref(), Some(SERVER));
    assert_eq!(
        session.grant.scope.as_deref(),
        Some("mcp:read offline_access")
    );
}

#[test]
fn discovery_requests_announce_the_protocol_version() {
    let mut server = dynamic_server();
    server.drive(&mut dynamic(config())).unwrap();
    for request in server.sent.iter().filter(|r| r.method == Method::Get) {
        assert_eq!(
            request.header("MCP-Protocol-Version"),
            Some("2025-11-25"),
            "{request:?}"
        );
    }
}

#[test]
fn dynamic_flow_with_well_known_urls_only() {
    let mut server = Recorded::new()
        .route(Method::Post, SERVER, unauthorized("Bearer"))
        .get(
            "https://mcp.example.com/.well-known/oauth-protected-resource",
            prm(SERVER, ISSUER),
        )
        .get(
            "https://auth.example.com/.well-known/oauth-authorization-server",
            as_metadata(ISSUER),
        )
        .post(
            "https://auth.example.com/register",
            201,
            json!({ "client_id": "c" }),
        )
        .post("https://auth.example.com/token", 200, tokens());
    let session = server.drive(&mut dynamic(config())).unwrap();
    assert_eq!(
        server.urls()[..3],
        [
            "POST https://mcp.example.com/mcp",
            "GET https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            "GET https://mcp.example.com/.well-known/oauth-protected-resource",
        ]
    );
    // No challenge scope: all of the PRM's scopes_supported, plus offline_access.
    assert_eq!(
        session.grant.scope.as_deref(),
        Some("mcp:read mcp:write offline_access")
    );
}

#[test]
fn dynamic_flow_with_a_path_issuer_tries_oidc_after_rfc8414() {
    let issuer = "https://auth.example.com/tenant1";
    let mut server = Recorded::new()
        .route(Method::Post, SERVER, unauthorized("Bearer"))
        .get(
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            prm(SERVER, issuer),
        )
        .get(
            "https://auth.example.com/.well-known/openid-configuration/tenant1",
            as_metadata(issuer),
        )
        .post(
            "https://auth.example.com/tenant1/register",
            201,
            json!({ "client_id": "c" }),
        )
        .post("https://auth.example.com/tenant1/token", 200, tokens());
    let session = server.drive(&mut dynamic(config())).unwrap();
    assert_eq!(
        server.urls()[2..4],
        [
            "GET https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
            "GET https://auth.example.com/.well-known/openid-configuration/tenant1",
        ]
    );
    assert_eq!(session.grant.issuer, issuer);
}

#[test]
fn path_issuer_without_metadata_fails_after_exactly_three_candidates() {
    let issuer = "https://auth.example.com/tenant1";
    let mut server = Recorded::new()
        .route(Method::Post, SERVER, unauthorized("Bearer"))
        .get(
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            prm(SERVER, issuer),
        );
    let err = server.drive(&mut dynamic(config())).unwrap_err();
    assert_eq!(err.code(), "metadata_not_found");
    assert_eq!(
        server.urls()[2..],
        [
            "GET https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
            "GET https://auth.example.com/.well-known/openid-configuration/tenant1",
            "GET https://auth.example.com/tenant1/.well-known/openid-configuration",
        ]
    );
}

#[test]
fn a_2025_03_26_server_without_any_metadata_uses_the_default_endpoints() {
    let mut server = Recorded::new()
        .route(Method::Post, SERVER, unauthorized("Bearer"))
        .post(
            "https://mcp.example.com/register",
            201,
            json!({ "client_id": "legacy" }),
        )
        .post("https://mcp.example.com/token", 200, tokens());
    let session = server.drive(&mut dynamic(config())).unwrap();
    assert_eq!(
        server.urls(),
        [
            "POST https://mcp.example.com/mcp",
            "GET https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            "GET https://mcp.example.com/.well-known/oauth-protected-resource",
            "GET https://mcp.example.com/.well-known/oauth-authorization-server",
            "GET https://mcp.example.com/.well-known/openid-configuration",
            "POST https://mcp.example.com/register",
            "POST https://mcp.example.com/token",
        ]
    );
    assert!(server.authorize_params.contains_key("code_challenge"));
    // 2025-03-26 predates RFC 8707 in MCP: no resource parameter.
    assert!(!server.authorize_params.contains_key("resource"));
    assert!(!form(server.last_token_request()).contains_key("resource"));
    assert_eq!(
        session.grant.token_endpoint.as_str(),
        "https://mcp.example.com/token"
    );
}

#[test]
fn a_2025_03_26_server_with_metadata_at_its_origin() {
    let origin = "https://mcp.example.com";
    let mut server = Recorded::new()
        .route(Method::Post, SERVER, unauthorized("Bearer"))
        .get(
            "https://mcp.example.com/.well-known/oauth-authorization-server",
            as_metadata(origin),
        )
        .post(
            "https://mcp.example.com/register",
            201,
            json!({ "client_id": "legacy" }),
        )
        .post("https://mcp.example.com/token", 200, tokens());
    let session = server.drive(&mut dynamic(config())).unwrap();
    assert_eq!(session.grant.issuer, origin);
    assert_eq!(server.sent.len(), 6);
}

#[test]
fn a_known_challenge_skips_the_probe() {
    let mut server = dynamic_server();
    let mut config = config();
    config.challenge = Some(BearerChallenge {
        resource_metadata: Some(
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp".into(),
        ),
        scope: Some("mcp:write".into()),
        ..Default::default()
    });
    let session = server.drive(&mut dynamic(config)).unwrap();
    assert_eq!(server.sent[0].purpose, Purpose::ResourceMetadata);
    assert_eq!(
        session.grant.scope.as_deref(),
        Some("mcp:write offline_access")
    );
}

#[test]
fn a_pre_registered_client_for_the_issuer_skips_registration() {
    let mut server = dynamic_server();
    let mut config = config();
    config.clients = vec![
        PreRegisteredClient {
            issuer: Some("https://other-as.example.com".into()),
            client_id: "wrong".into(),
            client_secret: None,
            auth_method: None,
            private_key: None,
        },
        PreRegisteredClient {
            issuer: Some(ISSUER.into()),
            client_id: "pre".into(),
            client_secret: Some(Secret::new("pre-secret")),
            auth_method: None,
            private_key: None,
        },
    ];
    let session = server.drive(&mut dynamic(config)).unwrap();
    assert!(server
        .sent
        .iter()
        .all(|r| r.purpose != Purpose::Registration));
    assert_eq!(session.grant.client.client_id, "pre");
    assert_eq!(
        session.grant.client.auth_method,
        AuthMethod::ClientSecretBasic
    );
    assert!(server
        .last_token_request()
        .header("Authorization")
        .unwrap()
        .starts_with("Basic "));
}

#[test]
fn a_client_id_metadata_document_is_used_when_the_as_supports_it() {
    let mut metadata = as_metadata(ISSUER);
    metadata["client_id_metadata_document_supported"] = json!(true);
    let mut server = dynamic_server().get(
        "https://auth.example.com/.well-known/oauth-authorization-server",
        metadata,
    );
    let mut config = config();
    config.client_metadata_url = Some("https://app.example.com/oauth/client.json".into());
    let session = server.drive(&mut dynamic(config)).unwrap();
    assert!(server
        .sent
        .iter()
        .all(|r| r.purpose != Purpose::Registration));
    assert_eq!(
        server.authorize_params["client_id"],
        "https://app.example.com/oauth/client.json"
    );
    assert_eq!(session.grant.client.auth_method, AuthMethod::None);
}

#[test]
fn closed_registration_tells_the_user_to_use_the_manual_preset() {
    let mut server = dynamic_server().post(
        "https://auth.example.com/register",
        403,
        json!({ "error": "access_denied" }),
    );
    let err = server.drive(&mut dynamic(config())).unwrap_err();
    assert_eq!(err.code(), "registration_refused");
    assert!(err.to_string().contains("manual preset"), "{err}");
}

#[test]
fn no_registration_endpoint_and_no_cimd_needs_a_manual_client() {
    let mut metadata = as_metadata(ISSUER);
    metadata
        .as_object_mut()
        .unwrap()
        .remove("registration_endpoint");
    let mut server = dynamic_server().get(
        "https://auth.example.com/.well-known/oauth-authorization-server",
        metadata,
    );
    let err = server.drive(&mut dynamic(config())).unwrap_err();
    assert_eq!(err.code(), "manual_client_required");
}

/// A PRM listing an unusable authorization server first and a working one second.
fn two_authorization_servers(first: &str) -> Recorded {
    dynamic_server().get(
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
        json!({ "resource": SERVER, "authorization_servers": [first, ISSUER] }),
    )
}

#[test]
fn several_authorization_servers_are_tried_in_order_until_one_works() {
    // The first has no metadata at all.
    let mut server = two_authorization_servers("https://gone.example.com");
    let session = server.drive(&mut dynamic(config())).unwrap();
    assert_eq!(session.grant.issuer, ISSUER);
    assert_eq!(
        server.urls()[2..5],
        [
            "GET https://gone.example.com/.well-known/oauth-authorization-server",
            "GET https://gone.example.com/.well-known/openid-configuration",
            "GET https://auth.example.com/.well-known/oauth-authorization-server",
        ]
    );

    // The first refuses registration.
    let closed = "https://closed.example.com";
    let mut server = two_authorization_servers(closed)
        .get(
            "https://closed.example.com/.well-known/oauth-authorization-server",
            as_metadata(closed),
        )
        .post("https://closed.example.com/register", 403, json!({}));
    let session = server.drive(&mut dynamic(config())).unwrap();
    assert_eq!(session.grant.issuer, ISSUER);
    assert_eq!(session.grant.client.client_id, "dyn-client");

    // None works: the first server's error is the one reported.
    let mut server = two_authorization_servers("https://gone.example.com").route(
        Method::Get,
        "https://auth.example.com/.well-known/oauth-authorization-server",
        HttpResponse::new(404, vec![], ""),
    );
    let err = server.drive(&mut dynamic(config())).unwrap_err();
    assert_eq!(err.code(), "metadata_not_found");
    assert!(err.to_string().contains("gone.example.com"), "{err}");
}

#[test]
fn a_known_client_puts_its_authorization_server_first() {
    let mut server = two_authorization_servers("https://other.example.com");
    let mut config = config();
    config.clients.push(PreRegisteredClient {
        issuer: Some(ISSUER.into()),
        client_id: "known".into(),
        client_secret: None,
        auth_method: None,
        private_key: None,
    });
    let session = server.drive(&mut dynamic(config)).unwrap();
    assert_eq!(session.grant.client.client_id, "known");
    assert!(server
        .urls()
        .iter()
        .all(|u| !u.contains("other.example.com")));
}

#[test]
fn discovery_failures_are_typed() {
    let cases: [(&str, Recorded); 3] = [
        (
            "resource_mismatch",
            dynamic_server().get(
                "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
                prm("https://evil.example.com/mcp", ISSUER),
            ),
        ),
        (
            "issuer_mismatch",
            dynamic_server().get(
                "https://auth.example.com/.well-known/oauth-authorization-server",
                as_metadata("https://auth.example.com/"),
            ),
        ),
        ("pkce_not_supported", {
            let mut metadata = as_metadata(ISSUER);
            metadata
                .as_object_mut()
                .unwrap()
                .remove("code_challenge_methods_supported");
            dynamic_server().get(
                "https://auth.example.com/.well-known/oauth-authorization-server",
                metadata,
            )
        }),
    ];
    for (code, mut server) in cases {
        let mut flow = dynamic(config());
        let err = server.drive(&mut flow).unwrap_err();
        assert_eq!(err.code(), code);
        // The flow stays failed, and says so to a host that asks again.
        assert_eq!(flow.next_action(), Action::Failed(err));
        assert!(
            server.sent.iter().all(|r| r.purpose != Purpose::Token),
            "{code}"
        );
    }
}

#[test]
fn a_callback_with_the_wrong_state_is_ignored_and_the_right_one_accepted() {
    let mut server = dynamic_server();
    let mut flow = dynamic(config());
    let (url, redirect_uri) = loop {
        match flow.next_action() {
            Action::Send(request) => flow.on_response(server.answer(request), NOW).unwrap(),
            Action::Authorize { url, redirect_uri } => break (url, redirect_uri),
            other => panic!("unexpected {other:?}"),
        }
    };
    let forged = format!("{redirect_uri}?code=stolen&state=forged");
    assert_eq!(
        flow.on_callback(&forged, NOW).unwrap_err().code(),
        "state_mismatch"
    );
    assert_eq!(
        flow.on_callback(&format!("{redirect_uri}?code=x"), NOW)
            .unwrap_err()
            .code(),
        "state_mismatch"
    );
    assert!(
        matches!(flow.next_action(), Action::Authorize { .. }),
        "still waiting"
    );
    let callback = server.consent(&url, &redirect_uri);
    flow.on_callback(&callback, NOW).unwrap();
    assert!(server.drive(&mut flow).is_ok());
}

#[test]
fn an_iss_mismatch_ends_the_flow_before_the_code_is_used() {
    let mut metadata = as_metadata(ISSUER);
    metadata["authorization_response_iss_parameter_supported"] = json!(true);
    let mut server = dynamic_server().get(
        "https://auth.example.com/.well-known/oauth-authorization-server",
        metadata,
    );
    server.callback_iss = Some("https://evil.example.com".into());
    let err = server.drive(&mut dynamic(config())).unwrap_err();
    assert_eq!(err.code(), "issuer_mismatch");
    assert!(server.sent.iter().all(|r| r.purpose != Purpose::Token));
}

#[test]
fn an_iss_that_matches_is_accepted() {
    let mut metadata = as_metadata(ISSUER);
    metadata["authorization_response_iss_parameter_supported"] = json!(true);
    let mut server = dynamic_server().get(
        "https://auth.example.com/.well-known/oauth-authorization-server",
        metadata,
    );
    server.callback_iss = Some(ISSUER.into());
    assert!(server.drive(&mut dynamic(config())).is_ok());
}

#[test]
fn a_pending_flow_survives_a_json_round_trip_and_completes_elsewhere() {
    let mut server = dynamic_server();
    let mut flow = dynamic(config());
    let url = loop {
        match flow.next_action() {
            Action::Send(request) => flow.on_response(server.answer(request), NOW).unwrap(),
            Action::Authorize { url, .. } => break url,
            other => panic!("unexpected {other:?}"),
        }
    };
    let stored = serde_json::to_string(&flow).unwrap();
    drop(flow);

    // "Another process": only the JSON and the callback URL cross over.
    let mut resumed: Flow = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        resumed.next_action(),
        Action::Authorize {
            url: url.clone(),
            redirect_uri: REDIRECT.into()
        }
    );
    let callback = server.consent(&url, REDIRECT);
    resumed.on_callback(&callback, NOW).unwrap();
    let session = server.drive(&mut resumed).unwrap();
    assert_eq!(session.tokens.access_token, Secret::new("at-1"));
    let token = form(server.last_token_request());
    assert!(pkce::verify_s256(
        &token["code_verifier"],
        &server.authorize_params["code_challenge"]
    ));
}

/// Drives `flow` with `server` to its authorization step.
fn authorizing(server: &mut Recorded, mut flow: Flow) -> Flow {
    while let Action::Send(request) = flow.next_action() {
        flow.on_response(server.answer(request), NOW).unwrap();
    }
    flow
}

/// Drives `flow` with `server` to its authorization step and takes the sign-in
/// out of it, as a browser does before redirecting its own window.
fn awaiting(server: &mut Recorded, flow: Flow) -> AwaitingCallback {
    authorizing(server, flow)
        .into_awaiting_callback()
        .expect("waiting for the callback")
}

/// Sends the code exchange (answering one DPoP nonce challenge) and reads the session.
fn exchange(server: &mut Recorded, mut exchange: CodeExchange) -> Result<Session, Error> {
    let mut retried = false;
    loop {
        let mut request = exchange.request().clone();
        if let Some(proof) = exchange.dpop_proof(NOW, &mut entropy())? {
            request = request.with_header("DPoP", exchange.sign_proof(proof)?);
        }
        let response = server.answer(request);
        if exchange.dpop_retry(&response, retried) {
            retried = true;
            continue;
        }
        return exchange.on_response(&response, NOW);
    }
}

#[test]
fn a_sign_in_awaiting_its_callback_survives_a_json_round_trip_and_completes() {
    let mut server = dynamic_server();
    let waiting = awaiting(&mut server, dynamic(config()));
    let url = waiting.authorization_url();
    let stored = serde_json::to_string(&waiting).unwrap();
    let flow_json =
        serde_json::to_string(&authorizing(&mut dynamic_server(), dynamic(config()))).unwrap();
    assert!(
        stored.len() < flow_json.len(),
        "only what finishing needs is kept: {} of {} bytes",
        stored.len(),
        flow_json.len()
    );

    // The callback page: only the JSON and the callback URL cross over.
    let mut resumed: AwaitingCallback = serde_json::from_str(&stored).unwrap();
    assert_eq!(resumed.authorization_url(), url);
    assert_eq!(resumed.redirect_uri(), REDIRECT);
    let callback = server.consent(&url, REDIRECT);
    let session = exchange(&mut server, resumed.on_callback(&callback, NOW).unwrap()).unwrap();
    assert_eq!(session.tokens.access_token, Secret::new("at-1"));
    assert_eq!(session.grant.issuer, ISSUER);
    let token = form(server.last_token_request());
    assert!(pkce::verify_s256(
        &token["code_verifier"],
        &server.authorize_params["code_challenge"]
    ));
    assert_eq!(resumed.pending_state(), None, "one callback is taken");
    assert_eq!(
        resumed.on_callback(&callback, NOW).unwrap_err().code(),
        "unexpected_event"
    );
}

#[test]
fn a_sign_in_awaiting_its_callback_ignores_a_wrong_state_and_ends_on_an_issuer_mix_up() {
    let mut server = dynamic_server();
    let mut waiting = awaiting(&mut server, dynamic(config()));
    let state = waiting.pending_state().unwrap().to_owned();
    for ignored in [
        format!("{REDIRECT}?code=stolen&state=forged"),
        format!("{REDIRECT}?code=x"),
    ] {
        let err = waiting.on_callback(&ignored, NOW).unwrap_err();
        assert_eq!(err.code(), "state_mismatch");
        assert_eq!(
            waiting.pending_state(),
            Some(state.as_str()),
            "still waiting"
        );
    }

    let mut metadata = as_metadata(ISSUER);
    metadata["authorization_response_iss_parameter_supported"] = json!(true);
    let mut server = dynamic_server().get(
        "https://auth.example.com/.well-known/oauth-authorization-server",
        metadata,
    );
    let mut waiting = awaiting(&mut server, dynamic(config()));
    server.callback_iss = Some("https://evil.example.com".into());
    let mixed_up = server.consent(&waiting.authorization_url(), REDIRECT);
    let err = waiting.on_callback(&mixed_up, NOW).unwrap_err();
    assert_eq!(err.code(), "issuer_mismatch");
    assert_eq!(waiting.pending_state(), None, "the sign-in ended");
    server.callback_iss = Some(ISSUER.into());
    let genuine = server.consent(&waiting.authorization_url(), REDIRECT);
    assert_eq!(
        waiting.on_callback(&genuine, NOW).unwrap_err().code(),
        "unexpected_event",
        "no code is used after a mix-up"
    );
    assert!(server.sent.iter().all(|r| r.purpose != Purpose::Token));
}

#[cfg(feature = "private-key-jwt")]
#[test]
fn a_dpop_sign_in_awaiting_its_callback_proves_its_exchange_with_the_key_it_began_with() {
    let mut server = dpop_server();
    let config = dpop_config();
    let key = config.dpop_key.clone().unwrap();
    let waiting = awaiting(&mut server, dynamic(config));
    let mut resumed: AwaitingCallback =
        serde_json::from_str(&serde_json::to_string(&waiting).unwrap()).unwrap();
    let callback = server.consent(&resumed.authorization_url(), REDIRECT);
    let session = exchange(&mut server, resumed.on_callback(&callback, NOW).unwrap()).unwrap();
    let request = server.last_token_request();
    assert_eq!(proof_header(request)["jwk"], json!(key.public_jwk));
    assert_eq!(
        proof_claims(request)["htu"],
        "https://auth.example.com/token"
    );
    assert_eq!(
        session.dpop.map(|binding| binding.key.public_jwk),
        Some(key.public_jwk),
        "the session keeps the key for its refreshes"
    );
}

#[test]
fn flows_do_not_take_events_they_are_not_waiting_for() {
    let mut flow = dynamic(config());
    let err = flow
        .on_callback("http://127.0.0.1:33418/callback?code=x&state=y", NOW)
        .unwrap_err();
    assert_eq!(err.code(), "unexpected_event");
    assert!(
        matches!(flow.next_action(), Action::Send(_)),
        "the flow is unharmed"
    );
}

#[test]
fn invalid_configuration_is_rejected_up_front() {
    let cases = [
        DynamicConfig::new("not a url", REDIRECT, "x"),
        DynamicConfig::new("http://mcp.example.com/mcp", REDIRECT, "x"),
        DynamicConfig::new(SERVER, "http://evil.example.com/callback", "x"),
        DynamicConfig::new(SERVER, "http://127.0.0.1:1/callback#frag", "x"),
    ];
    for config in cases {
        let err = DynamicFlow::new(config.clone(), &mut entropy()).unwrap_err();
        assert_eq!(err.code(), "invalid_config", "{config:?}");
    }
}

// ---- manual flow ----

fn manual_config(secret: Option<&str>, method: Option<AuthMethod>) -> ManualConfig {
    ManualConfig {
        client_id: "figma-app".into(),
        client_secret: secret.map(Secret::new),
        authorization_endpoint: "https://www.figma.example/oauth".into(),
        token_endpoint: "https://api.figma.example/v1/oauth/token".into(),
        scopes: Some("files:read".into()),
        redirect_uri: REDIRECT.into(),
        server_url: Some("https://mcp.figma.example/mcp".into()),
        auth_method: method,
        issuer: None,
    }
}

fn manual_server() -> Recorded {
    Recorded::new().post("https://api.figma.example/v1/oauth/token", 200, tokens())
}

fn manual(config: ManualConfig) -> Flow {
    ManualFlow::new(config, &mut entropy()).unwrap().into()
}

#[test]
fn manual_flow_with_client_secret_basic() {
    let mut server = manual_server();
    let session = server
        .drive(&mut manual(manual_config(Some("s3cret"), None)))
        .unwrap();
    // No issuer given: the authorization URL's issuers are looked up first, and
    // only without any metadata does the RFC default (Basic) apply.
    assert_eq!(
        server.urls(),
        [
            "GET https://www.figma.example/.well-known/oauth-authorization-server",
            "GET https://www.figma.example/.well-known/openid-configuration",
            "GET https://www.figma.example/.well-known/oauth-authorization-server/oauth",
            "GET https://www.figma.example/.well-known/openid-configuration/oauth",
            "GET https://www.figma.example/oauth/.well-known/openid-configuration",
            "POST https://api.figma.example/v1/oauth/token",
        ]
    );
    let request = server.last_token_request();
    let token = form(request);
    assert!(request
        .header("Authorization")
        .unwrap()
        .starts_with("Basic "));
    assert!(!token.contains_key("client_secret"));
    assert_eq!(token["resource"], "https://mcp.figma.example/mcp");
    assert_eq!(server.authorize_params["scope"], "files:read");
    assert_eq!(server.authorize_params["client_id"], "figma-app");
    assert_eq!(
        session.grant.client.auth_method,
        AuthMethod::ClientSecretBasic
    );
}

#[test]
fn manual_flow_with_client_secret_post() {
    let mut server = manual_server();
    server
        .drive(&mut manual(manual_config(
            Some("s3cret"),
            Some(AuthMethod::ClientSecretPost),
        )))
        .unwrap();
    let request = server.last_token_request();
    let token = form(request);
    assert_eq!(request.header("Authorization"), None);
    assert_eq!(token["client_id"], "figma-app");
    assert_eq!(token["client_secret"], "s3cret");
}

#[test]
fn manual_flow_with_a_public_client() {
    let mut server = manual_server();
    server
        .drive(&mut manual(manual_config(None, None)))
        .unwrap();
    let request = server.last_token_request();
    let token = form(request);
    assert_eq!(request.header("Authorization"), None);
    assert_eq!(token["client_id"], "figma-app");
    assert!(!token.contains_key("client_secret"));
}

#[test]
fn manual_flow_picks_the_advertised_method_from_one_metadata_lookup() {
    let issuer = "https://api.figma.example";
    let mut metadata = as_metadata(issuer);
    metadata["authorization_endpoint"] = json!("https://www.figma.example/oauth");
    metadata["token_endpoint"] = json!("https://api.figma.example/v1/oauth/token");
    metadata["token_endpoint_auth_methods_supported"] = json!(["client_secret_post"]);
    let mut server = manual_server().get(
        "https://api.figma.example/.well-known/oauth-authorization-server",
        metadata,
    );
    let mut config = manual_config(Some("s3cret"), None);
    config.issuer = Some(issuer.into());
    let mut flow = ManualFlow::new(config, &mut entropy()).unwrap();
    assert_eq!(flow.secret_requirement(), None, "unknown before the lookup");
    let mut wrapped = Flow::from(flow.clone());
    let session = server.drive(&mut wrapped).unwrap();
    assert_eq!(
        session.grant.client.auth_method,
        AuthMethod::ClientSecretPost
    );
    assert_eq!(
        server
            .sent
            .iter()
            .filter(|r| r.method == Method::Get)
            .count(),
        1
    );

    // The same lookup tells a UI that this server insists on a secret.
    let Action::Send(request) = flow.next_action() else {
        panic!()
    };
    flow.on_response(server.answer(request), NOW).unwrap();
    assert_eq!(
        flow.secret_requirement(),
        Some(crate::client_auth::SecretRequirement::Required)
    );
}

#[test]
fn manual_flow_without_an_issuer_finds_a_post_only_server_from_its_authorization_url() {
    // oidc-provider's layout: issuer at the origin, endpoints below it, metadata
    // only at the OIDC well-known URL, client_secret_post only.
    let issuer = "http://127.0.0.1:4000";
    let mut metadata = as_metadata(issuer);
    metadata["authorization_endpoint"] = json!("http://127.0.0.1:4000/auth");
    metadata["token_endpoint"] = json!("http://127.0.0.1:4000/token");
    metadata["token_endpoint_auth_methods_supported"] = json!(["client_secret_post"]);
    metadata["authorization_response_iss_parameter_supported"] = json!(true);
    let mut server = Recorded::new()
        .get(
            "http://127.0.0.1:4000/.well-known/openid-configuration",
            metadata,
        )
        .post("http://127.0.0.1:4000/token", 200, tokens());
    server.callback_iss = Some(issuer.into());
    let mut config = manual_config(Some("s3cret"), None);
    config.authorization_endpoint = "http://127.0.0.1:4000/auth".into();
    config.token_endpoint = "http://127.0.0.1:4000/token".into();
    let session = server.drive(&mut manual(config)).unwrap();
    assert_eq!(
        server.urls(),
        [
            "GET http://127.0.0.1:4000/.well-known/oauth-authorization-server",
            "GET http://127.0.0.1:4000/.well-known/openid-configuration",
            "POST http://127.0.0.1:4000/token",
        ]
    );
    let request = server.last_token_request();
    assert_eq!(request.header("Authorization"), None);
    assert_eq!(form(request)["client_secret"], "s3cret");
    assert_eq!(
        session.grant.client.auth_method,
        AuthMethod::ClientSecretPost
    );
    assert_eq!(
        session.grant.issuer, issuer,
        "the issuer found is the grant's"
    );
}

#[test]
fn manual_flow_goes_on_without_metadata_it_cannot_reach() {
    let mut flow = manual(manual_config(Some("s3cret"), None));
    let mut lookups = 0;
    while let Action::Send(request) = flow.next_action() {
        if request.purpose != Purpose::AuthorizationServerMetadata {
            break;
        }
        lookups += 1;
        assert!(flow.on_unreachable(), "a metadata lookup may fail");
    }
    assert_eq!(lookups, 5);
    assert!(matches!(flow.next_action(), Action::Authorize { .. }));
    assert!(
        !flow.on_unreachable(),
        "waiting for the callback: the host reports it"
    );
}

#[test]
fn manual_flow_ignores_metadata_that_describes_other_endpoints() {
    // The origin serves another server's metadata (another tenant): not used.
    let mut metadata = as_metadata("https://www.figma.example");
    metadata["token_endpoint_auth_methods_supported"] = json!(["client_secret_post"]);
    let mut server = manual_server().get(
        "https://www.figma.example/.well-known/oauth-authorization-server",
        metadata,
    );
    let session = server
        .drive(&mut manual(manual_config(Some("s3cret"), None)))
        .unwrap();
    assert_eq!(
        session.grant.client.auth_method,
        AuthMethod::ClientSecretBasic
    );
}

#[test]
fn manual_flow_without_a_secret_where_one_is_required_says_so() {
    let issuer = "https://api.figma.example";
    let mut metadata = as_metadata(issuer);
    metadata["token_endpoint_auth_methods_supported"] = json!(["client_secret_basic"]);
    let mut server = manual_server().get(
        "https://api.figma.example/.well-known/oauth-authorization-server",
        metadata,
    );
    let mut config = manual_config(None, None);
    config.issuer = Some(issuer.into());
    let err = server.drive(&mut manual(config)).unwrap_err();
    assert_eq!(err.code(), "client_secret_required");
}

#[test]
fn manual_flow_rejects_insecure_or_malformed_endpoints() {
    let mut bad_token = manual_config(None, None);
    bad_token.token_endpoint = "http://api.figma.example/token".into();
    let mut bad_auth = manual_config(None, None);
    bad_auth.authorization_endpoint = "javascript:alert(1)".into();
    let mut empty_id = manual_config(None, None);
    empty_id.client_id = "  ".into();
    for config in [bad_token, bad_auth, empty_id] {
        assert_eq!(
            ManualFlow::new(config, &mut entropy()).unwrap_err().code(),
            "invalid_config"
        );
    }
}

#[test]
fn manual_token_errors_are_typed() {
    let mut server = Recorded::new().post(
        "https://api.figma.example/v1/oauth/token",
        400,
        json!({ "error": "invalid_grant", "error_description": "code expired" }),
    );
    let err = server
        .drive(&mut manual(manual_config(None, None)))
        .unwrap_err();
    assert_eq!(err.code(), "invalid_grant");
}

#[cfg(feature = "private-key-jwt")]
#[test]
fn a_client_credentials_only_as_gets_the_client_credentials_grant_signed_with_the_key() {
    let mut metadata = as_metadata(ISSUER);
    metadata["grant_types_supported"] = json!(["client_credentials"]);
    metadata["token_endpoint_auth_methods_supported"] = json!(["private_key_jwt"]);
    let mut server = dynamic_server()
        .get(
            "https://auth.example.com/.well-known/oauth-authorization-server",
            metadata,
        )
        .post(
            "https://auth.example.com/token",
            200,
            json!({ "access_token": "cc-1", "token_type": "Bearer", "expires_in": 3600 }),
        );
    let mut config = config();
    config.clients = vec![PreRegisteredClient {
        issuer: None,
        client_id: "machine".into(),
        client_secret: None,
        auth_method: None,
        private_key: Some(crate::client_auth::ClientKey {
            algorithm: crate::client_auth::SigningAlgorithm::ES256,
            private_key_pem: Secret::new(crate::client_auth::TEST_KEY_PEM),
            key_id: None,
        }),
    }];
    let session = server.drive(&mut dynamic(config)).unwrap();
    assert!(
        server.authorize_params.is_empty(),
        "no browser for a machine client"
    );
    assert_eq!(
        session.grant.grant_type,
        crate::session::GrantType::ClientCredentials
    );
    assert_eq!(session.grant.client.auth_method, AuthMethod::PrivateKeyJwt);
    let sent = form(server.last_token_request());
    assert_eq!(sent["grant_type"], "client_credentials");
    assert_eq!(sent["resource"], SERVER);
    assert_eq!(sent["scope"], "mcp:read");
    assert_eq!(
        sent["client_assertion_type"],
        crate::client_auth::JWT_BEARER_ASSERTION_TYPE
    );
    assert_eq!(sent["client_assertion"].split('.').count(), 3);
    assert!(server
        .sent
        .iter()
        .all(|r| r.purpose != Purpose::Registration));

    // No refresh token, yet the session renews itself: by asking again.
    assert_eq!(
        session.decide(NOW + 3600),
        crate::session::TokenDecision::Refresh
    );
    let renewal = session.refresh_request_at(NOW + 3600).unwrap();
    assert_eq!(form(&renewal)["grant_type"], "client_credentials");
    assert!(matches!(
        session.refresh_request(),
        Err(Error::Token(crate::token::TokenError::ClientAuth(
            crate::client_auth::ClientAuthError::TimeRequired
        )))
    ));
}

#[test]
fn a_client_credentials_only_as_with_a_basic_secret() {
    let mut metadata = as_metadata(ISSUER);
    metadata["grant_types_supported"] = json!(["client_credentials"]);
    metadata["token_endpoint_auth_methods_supported"] = json!(["client_secret_basic"]);
    let mut server = dynamic_server().get(
        "https://auth.example.com/.well-known/oauth-authorization-server",
        metadata,
    );
    let mut config = config();
    config.clients = vec![PreRegisteredClient {
        issuer: Some(ISSUER.into()),
        client_id: "machine".into(),
        client_secret: Some(Secret::new("s3")),
        auth_method: None,
        private_key: None,
    }];
    let session = server.drive(&mut dynamic(config)).unwrap();
    assert_eq!(
        session.grant.grant_type,
        crate::session::GrantType::ClientCredentials
    );
    let request = server.last_token_request();
    assert_eq!(form(request)["grant_type"], "client_credentials");
    assert!(request
        .header("Authorization")
        .unwrap()
        .starts_with("Basic "));
}

#[cfg(feature = "private-key-jwt")]
/// The claims of the DPoP proof a request carried.
fn proof_claims(request: &HttpRequest) -> Value {
    use base64::Engine as _;
    let jwt = request.header("DPoP").expect("a DPoP proof");
    let claims = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
    .unwrap()
}

/// The resource's `401` when it takes DPoP-bound tokens as well as Bearer ones.
fn dpop_probe() -> HttpResponse {
    unauthorized(
        r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="mcp:read", DPoP algs="ES256""#,
    )
}

/// A server whose authorization server and resource both take DPoP: the resource
/// also challenges with the `DPoP` scheme (RFC 9449 §7.1).
fn dpop_server() -> Recorded {
    dynamic_server()
        .route(Method::Post, SERVER, dpop_probe())
        .get(
            "https://auth.example.com/.well-known/oauth-authorization-server",
            dpop_metadata(),
        )
}

#[cfg(feature = "private-key-jwt")]
#[test]
fn a_dpop_authorization_server_in_front_of_a_bearer_only_resource_gets_bearer_requests() {
    // oidc-provider offers DPoP by default; the MCP server behind it may take
    // only Bearer tokens, and a bound token would be refused there.
    let mut server = dynamic_server().get(
        "https://auth.example.com/.well-known/oauth-authorization-server",
        dpop_metadata(),
    );
    let session = server.drive(&mut dynamic(dpop_config())).unwrap();
    assert!(server.sent.iter().all(|r| r.header("DPoP").is_none()));
    let registration: Value = serde_json::from_slice(&server.sent[3].body).unwrap();
    assert_ne!(registration["dpop_bound_access_tokens"], true);
    assert!(session.dpop.is_none());
}

#[cfg(feature = "private-key-jwt")]
#[test]
fn a_resource_listing_dpop_in_its_metadata_gets_bound_tokens() {
    let mut prm = prm(SERVER, ISSUER);
    prm["dpop_signing_alg_values_supported"] = json!(["ES256"]);
    let mut server = dynamic_server()
        .get(
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
            prm,
        )
        .get(
            "https://auth.example.com/.well-known/oauth-authorization-server",
            dpop_metadata(),
        )
        .post(
            "https://auth.example.com/token",
            200,
            json!({ "access_token": "at-1", "token_type": "DPoP", "expires_in": 3600 }),
        );
    let session = server.drive(&mut dynamic(dpop_config())).unwrap();
    assert!(server.last_token_request().header("DPoP").is_some());
    assert!(session.dpop.is_some());
}

fn dpop_metadata() -> Value {
    let mut metadata = as_metadata(ISSUER);
    metadata["dpop_signing_alg_values_supported"] = json!(["RS256", "ES256"]);
    metadata
}

#[cfg(feature = "private-key-jwt")]
fn dpop_config() -> DynamicConfig {
    let mut config = config();
    config.dpop_key = Some(crate::dpop::DpopKey::generate(&mut entropy()).unwrap());
    config
}

#[cfg(feature = "private-key-jwt")]
#[test]
fn a_dpop_server_gets_proven_token_requests_and_a_bound_session() {
    const TOKEN: &str = "https://auth.example.com/token";
    let nonce_challenge = HttpResponse::new(
        400,
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("DPoP-Nonce".into(), "as-nonce-1".into()),
        ],
        r#"{"error":"use_dpop_nonce","error_description":"nonce required"}"#,
    );
    let mut server = dpop_server()
        .once(Method::Post, TOKEN, nonce_challenge)
        .post(
            TOKEN,
            200,
            json!({ "access_token": "at-1", "token_type": "DPoP", "expires_in": 3600, "refresh_token": "rt-1" }),
        );
    let config = dpop_config();
    let key = config.dpop_key.clone().unwrap();
    let session = server.drive(&mut dynamic(config)).unwrap();

    // The registration says the client always uses DPoP (RFC 9449 §5.2).
    let registration: Value = serde_json::from_slice(&server.sent[3].body).unwrap();
    assert_eq!(registration["dpop_bound_access_tokens"], true);
    // Only the token endpoint sees proofs; the nonce challenge is retried once.
    let token_requests: Vec<&HttpRequest> = server
        .sent
        .iter()
        .filter(|r| r.purpose == Purpose::Token)
        .collect();
    assert_eq!(token_requests.len(), 2);
    assert!(server
        .sent
        .iter()
        .filter(|r| r.purpose != Purpose::Token)
        .all(|r| r.header("DPoP").is_none()));
    let (first, retry) = (
        proof_claims(token_requests[0]),
        proof_claims(token_requests[1]),
    );
    assert_eq!(first["htm"], "POST");
    assert_eq!(first["htu"], TOKEN);
    assert_eq!(first["iat"], NOW);
    assert!(first.get("nonce").is_none() && first.get("ath").is_none());
    assert_eq!(retry["nonce"], "as-nonce-1");
    assert_ne!(first["jti"], retry["jti"], "a fresh proof for the retry");

    // The session is bound to the key and keeps the nonce for its refreshes.
    assert!(session.tokens.is_dpop());
    assert_eq!(session.authorization().expose(), "DPoP at-1");
    let binding = session.dpop.as_ref().unwrap();
    assert_eq!(binding.key, key);
    let refresh = session.refresh_request_at(NOW + 3600).unwrap();
    let proof = session
        .token_proof(&refresh, NOW + 3600, &mut entropy())
        .unwrap()
        .unwrap();
    let refresh = refresh.with_header("DPoP", session.sign_proof(proof).unwrap());
    assert_eq!(proof_claims(&refresh)["nonce"], "as-nonce-1");
    // A resource request: `ath`, and no nonce from another origin.
    let url = Url::parse(SERVER).unwrap();
    let proof = session
        .resource_proof("POST", &url, Some(b"{}"), NOW, &mut entropy())
        .unwrap()
        .unwrap();
    let request = HttpRequest::get(url, Purpose::Probe)
        .with_header("DPoP", session.sign_proof(proof).unwrap());
    let claims = proof_claims(&request);
    assert_eq!(
        claims["ath"],
        crate::dpop::access_token_hash(&Secret::new("at-1"))
    );
    assert!(claims.get("nonce").is_none());

    // The binding survives the store.
    let restored: Session =
        serde_json::from_str(&serde_json::to_string(&session).unwrap()).unwrap();
    assert_eq!(restored, session);
}

#[cfg(feature = "private-key-jwt")]
/// The header of the DPoP proof a request carried.
fn proof_header(request: &HttpRequest) -> Value {
    use base64::Engine as _;
    let jwt = request.header("DPoP").expect("a DPoP proof");
    let header = jwt.split('.').next().unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap(),
    )
    .unwrap()
}

#[cfg(feature = "private-key-jwt")]
#[test]
fn a_pending_sign_in_keeps_the_dpop_key_it_began_with_stored_or_sealed() {
    use crate::pending::{PendingSignIn, MAX_SEALED_STATE_LEN};
    use crate::seal::{SealKey, SealKeys};
    const TOKEN: &str = "https://auth.example.com/token";
    const LATER: u64 = NOW + 30;
    let nonce_challenge = HttpResponse::new(
        400,
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("DPoP-Nonce".into(), "as-nonce-1".into()),
        ],
        r#"{"error":"use_dpop_nonce"}"#,
    );
    let config = dpop_config();
    let key = config.dpop_key.clone().unwrap();
    let private = key.private_key.clone().unwrap();
    let seal_keys = SealKeys::new([SealKey::new("k1", &[7; 32]).unwrap()]).unwrap();
    for sealed in [false, true] {
        let mut server = dpop_server()
            .once(Method::Post, TOKEN, nonce_challenge.clone())
            .post(
                TOKEN,
                200,
                json!({ "access_token": "at-1", "token_type": "DPoP", "expires_in": 3600 }),
            );
        // `begin`: discovery and registration (which promises DPoP), then the
        // grant leaves its flow to wait for the callback.
        let mut flow = dynamic(config.clone());
        let redirect_uri = loop {
            match flow.next_action() {
                Action::Send(request) => flow.on_response(server.answer(request), NOW).unwrap(),
                Action::Authorize { redirect_uri, .. } => break redirect_uri,
                other => panic!("unexpected {other:?}"),
            }
        };
        let registration: Value = serde_json::from_slice(&server.sent[3].body).unwrap();
        assert_eq!(registration["dpop_bound_access_tokens"], true);
        let record =
            PendingSignIn::new(flow.into_code_grant().unwrap(), (), "user-42", NOW, 600).unwrap();
        // Kept across instances: as a stored record, or sealed into `state`
        // (the private key with it, never in the clear).
        let (state, record) = if sealed {
            let state = record.seal(&seal_keys, &mut entropy()).unwrap();
            assert!(state.len() <= MAX_SEALED_STATE_LEN, "{}", state.len());
            assert!(!state.contains(private.expose()));
            let opened = PendingSignIn::<()>::unseal(&state, &seal_keys).unwrap();
            (state, opened)
        } else {
            let state = record.stored_state().to_owned();
            let json = record.to_json().unwrap();
            (state, PendingSignIn::<()>::from_json(&json).unwrap())
        };
        // `complete`, elsewhere: the exchange is proven with the same key, and
        // the token endpoint's nonce challenge is answered once.
        let callback = server.consent(&record.authorization_url(&state), &redirect_uri);
        let ((), mut exchange) = record
            .complete(&callback, &state, "user-42", LATER)
            .unwrap();
        let sent_before = server.sent.len();
        let mut retried = false;
        let response = loop {
            let proof = exchange.dpop_proof(LATER, &mut entropy()).unwrap();
            let jwt = exchange.sign_proof(proof.expect("a proof")).unwrap();
            let response = server.answer(exchange.request().clone().with_header("DPoP", jwt));
            if exchange.dpop_retry(&response, retried) {
                retried = true;
                continue;
            }
            break response;
        };
        let exchanges = &server.sent[sent_before..];
        assert_eq!(exchanges.len(), 2, "one nonce retry");
        for request in exchanges {
            assert_eq!(proof_header(request)["jwk"], json!(key.public_jwk));
            assert_eq!(proof_claims(request)["htu"], TOKEN);
            assert_eq!(proof_claims(request)["iat"], LATER);
        }
        assert!(proof_claims(&exchanges[0]).get("nonce").is_none());
        assert_eq!(proof_claims(&exchanges[1])["nonce"], "as-nonce-1");
        let session = exchange.on_response(&response, LATER).unwrap();
        assert_eq!(session.authorization().expose(), "DPoP at-1");
        assert_eq!(session.dpop.expect("bound").key, key);
    }
}

#[cfg(feature = "private-key-jwt")]
#[test]
fn a_server_without_dpop_gets_no_proofs_even_when_a_key_is_offered() {
    let mut server = dynamic_server();
    let session = server.drive(&mut dynamic(dpop_config())).unwrap();
    assert!(server.sent.iter().all(|r| r.header("DPoP").is_none()));
    let registration: Value = serde_json::from_slice(&server.sent[3].body).unwrap();
    assert!(registration.get("dpop_bound_access_tokens").is_none());
    assert!(session.dpop.is_none());
    assert_eq!(session.authorization().expose(), "Bearer at-1");
    let url = Url::parse(SERVER).unwrap();
    assert_eq!(
        session
            .resource_proof("POST", &url, None, NOW, &mut entropy())
            .unwrap(),
        None
    );
}

#[test]
fn without_a_key_a_dpop_server_gets_bearer_requests_and_a_dpop_token_is_refused() {
    let mut server = dpop_server().post(
        "https://auth.example.com/token",
        200,
        json!({ "access_token": "at-1", "token_type": "DPoP" }),
    );
    let err = server.drive(&mut dynamic(config())).unwrap_err();
    assert!(server.sent.iter().all(|r| r.header("DPoP").is_none()));
    assert_eq!(err.code(), "invalid_token_response");
}

#[cfg(feature = "private-key-jwt")]
#[test]
fn a_server_that_keeps_asking_for_a_nonce_is_answered_once() {
    let challenge = || {
        HttpResponse::new(
            400,
            vec![("DPoP-Nonce".into(), "n".into())],
            r#"{"error":"use_dpop_nonce"}"#,
        )
    };
    let mut server =
        dpop_server().route(Method::Post, "https://auth.example.com/token", challenge());
    let err = server.drive(&mut dynamic(dpop_config())).unwrap_err();
    assert_eq!(
        server
            .sent
            .iter()
            .filter(|r| r.purpose == Purpose::Token)
            .count(),
        2
    );
    assert_eq!(err.code(), "token_rejected");
}

/// Workload identity and enterprise-managed authorization (`assertion-grants`).
#[cfg(feature = "assertion-grants")]
mod assertion_grants {
    use super::*;

    fn assertion_metadata(auth_methods: Value) -> Value {
        let mut metadata = as_metadata(ISSUER);
        metadata["grant_types_supported"] = json!([crate::assertion::JWT_BEARER_GRANT]);
        metadata["token_endpoint_auth_methods_supported"] = auth_methods;
        metadata
    }

    fn assertion_server(metadata: Value) -> Recorded {
        dynamic_server()
            .get(
                "https://auth.example.com/.well-known/oauth-authorization-server",
                metadata,
            )
            .post(
                "https://auth.example.com/token",
                200,
                json!({ "access_token": "at-1", "token_type": "Bearer", "expires_in": 3600 }),
            )
    }

    #[test]
    fn workload_identity_presents_the_assertion_without_a_client_or_a_browser() {
        let mut metadata = assertion_metadata(json!(["none"]));
        metadata
            .as_object_mut()
            .unwrap()
            .remove("registration_endpoint");
        let mut server = assertion_server(metadata);
        let mut config = config();
        config.assertion_grant = Some(crate::assertion::AssertionGrant::workload(
            "eyJ.workload.jwt",
        ));
        let session = server.drive(&mut dynamic(config)).unwrap();

        assert!(server.authorize_params.is_empty(), "no browser");
        assert_eq!(
            server.urls(),
            [
                "POST https://mcp.example.com/mcp",
                "GET https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
                "GET https://auth.example.com/.well-known/oauth-authorization-server",
                "POST https://auth.example.com/token",
            ]
        );
        let sent = form(server.last_token_request());
        assert_eq!(
            sent,
            [
                ("grant_type", crate::assertion::JWT_BEARER_GRANT),
                ("assertion", "eyJ.workload.jwt"),
                ("scope", "mcp:read"),
                ("resource", SERVER),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<BTreeMap<_, _>>(),
            "no client_id: the assertion is the credential"
        );
        assert_eq!(
            session.grant.grant_type,
            crate::session::GrantType::JwtBearer
        );
        assert!(crate::assertion::is_anonymous(&session.grant.client));
        // Without a refresh token, renewal is a new assertion: the host signs in again.
        assert_eq!(
            session.decide(NOW + 3600),
            crate::session::TokenDecision::ReconnectNeeded
        );
    }

    #[test]
    fn workload_identity_names_a_pre_registered_client_and_never_registers() {
        let mut server = assertion_server(assertion_metadata(json!(["none"])));
        let mut config = config();
        config.assertion_grant = Some(crate::assertion::AssertionGrant::workload("jwt"));
        config.clients = vec![PreRegisteredClient {
            issuer: None,
            client_id: "conformance-wif-workload".into(),
            client_secret: None,
            auth_method: None,
            private_key: None,
        }];
        server.drive(&mut dynamic(config.clone())).unwrap();
        assert_eq!(
            form(server.last_token_request())["client_id"],
            "conformance-wif-workload"
        );
        // Open registration is not used for a workload without a client either.
        let mut server = assertion_server(assertion_metadata(json!(["none"])));
        config.clients.clear();
        server.drive(&mut dynamic(config)).unwrap();
        assert!(server
            .sent
            .iter()
            .all(|r| r.purpose != Purpose::Registration));
    }

    #[test]
    fn an_authorization_server_without_the_jwt_bearer_grant_is_refused_up_front() {
        let mut metadata = as_metadata(ISSUER);
        metadata["grant_types_supported"] = json!(["authorization_code", "refresh_token"]);
        let mut server = assertion_server(metadata);
        let mut config = config();
        config.assertion_grant = Some(crate::assertion::AssertionGrant::workload("jwt"));
        let err = server.drive(&mut dynamic(config)).unwrap_err();
        assert_eq!(err.code(), "grant_not_supported");
        assert!(server.sent.iter().all(|r| r.purpose != Purpose::Token));
    }

    const IDP_TOKEN: &str = "https://idp.example.com/oauth2/token";

    fn enterprise_config() -> DynamicConfig {
        let mut config = config();
        config.assertion_grant = Some(crate::assertion::AssertionGrant::Enterprise(
            crate::assertion::EnterpriseIdp {
                token_endpoint: IDP_TOKEN.into(),
                client_id: "idp-client".into(),
                client_secret: None,
                auth_method: None,
                id_token: Secret::new("the-id-token"),
            },
        ));
        // A client with a secret is bound to its issuer (the secret goes nowhere else).
        config.clients = vec![PreRegisteredClient {
            issuer: Some(ISSUER.into()),
            client_id: "mcp-client".into(),
            client_secret: Some(Secret::new("mcp-secret")),
            auth_method: None,
            private_key: None,
        }];
        config
    }

    fn id_jag_answer() -> Value {
        json!({
            "issued_token_type": crate::assertion::ID_JAG_TOKEN_TYPE,
            "access_token": "the-id-jag",
            "token_type": "N_A",
            "expires_in": 300,
        })
    }

    #[test]
    fn enterprise_managed_authorization_exchanges_the_id_token_then_presents_the_id_jag() {
        let mut server = assertion_server(assertion_metadata(json!(["client_secret_basic"]))).post(
            IDP_TOKEN,
            200,
            id_jag_answer(),
        );
        let session = server.drive(&mut dynamic(enterprise_config())).unwrap();

        assert_eq!(
            server.urls(),
            [
                "POST https://mcp.example.com/mcp",
                "GET https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
                "GET https://auth.example.com/.well-known/oauth-authorization-server",
                "POST https://idp.example.com/oauth2/token",
                "POST https://auth.example.com/token",
            ]
        );
        let exchange = form(&server.sent[3]);
        assert_eq!(
            exchange["grant_type"],
            crate::assertion::TOKEN_EXCHANGE_GRANT
        );
        assert_eq!(
            exchange["requested_token_type"],
            crate::assertion::ID_JAG_TOKEN_TYPE
        );
        assert_eq!(exchange["audience"], ISSUER);
        assert_eq!(exchange["resource"], SERVER);
        assert_eq!(exchange["subject_token"], "the-id-token");
        assert_eq!(
            exchange["subject_token_type"],
            crate::assertion::ID_TOKEN_TYPE
        );
        assert_eq!(exchange["client_id"], "idp-client");
        // The MCP client authenticates at the MCP server's AS with its own credentials.
        let bearer_grant = server.last_token_request();
        assert!(bearer_grant
            .header("Authorization")
            .unwrap()
            .starts_with("Basic "));
        let sent = form(bearer_grant);
        assert_eq!(sent["grant_type"], crate::assertion::JWT_BEARER_GRANT);
        assert_eq!(sent["assertion"], "the-id-jag");
        assert_eq!(sent["resource"], SERVER);
        assert_eq!(session.grant.client.client_id, "mcp-client");
        assert_eq!(
            session.grant.grant_type,
            crate::session::GrantType::JwtBearer
        );
    }

    #[test]
    fn a_refused_token_exchange_stops_before_the_authorization_server() {
        let mut server = assertion_server(assertion_metadata(json!(["client_secret_basic"]))).post(
            IDP_TOKEN,
            400,
            json!({ "error": "invalid_grant", "error_description": "user not assigned" }),
        );
        let err = server.drive(&mut dynamic(enterprise_config())).unwrap_err();
        assert_eq!(err.code(), "invalid_grant");
        assert_eq!(
            server.sent.last().unwrap().url.as_str(),
            IDP_TOKEN,
            "the AS never sees a token request"
        );
    }

    #[cfg(feature = "private-key-jwt")]
    #[test]
    fn with_dpop_only_the_authorization_servers_token_endpoint_gets_proofs() {
        let mut metadata = assertion_metadata(json!(["client_secret_basic"]));
        metadata["dpop_signing_alg_values_supported"] = json!(["ES256"]);
        let mut server = assertion_server(metadata)
            .route(Method::Post, SERVER, dpop_probe())
            .post(IDP_TOKEN, 200, id_jag_answer())
            .post(
                "https://auth.example.com/token",
                200,
                json!({ "access_token": "at-1", "token_type": "DPoP", "expires_in": 3600 }),
            );
        let mut config = enterprise_config();
        config.dpop_key = dpop_config().dpop_key;
        let session = server.drive(&mut dynamic(config)).unwrap();
        let idp = server
            .sent
            .iter()
            .find(|r| r.url.as_str() == IDP_TOKEN)
            .unwrap();
        assert!(idp.header("DPoP").is_none());
        assert_eq!(
            proof_claims(server.last_token_request())["htu"],
            "https://auth.example.com/token"
        );
        assert!(session.tokens.is_dpop());
    }
}

/// A sign-in against [`dynamic_server`], with what it discovered, and the step-up
/// configuration a host builds from a 403 naming `scope` and `resource_metadata`.
fn signed_in_then_challenged(resource_metadata: &str) -> (Discovered, DynamicConfig) {
    let mut server = dynamic_server();
    let mut flow = dynamic(config());
    let session = server.drive(&mut flow).unwrap();
    let discovered = flow
        .discovered()
        .expect("a dynamic flow with PRM discovers");
    assert_eq!(discovered.at, NOW);
    assert_eq!(
        discovered.resource_metadata_url.as_str(),
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    );
    let mut step_up = config();
    step_up.challenge = Some(BearerChallenge {
        error: Some("insufficient_scope".into()),
        scope: Some("mcp:write".into()),
        resource_metadata: Some(resource_metadata.into()),
        ..BearerChallenge::default()
    });
    step_up.scope = crate::scope::union(session.grant.scope.as_deref(), Some("mcp:write"));
    let client = session.grant.client;
    step_up.clients = vec![PreRegisteredClient {
        issuer: Some(client.issuer),
        client_id: client.client_id,
        client_secret: client.client_secret,
        auth_method: Some(client.auth_method),
        private_key: None,
    }];
    (discovered, step_up)
}

#[test]
fn a_step_up_moments_after_discovery_fetches_no_metadata_again() {
    let (discovered, step_up) = signed_in_then_challenged(
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
    );
    let mut server = dynamic_server();
    let mut flow: Flow = DynamicFlow::reusing(step_up, discovered, &mut entropy(), NOW + 60)
        .unwrap()
        .into();
    let session = server.drive(&mut flow).unwrap();
    assert_eq!(
        server.urls(),
        ["POST https://auth.example.com/token"],
        "the browser trip and the code exchange, nothing else"
    );
    assert_eq!(
        server.authorize_params["scope"],
        "mcp:read offline_access mcp:write"
    );
    assert_eq!(session.grant.client.client_id, "dyn-client");
    // The reused metadata is handed on, with its original age.
    assert_eq!(flow.discovered().unwrap().at, NOW);
}

#[test]
fn a_step_up_discovers_again_when_the_metadata_is_stale_or_the_challenge_points_elsewhere() {
    let prm_url = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";
    let other_url = "https://mcp.example.com/.well-known/oauth-protected-resource";
    for (resource_metadata, now, case) in [
        (prm_url, NOW + DISCOVERY_REUSE_SECS + 1, "stale"),
        (other_url, NOW + 60, "another PRM"),
    ] {
        let (discovered, step_up) = signed_in_then_challenged(resource_metadata);
        let mut server = dynamic_server().get(other_url, prm(SERVER, ISSUER));
        let mut flow: Flow = DynamicFlow::reusing(step_up, discovered, &mut entropy(), now)
            .unwrap()
            .into();
        server.drive(&mut flow).unwrap();
        assert_eq!(
            server.urls(),
            [
                format!("GET {resource_metadata}"),
                "GET https://auth.example.com/.well-known/oauth-authorization-server".into(),
                "POST https://auth.example.com/token".into(),
            ],
            "{case}"
        );
    }
}

/// The hosts each of a hostile remote server's steering attempts names, and the
/// request the flow must never send.
#[test]
fn a_remote_server_cannot_steer_discovery_at_loopback() {
    // The 401 names an internal service as its metadata.
    let mut server = Recorded::new().route(
        Method::Post,
        SERVER,
        unauthorized(r#"Bearer resource_metadata="http://127.0.0.1:6379/admin?x=1""#),
    );
    let error = server.drive(&mut dynamic(config())).unwrap_err();
    assert_eq!(error.code(), "endpoint_not_allowed");
    assert!(
        !server.urls().iter().any(|u| u.contains("127.0.0.1")),
        "{:?}",
        server.urls()
    );

    // The metadata names a loopback authorization server.
    let mut server = dynamic_server().get(
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
        prm(SERVER, "http://localhost:8080"),
    );
    let error = server.drive(&mut dynamic(config())).unwrap_err();
    assert_eq!(error.code(), "endpoint_not_allowed");
    assert!(
        !server.urls().iter().any(|u| u.contains("localhost")),
        "{:?}",
        server.urls()
    );

    // An AS whose token endpoint is on loopback gets no code exchanged there.
    let mut metadata = as_metadata(ISSUER);
    metadata["token_endpoint"] = json!("https://127.0.0.1/token");
    let mut server = dynamic_server().get(
        "https://auth.example.com/.well-known/oauth-authorization-server",
        metadata,
    );
    let error = server.drive(&mut dynamic(config())).unwrap_err();
    assert_eq!(error.code(), "endpoint_not_allowed");
}

#[test]
fn the_public_only_policy_refuses_private_and_loopback_servers_before_any_request() {
    for server_url in [
        "http://127.0.0.1:3000/mcp",
        "https://10.0.0.8/mcp",
        "https://169.254.169.254/latest",
    ] {
        let mut config = DynamicConfig::new(server_url, "https://app.example.com/cb", "Web");
        config.network = crate::network::NetworkPolicy::PublicOnly;
        let error = DynamicFlow::new(config, &mut entropy()).unwrap_err();
        assert_eq!(error.code(), "endpoint_not_allowed", "{server_url}");
    }
    let mut config = config();
    config.network = crate::network::NetworkPolicy::PublicOnly;
    let mut server = dynamic_server().get(
        "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
        prm(SERVER, "https://192.168.1.1"),
    );
    assert_eq!(
        server.drive(&mut dynamic(config)).unwrap_err().code(),
        "endpoint_not_allowed"
    );
}

//! The toolkit driven through whole flows, with an in-memory "host" (three maps)
//! and a fixed clock and entropy, the way a real host would call it.

use super::*;
use crate::entropy::Entropy;
use crate::pkce;
use std::collections::HashMap;

const ISSUER: &str = "http://127.0.0.1:3000";
const MCP: &str = "http://127.0.0.1:3000/mcp";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn entropy() -> impl Entropy {
    let mut n = 0u8;
    move |buf: &mut [u8]| {
        n = n.wrapping_add(1);
        buf.fill(n);
    }
}

/// The app of issue 12: a hard-coded public `mcp-agent` on loopback.
fn mcp_agent() -> Client {
    Client::public(
        "mcp-agent",
        RedirectPolicy::any_loopback(["http://localhost", "http://127.0.0.1"]),
        ScopePolicy {
            allowed: Some(vec!["mcp".into(), "profile".into()]),
            default: vec!["mcp".into()],
            required: vec!["mcp".into()],
        },
    )
}

fn server() -> AuthorizationServer {
    let mut config = ServerConfig::new(
        ISSUER,
        format!("{ISSUER}/authorize"),
        format!("{ISSUER}/token"),
    );
    config.resources = ResourcePolicy {
        allowed: vec![MCP.into()],
        required: false,
    };
    config.code_lifetime_secs = 60;
    config.access_token_lifetime_secs = 600;
    AuthorizationServer::new(config).unwrap()
}

/// The host's storage.
#[derive(Default)]
struct Host {
    codes: HashMap<String, CodeRecord>,
    families: HashMap<String, RefreshFamily>,
    access: HashMap<String, AccessTokenRecord>,
}

impl Host {
    /// Fetches a code's record and marks it consumed in one step.
    fn take_code(&mut self, key: &str) -> Option<CodeRecord> {
        let record = self.codes.get_mut(key)?;
        let before = record.clone();
        record.consumed = true;
        Some(before)
    }

    fn store(&mut self, issued: &IssuedTokens) {
        self.access
            .insert(issued.access_key.clone(), issued.access.clone());
        if let Some(family) = &issued.family {
            self.families.insert(family.id.clone(), family.clone());
        }
    }

    fn revoke(&mut self, family_id: &str) {
        self.families.remove(family_id);
        self.access.retain(|_, a| a.family_id != family_id);
    }
}

fn authorize_query(redirect_uri: &str, scope: Option<&str>) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("response_type", "code")
        .append_pair("client_id", "mcp-agent")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", "st")
        .append_pair("code_challenge", &pkce::s256_challenge(VERIFIER))
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", MCP);
    if let Some(scope) = scope {
        query.append_pair("scope", scope);
    }
    query.finish()
}

fn authorize(
    server: &AuthorizationServer,
    query: &str,
) -> Result<AuthorizationRequest, AuthorizationRefusal> {
    let params = AuthorizationParams::from_query(query)?;
    let client = (params.client_id.as_deref() == Some("mcp-agent")).then(mcp_agent);
    server.validate_authorization_request(&params, client.as_ref())
}

fn param(url: &str, name: &str) -> Option<String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn token_request(body: &str) -> TokenRequest {
    TokenRequest::parse(
        Some("application/x-www-form-urlencoded"),
        None,
        body.as_bytes(),
    )
    .unwrap()
}

fn code_body(code: &str, redirect_uri: &str, verifier: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", code)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_verifier", verifier)
        .append_pair("client_id", "mcp-agent")
        .append_pair("resource", MCP)
        .finish()
}

fn refresh_body(refresh_token: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", refresh_token)
        .append_pair("client_id", "mcp-agent")
        .append_pair("resource", MCP)
        .finish()
}

/// Signs in through `redirect_uri`: authorize, approve, exchange.
fn sign_in(
    server: &AuthorizationServer,
    host: &mut Host,
    redirect_uri: &str,
    entropy: &mut dyn Entropy,
) -> IssuedTokens {
    let request = authorize(server, &authorize_query(redirect_uri, None)).unwrap();
    let issued = server
        .issue_code(&request, Some("alice".into()), 1_000, entropy)
        .unwrap();
    host.codes.insert(issued.key.clone(), issued.record.clone());
    let code = param(&issued.redirect_to, "code").unwrap();
    let token = token_request(&code_body(&code, redirect_uri, VERIFIER));
    let record = host.take_code(&token.code_key().unwrap());
    let grant = server
        .exchange_code(&token, Some(&mcp_agent()), record.as_ref(), 1_010)
        .unwrap();
    let tokens = server.issue_tokens(&grant, 1_010, entropy).unwrap();
    host.store(&tokens);
    tokens
}

fn refresh(
    server: &AuthorizationServer,
    host: &mut Host,
    refresh_token: &str,
    now: u64,
    entropy: &mut dyn Entropy,
) -> Result<IssuedTokens, TokenEndpointError> {
    let request = token_request(&refresh_body(refresh_token));
    let family = request
        .refresh_family_id()
        .and_then(|id| host.families.get(id))
        .cloned();
    match server.refresh(&request, Some(&mcp_agent()), family.as_ref(), now) {
        Ok(grant) => {
            let tokens = server.issue_tokens(&grant, now, entropy).unwrap();
            host.store(&tokens);
            Ok(tokens)
        }
        Err(error) => {
            if let Some(id) = &error.revoke_family {
                host.revoke(id);
            }
            Err(error)
        }
    }
}

#[test]
fn the_mcp_agent_flow_signs_in_calls_the_resource_and_refreshes() {
    let server = server();
    let mut host = Host::default();
    let mut entropy = entropy();
    let resource = ProtectedResource {
        resource: MCP.into(),
        authorization_servers: vec![ISSUER.into()],
        scopes_supported: vec!["mcp".into()],
        challenge_scopes: vec!["mcp".into()],
        resource_metadata_url: None,
        resource_name: None,
    };
    let tokens = sign_in(
        &server,
        &mut host,
        "http://127.0.0.1:49152/callback",
        &mut entropy,
    );
    let body = tokens.body();
    assert_eq!(body["scope"], "mcp");
    assert_eq!(body["expires_in"], 600);
    let access = body["access_token"].as_str().unwrap();
    let header = format!("Bearer {access}");
    let token = bearer_token(Some(&header));
    let record = host.access.get(&token_key(token.unwrap()));
    assert_eq!(
        resource.verify(token, record, &["mcp".into()], 1_100),
        Ok(())
    );
    assert_eq!(record.unwrap().subject.as_deref(), Some("alice"));

    let first_refresh = body["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = refresh(&server, &mut host, &first_refresh, 2_000, &mut entropy).unwrap();
    let second_refresh = refreshed.refresh_token.clone().unwrap();
    assert_ne!(second_refresh.expose(), first_refresh);
    assert_eq!(refreshed.access.subject.as_deref(), Some("alice"));
    assert_eq!(refreshed.family.as_ref().map(|f| f.generation), Some(1));
    // The new token works; the first one is a replay now.
    let again = refresh(
        &server,
        &mut host,
        second_refresh.expose(),
        2_100,
        &mut entropy,
    )
    .unwrap();
    let third = again.refresh_token.unwrap();
    let replay = refresh(&server, &mut host, &first_refresh, 2_200, &mut entropy).unwrap_err();
    assert_eq!(replay.code, TokenErrorCode::InvalidGrant);
    assert!(replay.revoke_family.is_some());
    // ...which revoked the whole family: the newest token and the access tokens.
    let after = refresh(&server, &mut host, third.expose(), 2_300, &mut entropy).unwrap_err();
    assert_eq!(after.code, TokenErrorCode::InvalidGrant);
    assert!(host.access.is_empty());
    assert!(matches!(
        resource.verify(
            token,
            host.access.get(&token_key(token.unwrap())),
            &[],
            2_300
        ),
        Err(BearerError::InvalidToken(_))
    ));
}

#[test]
fn loopback_redirects_on_any_port_and_path_are_accepted_for_mcp_agent() {
    let server = server();
    for redirect in [
        "http://127.0.0.1:1/callback",
        "http://127.0.0.1:49152/callback",
        "http://localhost:65535/callback",
        "http://localhost:8080/oauth/done",
        "http://127.0.0.1/",
    ] {
        let request = authorize(&server, &authorize_query(redirect, Some("mcp"))).unwrap();
        assert_eq!(request.redirect_uri, redirect);
    }
}

#[test]
fn foreign_redirects_are_refused_without_a_redirect() {
    let server = server();
    for redirect in [
        "https://evil.example/cb",
        "http://127.0.0.2/",
        "http://localhost.evil.com/",
        "http://[::1]:5000/callback",
        "http://127.0.0.1:5000/cb#x",
    ] {
        let refusal = authorize(&server, &authorize_query(redirect, None)).unwrap_err();
        assert_eq!(refusal.redirect_to, None, "{redirect}");
        assert_eq!(refusal.error.oauth_error(), "invalid_request");
    }
    let duplicate = format!(
        "{}&state=again",
        authorize_query("http://127.0.0.1/cb", None)
    );
    assert_eq!(
        authorize(&server, &duplicate).unwrap_err().redirect_to,
        None
    );
    let unknown = authorize_query("http://127.0.0.1/cb", None).replace("mcp-agent", "nobody");
    let refusal = authorize(&server, &unknown).unwrap_err();
    assert_eq!(refusal.error, AuthorizationRequestError::UnknownClient);
    assert_eq!(refusal.redirect_to, None);
}

#[test]
fn an_invalid_scope_is_refused_at_authorize_with_a_redirect() {
    let server = server();
    let refusal = authorize(
        &server,
        &authorize_query("http://127.0.0.1:4000/cb", Some("mcp admin")),
    )
    .unwrap_err();
    let to = refusal.redirect_to.expect("redirectable");
    assert!(
        to.starts_with("http://127.0.0.1:4000/cb?error=invalid_scope&"),
        "{to}"
    );
    assert_eq!(param(&to, "state").as_deref(), Some("st"));
    assert_eq!(param(&to, "iss").as_deref(), Some(ISSUER));
    assert_eq!(param(&to, "code"), None);
}

#[test]
fn a_denied_request_redirects_with_access_denied() {
    let server = server();
    let request = authorize(&server, &authorize_query("http://localhost:7/cb", None)).unwrap();
    let to = server.deny(&request);
    assert_eq!(param(&to, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&to, "state").as_deref(), Some("st"));
    assert_eq!(param(&to, "iss").as_deref(), Some(ISSUER));
}

#[test]
fn a_wrong_verifier_spends_the_code_and_a_replayed_code_revokes_its_tokens() {
    let server = server();
    let mut host = Host::default();
    let mut entropy = entropy();
    let redirect = "http://127.0.0.1:5000/callback";

    // A wrong verifier: refused, and the code is spent.
    let request = authorize(&server, &authorize_query(redirect, None)).unwrap();
    let issued = server
        .issue_code(&request, None, 1_000, &mut entropy)
        .unwrap();
    host.codes.insert(issued.key.clone(), issued.record.clone());
    let code = param(&issued.redirect_to, "code").unwrap();
    let wrong = token_request(&code_body(&code, redirect, &"x".repeat(43)));
    let record = host.take_code(&wrong.code_key().unwrap());
    let error = server
        .exchange_code(&wrong, Some(&mcp_agent()), record.as_ref(), 1_001)
        .unwrap_err();
    assert_eq!(error.code, TokenErrorCode::InvalidGrant);
    let right = token_request(&code_body(&code, redirect, VERIFIER));
    let record = host.take_code(&right.code_key().unwrap());
    assert!(server
        .exchange_code(&right, Some(&mcp_agent()), record.as_ref(), 1_002)
        .is_err());

    // A replayed code: refused, and its tokens are revoked.
    let tokens = sign_in(&server, &mut host, redirect, &mut entropy);
    let family = tokens.access.family_id.clone();
    let (key, record) = host
        .codes
        .iter()
        .find(|(_, r)| r.family_id == family)
        .map(|(k, r)| (k.clone(), r.clone()))
        .unwrap();
    assert!(record.consumed);
    let replay = token_request(&code_body("whatever", redirect, VERIFIER));
    let error = server
        .exchange_code(
            &replay,
            Some(&mcp_agent()),
            host.take_code(&key).as_ref(),
            1_020,
        )
        .unwrap_err();
    assert_eq!(error.revoke_family.as_deref(), Some(family.as_str()));
}

#[test]
fn token_requests_are_refused_for_unknown_clients_records_and_grant_mismatches() {
    let server = server();
    let mut entropy = entropy();
    let request = authorize(&server, &authorize_query("http://127.0.0.1:5/cb", None)).unwrap();
    let issued = server
        .issue_code(&request, None, 1_000, &mut entropy)
        .unwrap();
    let code = param(&issued.redirect_to, "code").unwrap();
    let token = token_request(&code_body(&code, "http://127.0.0.1:5/cb", VERIFIER));
    // (client, record, expected code)
    let unknown = server.exchange_code(&token, None, Some(&issued.record), 1_001);
    assert_eq!(unknown.unwrap_err().code, TokenErrorCode::InvalidClient);
    let missing = server.exchange_code(&token, Some(&mcp_agent()), None, 1_001);
    assert_eq!(missing.unwrap_err().code, TokenErrorCode::InvalidGrant);
    let late = server.exchange_code(&token, Some(&mcp_agent()), Some(&issued.record), 1_060);
    assert_eq!(late.unwrap_err().code, TokenErrorCode::InvalidGrant);
    let as_refresh = server.refresh(&token, Some(&mcp_agent()), None, 1_001);
    assert_eq!(
        as_refresh.unwrap_err().code,
        TokenErrorCode::UnsupportedGrantType
    );
    assert!(server
        .exchange_code(&token, Some(&mcp_agent()), Some(&issued.record), 1_001)
        .is_ok());
}

#[test]
fn a_refresh_may_narrow_the_scope_and_must_name_the_same_resource() {
    let server = server();
    let mut host = Host::default();
    let mut entropy = entropy();
    let request = authorize(
        &server,
        &authorize_query("http://127.0.0.1:5/cb", Some("mcp profile")),
    )
    .unwrap();
    let issued = server
        .issue_code(&request, None, 1_000, &mut entropy)
        .unwrap();
    let code = param(&issued.redirect_to, "code").unwrap();
    let token = token_request(&code_body(&code, "http://127.0.0.1:5/cb", VERIFIER));
    let grant = server
        .exchange_code(&token, Some(&mcp_agent()), Some(&issued.record), 1_001)
        .unwrap();
    let tokens = server.issue_tokens(&grant, 1_001, &mut entropy).unwrap();
    host.store(&tokens);
    let rt = tokens.refresh_token.unwrap();
    let family = host.families.values().next().cloned();

    let with = |extra: &str| token_request(&format!("{}{extra}", refresh_body(rt.expose())));
    let narrower = server
        .refresh(
            &with("&scope=mcp"),
            Some(&mcp_agent()),
            family.as_ref(),
            1_002,
        )
        .unwrap();
    assert_eq!(narrower.scope.as_deref(), Some("mcp"));
    let wider = server
        .refresh(
            &with("&scope=mcp+admin"),
            Some(&mcp_agent()),
            family.as_ref(),
            1_002,
        )
        .unwrap_err();
    assert_eq!(wider.code, TokenErrorCode::InvalidScope);
    let elsewhere = token_request(&refresh_body(rt.expose()).replace("3000%2Fmcp", "3000%2Fother"));
    let error = server
        .refresh(&elsewhere, Some(&mcp_agent()), family.as_ref(), 1_002)
        .unwrap_err();
    assert_eq!(error.code, TokenErrorCode::InvalidTarget);
    assert_eq!(error.revoke_family, None);
}

#[test]
fn configurations_are_validated() {
    let base = || ServerConfig::new(ISSUER, format!("{ISSUER}/a"), format!("{ISSUER}/t"));
    assert!(AuthorizationServer::new(base()).is_ok());
    let https = ServerConfig::new(
        "https://as.example/t1",
        "https://as.example/a",
        "https://as.example/t",
    );
    assert!(AuthorizationServer::new(https).is_ok());
    let mut cases: Vec<ServerConfig> = Vec::new();
    for issuer in [
        "http://as.example",
        "https://as.example?x=1",
        "https://as.example#f",
        "as.example",
    ] {
        cases.push(ServerConfig {
            issuer: issuer.into(),
            ..base()
        });
    }
    cases.push(ServerConfig {
        token_endpoint: "/token".into(),
        ..base()
    });
    cases.push(ServerConfig {
        auth_methods: vec![],
        ..base()
    });
    cases.push(ServerConfig {
        auth_methods: vec![crate::client_auth::AuthMethod::PrivateKeyJwt],
        ..base()
    });
    cases.push(ServerConfig {
        code_lifetime_secs: 0,
        ..base()
    });
    cases.push(ServerConfig {
        scopes_supported: vec!["a".into()],
        default_scopes: vec!["b".into()],
        ..base()
    });
    cases.push(ServerConfig {
        resources: ResourcePolicy {
            allowed: vec!["mcp".into()],
            required: false,
        },
        ..base()
    });
    for config in cases {
        assert!(
            AuthorizationServer::new(config.clone()).is_err(),
            "{config:?}"
        );
    }
}

#[test]
fn a_config_reads_from_json_with_defaults() {
    let config: ServerConfig = serde_json::from_value(serde_json::json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/authorize"),
        "token_endpoint": format!("{ISSUER}/token"),
    }))
    .unwrap();
    assert_eq!(
        config,
        ServerConfig::new(
            ISSUER,
            format!("{ISSUER}/authorize"),
            format!("{ISSUER}/token")
        )
    );
}

#[test]
fn client_id_metadata_documents_are_off_unless_enabled() {
    let id = "http://127.0.0.1:9/client.json";
    let doc = serde_json::json!({ "client_id": id, "redirect_uris": ["http://127.0.0.1/cb"] });
    let response = crate::http::HttpResponse::json_body(200, &doc);
    let off = server();
    assert!(!off.is_metadata_client_id(id));
    assert_eq!(
        off.client_from_metadata_document(id, &response),
        Err(ClientMetadataError::NotAUrl)
    );
    let mut config = off.config().clone();
    config.client_id_metadata_documents = true;
    config.client_id_metadata_documents_on_loopback_http = true;
    let on = AuthorizationServer::new(config).unwrap();
    let client = on.client_from_metadata_document(id, &response).unwrap();
    assert!(client.redirect.check("http://127.0.0.1:7/cb").is_ok());
}

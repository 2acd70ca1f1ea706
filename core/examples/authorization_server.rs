//! The authorization-server side on its own: a host with three maps for storage
//! signs the hard-coded public client `mcp-agent` in (authorize, consent, code,
//! token), refreshes, and shows what a replayed refresh token does. No HTTP: the
//! host hands query strings and bodies in and prints what core decides.
//!
//! ```text
//! cargo run -p mcp-oauth-core --example authorization_server
//! ```

use mcp_oauth_core::entropy::OsEntropy;
use mcp_oauth_core::pkce;
use mcp_oauth_core::server::{
    AccessTokenRecord, AuthorizationParams, AuthorizationServer, Client, CodeRecord,
    RedirectPolicy, RefreshFamily, ResourcePolicy, ScopePolicy, ServerConfig, TokenRequest,
};
use std::collections::HashMap;

const ISSUER: &str = "https://app.example";
const MCP: &str = "https://app.example/mcp";
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = AuthorizationServer::new(ServerConfig {
        scopes_supported: vec!["mcp".into()],
        resources: ResourcePolicy {
            allowed: vec![MCP.into()],
            required: true,
        },
        ..ServerConfig::new(
            ISSUER,
            format!("{ISSUER}/authorize"),
            format!("{ISSUER}/token"),
        )
    })?;
    let mcp_agent = Client::public(
        "mcp-agent",
        RedirectPolicy::any_loopback(["http://localhost", "http://127.0.0.1"]),
        ScopePolicy::allow(["mcp"], ["mcp"]),
    );
    let lookup = |id: Option<&str>| (id == Some("mcp-agent")).then_some(&mcp_agent);
    let mut codes: HashMap<String, CodeRecord> = HashMap::new();
    let mut families: HashMap<String, RefreshFamily> = HashMap::new();
    let mut access: HashMap<String, AccessTokenRecord> = HashMap::new();
    let now = 1_800_000_000;

    // GET /authorize: validate, show consent, approve.
    let verifier = "a-verifier-the-client-keeps-to-itself-0123456789";
    let redirect = "http://127.0.0.1:49152/callback";
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", "mcp-agent")
        .append_pair("redirect_uri", redirect)
        .append_pair("state", "xyz")
        .append_pair("code_challenge", &pkce::s256_challenge(verifier))
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", MCP)
        .finish();
    let params = AuthorizationParams::from_query(&query)?;
    let request = server
        .validate_authorization_request(&params, lookup(params.client_id.as_deref()))
        .map_err(|refusal| refusal.error)?;
    println!(
        "consent: {} asks for {:?}",
        request.client_id, request.scope
    );
    let issued = server.issue_code(&request, Some("alice".into()), now, &mut OsEntropy)?;
    println!("302 Location: {}", issued.redirect_to);
    codes.insert(issued.key.clone(), issued.record.clone());

    // A foreign redirect URI: an error page, never a redirect.
    let evil = AuthorizationParams {
        redirect_uri: Some("https://evil.example/cb".into()),
        ..params.clone()
    };
    let refusal = server
        .validate_authorization_request(&evil, Some(&mcp_agent))
        .unwrap_err();
    println!(
        "refused ({}), redirect: {:?}",
        refusal.error, refusal.redirect_to
    );

    // POST /token: the code, with the verifier.
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", issued.code.expose())
        .append_pair("redirect_uri", redirect)
        .append_pair("code_verifier", verifier)
        .append_pair("client_id", "mcp-agent")
        .append_pair("resource", MCP)
        .finish();
    let token_request = TokenRequest::parse(FORM, None, body.as_bytes())?;
    let record = token_request.code_key().and_then(|key| {
        let stored = codes.get_mut(&key)?;
        let as_found = stored.clone();
        stored.consumed = true; // single use: spent before any check
        Some(as_found)
    });
    let grant = server.exchange_code(&token_request, Some(&mcp_agent), record.as_ref(), now + 5)?;
    let tokens = server.issue_tokens(&grant, now + 5, &mut OsEntropy)?;
    access.insert(tokens.access_key.clone(), tokens.access.clone());
    if let Some(family) = &tokens.family {
        families.insert(family.id.clone(), family.clone());
    }
    println!("200 {}", redacted(&tokens.body()));

    // Refresh twice with the first refresh token: the second time is a replay.
    let first = tokens.refresh_token.clone().ok_or("no refresh token")?;
    for attempt in 1..=2 {
        let body = format!(
            "grant_type=refresh_token&refresh_token={}&client_id=mcp-agent&resource={}",
            first.expose(),
            url::form_urlencoded::byte_serialize(MCP.as_bytes()).collect::<String>()
        );
        let request = TokenRequest::parse(FORM, None, body.as_bytes())?;
        let family = request.refresh_family_id().and_then(|id| families.get(id));
        match server.refresh(&request, Some(&mcp_agent), family, now + 60) {
            Ok(grant) => {
                let tokens = server.issue_tokens(&grant, now + 60, &mut OsEntropy)?;
                access.insert(tokens.access_key.clone(), tokens.access.clone());
                if let Some(family) = tokens.family {
                    families.insert(family.id.clone(), family);
                }
                println!("refresh {attempt}: 200, rotated");
            }
            Err(error) => {
                if let Some(id) = &error.revoke_family {
                    families.remove(id);
                    access.retain(|_, a| &a.family_id != id);
                }
                println!("refresh {attempt}: {} {error}", error.status());
            }
        }
    }
    println!(
        "access tokens left: {}, families left: {}",
        access.len(),
        families.len()
    );
    Ok(())
}

/// The token response with its tokens shortened.
fn redacted(body: &serde_json::Value) -> serde_json::Value {
    let mut body = body.clone();
    for field in ["access_token", "refresh_token"] {
        if let Some(token) = body[field].as_str() {
            body[field] = format!("{}…", &token[..6]).into();
        }
    }
    body
}

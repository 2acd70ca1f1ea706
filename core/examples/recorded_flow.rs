//! Drives a whole dynamic sign-in against recorded server answers and prints each
//! step: what the engine asks the host to do, and what it decides from the answer.
//! No network: this is the sans-IO core on its own.
//!
//! ```text
//! cargo run -p mcp-oauth-core --example recorded_flow
//! ```

use mcp_oauth_core::flow::{Action, DynamicConfig, DynamicFlow, Flow};
use mcp_oauth_core::http::{HttpRequest, HttpResponse};
use mcp_oauth_core::{entropy::OsEntropy, Error};
use serde_json::json;

const SERVER: &str = "https://mcp.example.com/mcp";
const ISSUER: &str = "https://auth.example.com";

/// The answers a real MCP server and authorization server would give.
fn recorded_answer(request: &HttpRequest) -> HttpResponse {
    match (request.method.as_str(), request.url.as_str()) {
        ("POST", SERVER) => HttpResponse::new(
            401,
            vec![(
                "WWW-Authenticate".into(),
                r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="tools:read""#.into(),
            )],
            "",
        ),
        ("GET", "https://mcp.example.com/.well-known/oauth-protected-resource/mcp") => HttpResponse::json_body(
            200,
            &json!({ "resource": SERVER, "authorization_servers": [ISSUER] }),
        ),
        ("GET", "https://auth.example.com/.well-known/oauth-authorization-server") => HttpResponse::json_body(
            200,
            &json!({
                "issuer": ISSUER,
                "authorization_endpoint": "https://auth.example.com/authorize",
                "token_endpoint": "https://auth.example.com/token",
                "registration_endpoint": "https://auth.example.com/register",
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["tools:read", "offline_access"],
                "authorization_response_iss_parameter_supported": true,
            }),
        ),
        ("POST", "https://auth.example.com/register") => {
            HttpResponse::json_body(201, &json!({ "client_id": "client-7f3a", "token_endpoint_auth_method": "none" }))
        }
        ("POST", "https://auth.example.com/token") => HttpResponse::json_body(
            200,
            &json!({ "access_token": "eyJ.recorded", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "r-1" }),
        ),
        _ => HttpResponse::new(404, vec![], "not found"),
    }
}

fn main() -> Result<(), Error> {
    let now = 1_700_000_000;
    let config = DynamicConfig::new(
        SERVER,
        "http://127.0.0.1:8765/callback",
        "recorded-flow example",
    );
    let mut flow: Flow = DynamicFlow::new(config, &mut OsEntropy)?.into();
    loop {
        match flow.next_action() {
            Action::Send(request) => {
                let response = recorded_answer(&request);
                println!(
                    "{:<32} {} {} -> {}",
                    format!("{:?}", request.purpose),
                    request.method.as_str(),
                    request.url,
                    response.status
                );
                flow.on_response(response, now)?;
            }
            Action::Authorize { url, redirect_uri } => {
                println!("{:<32} open {}", "Authorize", url);
                // The user consents; the authorization server redirects back.
                let state = flow.pending_state().unwrap_or_default().to_owned();
                let callback = format!("{redirect_uri}?code=c-1&state={state}&iss={ISSUER}");
                println!("{:<32} {}", "Callback", callback);
                flow.on_callback(&callback, now)?;
            }
            Action::Done(session) => {
                println!(
                    "signed in: issuer {}, client {}, scope {}, token expires at {:?}, status {:?}",
                    session.grant.issuer,
                    session.grant.client.client_id,
                    session.grant.scope.as_deref().unwrap_or("-"),
                    session.tokens.expires_at,
                    session.status(now),
                );
                return Ok(());
            }
            Action::Failed(error) => return Err(error),
        }
    }
}

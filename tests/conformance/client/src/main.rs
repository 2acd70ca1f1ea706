//! The client the official MCP conformance suite runs as
//! `conformance-client <server-url>`, with `MCP_CONFORMANCE_SCENARIO`,
//! `MCP_CONFORMANCE_CONTEXT` and `MCP_CONFORMANCE_PROTOCOL_VERSION` set.
//!
//! It signs in only through `mcp-oauth`'s public API, with a headless user agent
//! that follows the authorization URL's redirects to the SDK's own loopback
//! listener, then speaks MCP for the scenario's protocol revision. Every OAuth
//! decision (discovery, registration, scopes, `iss`, refresh, step-up) is the
//! SDK's; the context only supplies what a real user would configure
//! (pre-registered credentials, the enterprise IdP and its ID token, a workload
//! assertion).

mod mcp;

use mcp::{McpSession, ServerRequests};
use mcp_oauth::core::assertion::EnterpriseIdp;
use mcp_oauth::core::client_auth::{ClientKey, SigningAlgorithm};
use mcp_oauth::core::registration::PreRegisteredClient;
use mcp_oauth::core::Secret;
use mcp_oauth::opener::HeadlessBrowser;
use mcp_oauth::store::MemoryStore;
use mcp_oauth::{OAuthClient, Preset};
use serde_json::Value;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// This client's Client ID Metadata Document URL. The suite's `basic-cimd`
/// scenario expects exactly this one; the SDK uses it only where the
/// authorization server advertises CIMD support.
const CLIENT_METADATA_URL: &str = "https://conformance-test.local/client-metadata.json";

/// The tools of the `json-schema-2020-12-preservation` scenario: the one with the
/// rich input schema, and the one that echoes a schema back.
const JSON_SCHEMA_FOCAL_TOOL: &str = "json_schema_2020_12_tool";
const JSON_SCHEMA_ECHO_TOOL: &str = "json_schema_echo";

/// How long one scenario may take; the runner's default timeout is 30 s.
const RUN_TIMEOUT: Duration = Duration::from_secs(25);

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MCP_OAUTH_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("mcp_oauth=info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let Some(server_url) = std::env::args().nth(1) else {
        eprintln!("usage: conformance-client <server-url>");
        return ExitCode::from(2);
    };
    // Never outlive the runner's own timeout: an open stream would keep its
    // mock server from shutting down.
    match tokio::time::timeout(RUN_TIMEOUT, run(&server_url)).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("conformance-client: {error}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("conformance-client: gave up after {RUN_TIMEOUT:?}");
            ExitCode::FAILURE
        }
    }
}

async fn run(server_url: &str) -> Result<(), Box<dyn std::error::Error>> {
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let version =
        std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION").unwrap_or_else(|_| "2025-11-25".into());
    let context: Value = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .and_then(|raw| serde_json::from_str(&raw).ok())
        .unwrap_or(Value::Null);
    eprintln!("scenario {scenario}, protocol {version}");

    let mut builder = OAuthClient::builder("mcp-oauth conformance client")
        .store(Arc::new(MemoryStore::new()))
        .opener(HeadlessBrowser::new()?)
        .callback_timeout(Duration::from_secs(20))
        .client_metadata_url(CLIENT_METADATA_URL)
        .protocol_version(&version)
        .reauthorize_on_unauthorized(true);
    // Credentials the runner registered for us (pre-registration, client
    // credentials): what a user would type into the app's settings.
    if let Some(client_id) = context["client_id"].as_str() {
        let private_key = match context["private_key_pem"].as_str() {
            Some(pem) => {
                let alg = context["signing_algorithm"].as_str().unwrap_or("ES256");
                Some(ClientKey {
                    algorithm: SigningAlgorithm::from_name(alg)
                        .ok_or_else(|| format!("signing algorithm {alg} is not supported"))?,
                    private_key_pem: Secret::new(pem),
                    key_id: None,
                })
            }
            None => None,
        };
        let secret = context["client_secret"].as_str();
        let issuer = match context["issuer"].as_str() {
            Some(issuer) => Some(issuer.to_owned()),
            // The SDK sends a secret only to the issuer it is bound to; a user
            // pasting a secret knows which server issued it. The runner does not
            // say for its client-credentials scenarios, so look it up the way a
            // person would: the server's protected-resource metadata.
            None if secret.is_some() => Some(issuer_of(server_url).await?),
            None => None,
        };
        builder = builder.pre_registered(PreRegisteredClient {
            issuer,
            client_id: client_id.to_owned(),
            client_secret: secret.map(Secret::new),
            auth_method: None,
            private_key,
        });
    }
    let oauth = builder.build()?;
    // How to sign in: with the browser, or, where the host holds an assertion,
    // without one (enterprise-managed authorization, workload identity).
    let preset = if let Some(id_token) = context["idp_id_token"].as_str() {
        Preset::enterprise(
            server_url,
            EnterpriseIdp {
                token_endpoint: context["idp_token_endpoint"]
                    .as_str()
                    .ok_or("the context names no idp_token_endpoint")?
                    .to_owned(),
                client_id: context["idp_client_id"]
                    .as_str()
                    .ok_or("the context names no idp_client_id")?
                    .to_owned(),
                client_secret: context["idp_client_secret"].as_str().map(Secret::new),
                auth_method: None,
                id_token: Secret::new(id_token),
            },
        )
    } else if let Some(assertion) = context["valid_jwt"].as_str() {
        Preset::workload(server_url, assertion)
    } else {
        Preset::dynamic(server_url)
    };

    // The app under test has a UI for server requests only where the scenario
    // exercises one; elsewhere a 2025-era session opens no standalone GET stream.
    let server_requests = if scenario.starts_with("elicitation") {
        ServerRequests::Accepted
    } else {
        ServerRequests::Declined
    };
    let mut session = McpSession::new(oauth, preset, server_url, &version, server_requests)?;
    session.start().await?;
    let tools = session.list_tools().await?;
    // The runner may say which calls to make (`toolCalls`); otherwise every tool
    // is called once, with arguments drawn from its input schema.
    let mut planned: Vec<(String, Value)> = match context["toolCalls"].as_array() {
        Some(calls) => calls
            .iter()
            .filter_map(|c| Some((c["name"].as_str()?.to_owned(), c["arguments"].clone())))
            .collect(),
        None => tools
            .iter()
            .map(|t| (t.name.clone(), mcp::arguments_for(&t.input_schema, false)))
            .collect(),
    };
    if scenario == "json-schema-2020-12-preservation" {
        // The echo tool takes another tool's input schema, passed back exactly as
        // listed, so the server can see what survived the client's parsing.
        if let Some(focal) = tools.iter().find(|t| t.name == JSON_SCHEMA_FOCAL_TOOL) {
            for (name, arguments) in &mut planned {
                if name == JSON_SCHEMA_ECHO_TOOL {
                    *arguments = serde_json::json!({ "schema": focal.input_schema });
                }
            }
        }
    }
    for (name, arguments) in planned {
        let Some(tool) = tools.iter().find(|t| t.name == name) else {
            eprintln!("the server does not offer (a valid) tool {name}; not calling it");
            continue;
        };
        match session.call_tool(tool, arguments).await {
            Ok(_) => {}
            // A tool that answers with an error has answered; the exchange worked.
            Err(error) if error.is::<mcp::RpcError>() => eprintln!("tool {name}: {error}"),
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// The authorization server that `server_url`'s protected-resource metadata names
/// (RFC 9728 well-known URLs), for credentials the runner hands out without one.
async fn issuer_of(server_url: &str) -> Result<String, Box<dyn std::error::Error>> {
    use mcp_oauth::core::discovery;
    use mcp_oauth::core::http::HttpResponse;
    let server = url::Url::parse(server_url)?;
    let http = reqwest::Client::new();
    for candidate in discovery::protected_resource_metadata_urls(&server) {
        let response = http.get(candidate.clone()).send().await?;
        if !response.status().is_success() {
            continue;
        }
        let headers = vec![("Content-Type".to_owned(), "application/json".to_owned())];
        let body = response.bytes().await?.to_vec();
        let prm = discovery::parse_protected_resource_metadata(
            &candidate,
            &HttpResponse::new(200, headers, body),
        )?;
        if let Some(issuer) = prm.authorization_servers.first() {
            return Ok(issuer.clone());
        }
    }
    Err(format!("{server_url} publishes no protected-resource metadata naming its issuer").into())
}

//! `mcp-oauth demo`: the whole story on one machine, with no network. It starts the
//! bundled test server (a real authorization server and MCP server on loopback),
//! signs in to it with the dynamic flow through a headless user agent, calls the
//! MCP server with the bearer, refreshes the token, calls it again, and prints the
//! tool list.

use crate::output::{self, fail, Exit};
use mcp_oauth::opener::HeadlessBrowser;
use mcp_oauth::store::MemoryStore;
use mcp_oauth::{Connection, OAuthClient, Preset};
use mcp_oauth_tests::{TestServer, TestServerConfig};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PROTOCOL_VERSION: &str = "2025-11-25";

pub async fn run(json: bool) -> Result<(), Exit> {
    let started = Instant::now();
    let server = TestServer::start(TestServerConfig::default())
        .await
        .map_err(|e| Exit::failure(format!("could not start the test server: {e}")))?;
    let server_url = server.mcp_url().to_string();
    if !json {
        eprintln!(
            "Test server: MCP at {server_url}, issuer {}",
            server.issuer()
        );
        eprintln!("Signing in (dynamic discovery, registration, PKCE):");
    }
    let mut builder = OAuthClient::builder("mcp-oauth demo")
        .store(Arc::new(MemoryStore::new()))
        .opener(HeadlessBrowser::new().map_err(fail)?)
        .callback_timeout(Duration::from_secs(30));
    if !json {
        builder = builder.observer(output::print_progress);
    }
    let client = builder.build().map_err(fail)?;
    let connection = client
        .connect(Preset::dynamic(&server_url))
        .await
        .map_err(fail)?;
    let sign_in_round_trips = server.log().len();

    let mut mcp = McpSession::new(&connection, &server_url);
    mcp.call("initialize", initialize_params()).await?;
    mcp.notify("notifications/initialized").await?;
    let before_refresh = mcp.call("tools/list", json!({})).await?;
    if !json {
        eprintln!("  {:<13} tools/list answered with the bearer", "mcp");
    }

    connection.refresh().await.map_err(fail)?;
    let tools = mcp.call("tools/list", json!({})).await?;
    if before_refresh != tools {
        return Err(Exit::failure(
            "the tool list changed across the refresh".into(),
        ));
    }
    let names: Vec<String> = tools["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let status = connection.status().await;
    let elapsed_ms = started.elapsed().as_millis();
    if json {
        output::json(&json!({
            "server": server_url,
            "issuer": server.issuer(),
            "status": status,
            "sign_in_round_trips": sign_in_round_trips,
            "tools": names,
            "elapsed_ms": elapsed_ms,
        }));
    } else {
        eprintln!(
            "  {:<13} tools/list answered with the refreshed token",
            "mcp"
        );
        println!(
            "Signed in ({}) in {sign_in_round_trips} HTTP round trips; {elapsed_ms} ms in all.",
            output::describe(&status)
        );
        println!("Tools offered by the server:");
        for tool in &tools["tools"].as_array().cloned().unwrap_or_default() {
            println!(
                "  {:<12} {}",
                tool["name"].as_str().unwrap_or("?"),
                tool["description"].as_str().unwrap_or("")
            );
        }
    }
    server.shutdown().await;
    Ok(())
}

fn initialize_params() -> Value {
    json!({
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": { "name": "mcp-oauth demo", "version": env!("CARGO_PKG_VERSION") },
    })
}

/// Just enough of an MCP client for the demo: JSON-RPC over POST with the bearer
/// attached by the connection.
struct McpSession<'a> {
    connection: &'a Connection,
    http: reqwest::Client,
    url: String,
    next_id: u64,
    session_id: Option<String>,
}

impl<'a> McpSession<'a> {
    fn new(connection: &'a Connection, url: &str) -> Self {
        Self {
            connection,
            http: reqwest::Client::new(),
            url: url.to_owned(),
            next_id: 1,
            session_id: None,
        }
    }

    async fn call(&mut self, method: &str, params: Value) -> Result<Value, Exit> {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let response = self.post(method, &body).await?;
        if let Some(session) = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            self.session_id = Some(session.to_owned());
        }
        let reply: Value = response
            .json()
            .await
            .map_err(|e| Exit::failure(format!("{method}: unreadable reply: {e}")))?;
        if let Some(error) = reply.get("error") {
            return Err(Exit::failure(format!("{method}: server error {error}")));
        }
        Ok(reply["result"].clone())
    }

    async fn notify(&mut self, method: &str) -> Result<(), Exit> {
        self.post(method, &json!({ "jsonrpc": "2.0", "method": method }))
            .await
            .map(drop)
    }

    async fn post(&self, method: &str, body: &Value) -> Result<reqwest::Response, Exit> {
        let mut request = self
            .http
            .post(&self.url)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", PROTOCOL_VERSION)
            .json(body);
        if let Some(session) = &self.session_id {
            request = request.header("mcp-session-id", session);
        }
        let request = request
            .build()
            .map_err(|e| Exit::failure(format!("{method}: {e}")))?;
        let response = self.connection.send(request).await.map_err(fail)?;
        if !response.status().is_success() {
            return Err(Exit::failure(format!(
                "{method}: the MCP server answered HTTP {}",
                response.status()
            )));
        }
        Ok(response)
    }
}

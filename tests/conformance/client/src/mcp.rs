//! Just enough MCP over Streamable HTTP for the conformance scenarios: the
//! 2025-11-25 handshake (`initialize`, `notifications/initialized`) with session
//! ids and SSE responses, and 2026-07-28 stateless requests (`MCP-Protocol-Version`,
//! `Mcp-Method`, `Mcp-Name` and `_meta` on every POST).
//!
//! Requests go out unauthenticated until the server answers 401; then the SDK
//! signs in from that challenge, and every later request goes through
//! `Connection::send`, which attaches the bearer and handles 401 and 403.

use mcp_oauth::core::www_authenticate;
use mcp_oauth::{Connection, OAuthClient, Preset};
use serde_json::{json, Value};

/// Revisions without the initialize handshake.
const STATELESS_VERSIONS: &[&str] = &["2026-07-28"];

/// One MCP client session against the server under test.
pub struct McpSession {
    oauth: OAuthClient,
    http: reqwest::Client,
    server_url: url::Url,
    version: String,
    connection: Option<Connection>,
    session_id: Option<String>,
    next_id: u64,
}

impl McpSession {
    pub fn new(
        oauth: OAuthClient,
        server_url: &str,
        version: &str,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        Ok(Self {
            oauth,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            server_url: url::Url::parse(server_url)?,
            version: version.to_owned(),
            connection: None,
            session_id: None,
            next_id: 1,
        })
    }

    fn stateless(&self) -> bool {
        STATELESS_VERSIONS.contains(&self.version.as_str())
    }

    /// The handshake, for revisions that have one.
    pub async fn start(&mut self) -> Result<(), Box<dyn std::error::Error>> {
        if self.stateless() {
            return Ok(());
        }
        let params = json!({
            "protocolVersion": self.version,
            "capabilities": {},
            "clientInfo": { "name": "mcp-oauth-conformance-client", "version": env!("CARGO_PKG_VERSION") },
        });
        self.request("initialize", params, None).await?;
        self.notify("notifications/initialized").await
    }

    pub async fn list_tools(&mut self) -> Result<Vec<String>, Box<dyn std::error::Error>> {
        let result = self.request("tools/list", json!({}), None).await?;
        Ok(result["tools"]
            .as_array()
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    pub async fn call_tool(&mut self, name: &str) -> Result<Value, Box<dyn std::error::Error>> {
        self.request(
            "tools/call",
            json!({ "name": name, "arguments": {} }),
            Some(name),
        )
        .await
    }

    async fn notify(&mut self, method: &str) -> Result<(), Box<dyn std::error::Error>> {
        let body = json!({ "jsonrpc": "2.0", "method": method });
        self.post(method, None, body).await.map(drop)
    }

    async fn request(
        &mut self,
        method: &str,
        mut params: Value,
        name: Option<&str>,
    ) -> Result<Value, Box<dyn std::error::Error>> {
        if self.stateless() {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": self.version,
                "io.modelcontextprotocol/clientCapabilities": {},
            });
        }
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        let response = self.post(method, name, body).await?;
        let message = read_message(response, id).await?;
        if let Some(error) = message.get("error") {
            return Err(format!("{method} failed: {error}").into());
        }
        Ok(message["result"].clone())
    }

    fn build(
        &self,
        method: &str,
        name: Option<&str>,
        body: &Value,
    ) -> Result<reqwest::Request, reqwest::Error> {
        let mut builder = self
            .http
            .post(self.server_url.clone())
            .header("Content-Type", "application/json")
            .header("Accept", "application/json, text/event-stream")
            .header("MCP-Protocol-Version", &self.version)
            .body(body.to_string());
        if self.stateless() {
            builder = builder.header("Mcp-Method", method);
            if let Some(name) = name {
                builder = builder.header("Mcp-Name", name);
            }
        }
        if let Some(session_id) = &self.session_id {
            builder = builder.header("Mcp-Session-Id", session_id);
        }
        builder.build()
    }

    /// Sends one POST: through the SDK once signed in, otherwise plainly, signing
    /// in when the server asks for it with a 401.
    async fn post(
        &mut self,
        method: &str,
        name: Option<&str>,
        body: Value,
    ) -> Result<reqwest::Response, Box<dyn std::error::Error>> {
        let request = self.build(method, name, &body)?;
        let response = match &self.connection {
            Some(connection) => connection.send(request).await?,
            None => {
                let response = self.http.execute(request).await?;
                if response.status() == reqwest::StatusCode::UNAUTHORIZED {
                    let challenge = challenge_of(&response).unwrap_or_default();
                    let connection = self
                        .oauth
                        .connect_after_challenge(
                            Preset::dynamic(self.server_url.as_str()),
                            challenge,
                        )
                        .await?;
                    let retry = self.build(method, name, &body)?;
                    let response = connection.send(retry).await?;
                    self.connection = Some(connection);
                    response
                } else {
                    response
                }
            }
        };
        if let Some(id) = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
        {
            self.session_id = Some(id.to_owned());
        }
        let status = response.status();
        if !status.is_success() {
            let text = response.text().await.unwrap_or_default();
            return Err(format!(
                "{method}: HTTP {status}: {}",
                text.chars().take(300).collect::<String>()
            )
            .into());
        }
        Ok(response)
    }
}

fn challenge_of(response: &reqwest::Response) -> Option<www_authenticate::BearerChallenge> {
    let headers = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| Some(("WWW-Authenticate".to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let response = mcp_oauth::core::http::HttpResponse::new(401, headers, Vec::new());
    www_authenticate::bearer_challenge(&response).ok().flatten()
}

/// The JSON-RPC response with `id`, from a JSON body or an SSE stream.
async fn read_message(
    response: reqwest::Response,
    id: u64,
) -> Result<Value, Box<dyn std::error::Error>> {
    let is_sse = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"));
    let text = response.text().await?;
    if !is_sse {
        return Ok(serde_json::from_str(&text)?);
    }
    for line in text.lines() {
        let Some(data) = line.strip_prefix("data:") else {
            continue;
        };
        if let Ok(message) = serde_json::from_str::<Value>(data.trim()) {
            if message["id"] == json!(id) {
                return Ok(message);
            }
        }
    }
    Err(format!("no response with id {id} in the event stream").into())
}

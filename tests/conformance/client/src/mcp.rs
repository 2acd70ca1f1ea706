//! Just enough of an MCP client over Streamable HTTP for the conformance
//! scenarios, doing what a real client does:
//!
//! - 2025-11-25 and older: the `initialize` handshake, `Mcp-Session-Id`, JSON or
//!   SSE responses read as a stream, server-to-client requests on that stream
//!   answered with a POST (elicitation, roots, sampling), and resumption of a
//!   closed stream with `GET` + `Last-Event-ID` after the server's `retry` delay.
//!   The optional standalone `GET` stream is opened only by a session that takes
//!   requests from the server ([`ServerRequests::Accepted`]): nothing else would
//!   arrive there that this client could use, so other sessions save the request.
//! - 2026-07-28: stateless requests carrying `MCP-Protocol-Version`, `Mcp-Method`,
//!   `Mcp-Name`, `_meta` (protocol version, client info, capabilities), and
//!   `Mcp-Param-*` headers for `x-mcp-header` tool parameters; multi-round-trip
//!   requests (`resultType: input_required`); a retry with a supported version
//!   when the server rejects ours.
//!
//! Requests go out unauthenticated until the server answers 401; then the SDK
//! signs in from that challenge, and every later request goes through
//! `Connection::send`, which attaches the bearer and handles 401 and 403.

use base64::Engine as _;
use mcp_oauth::core::www_authenticate;
use mcp_oauth::{Connection, OAuthClient, Preset};
use serde_json::{json, Map, Value};
use std::time::Duration;

type BoxError = Box<dyn std::error::Error>;

/// Revisions this client speaks, newest first.
const KNOWN_VERSIONS: &[&str] = &["2026-07-28", "2025-11-25", "2025-06-18", "2025-03-26"];
/// Revisions without the initialize handshake.
const STATELESS_VERSIONS: &[&str] = &["2026-07-28"];
/// JSON-RPC error: the server does not speak the requested protocol version.
const UNSUPPORTED_PROTOCOL_VERSION: i64 = -32022;
/// How many `input_required` rounds one request may take.
const MAX_INPUT_ROUNDS: usize = 4;
/// How often a closed SSE stream is resumed before giving up.
const MAX_RESUMPTIONS: usize = 3;

/// A tool the server offers, as listed.
#[derive(Debug, Clone)]
pub struct Tool {
    pub name: String,
    pub input_schema: Value,
}

/// The server answered a request with a JSON-RPC error: an answer, not a broken
/// exchange. Callers decide whether it matters (a `tools/call` error is the tool's
/// business; a failed `initialize` is not).
#[derive(Debug)]
pub struct RpcError {
    method: String,
    error: Value,
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} failed: {}", self.method, self.error)
    }
}

impl std::error::Error for RpcError {}

/// Whether a session takes requests from the server (elicitation) outside the
/// responses to its own requests, as an app does when it has a UI for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRequests {
    /// Declares the `elicitation` capability and, on 2025-era sessions, opens the
    /// standalone `GET` stream on which servers send such requests.
    Accepted,
    /// Declares no such capability and opens no `GET` stream. Stateless
    /// (2026-07-28) sessions still answer `input_required` rounds, which arrive
    /// in responses.
    Declined,
}

/// One MCP client session against the server under test.
pub struct McpSession {
    oauth: OAuthClient,
    preset: Preset,
    http: reqwest::Client,
    server_url: url::Url,
    version: String,
    server_requests: ServerRequests,
    connection: Option<Connection>,
    session_id: Option<String>,
    next_id: u64,
}

/// One event of a `text/event-stream`.
#[derive(Debug, Default)]
struct SseEvent {
    id: Option<String>,
    retry: Option<u64>,
    data: String,
}

impl McpSession {
    pub fn new(
        oauth: OAuthClient,
        preset: Preset,
        server_url: &str,
        version: &str,
        server_requests: ServerRequests,
    ) -> Result<Self, BoxError> {
        Ok(Self {
            oauth,
            preset,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            server_url: url::Url::parse(server_url)?,
            version: version.to_owned(),
            server_requests,
            connection: None,
            session_id: None,
            next_id: 1,
        })
    }

    fn stateless(&self) -> bool {
        STATELESS_VERSIONS.contains(&self.version.as_str())
    }

    fn capabilities(&self) -> Value {
        // A stateless session answers input requests in the response itself.
        if self.server_requests == ServerRequests::Accepted || self.stateless() {
            json!({ "elicitation": {} })
        } else {
            json!({})
        }
    }

    fn client_info() -> Value {
        json!({ "name": "mcp-oauth-conformance-client", "version": env!("CARGO_PKG_VERSION") })
    }

    /// The handshake, for revisions that have one.
    pub async fn start(&mut self) -> Result<(), BoxError> {
        if self.stateless() {
            return Ok(());
        }
        let params = json!({
            "protocolVersion": self.version,
            "capabilities": self.capabilities(),
            "clientInfo": Self::client_info(),
        });
        let result = self.request("initialize", params, None, &[]).await?;
        if let Some(agreed) = result["protocolVersion"]
            .as_str()
            .filter(|v| KNOWN_VERSIONS.contains(v))
        {
            self.version = agreed.to_owned();
        }
        self.notify("notifications/initialized").await?;
        if self.server_requests == ServerRequests::Accepted {
            self.listen().await;
        }
        Ok(())
    }

    /// Opens the standalone `GET` stream on which a stateful server sends requests
    /// of its own (elicitation, roots), and answers them in the background. Best
    /// effort: a server without that stream answers 405, which is fine. Once
    /// signed in, the requests go through the SDK (bearer or DPoP); it never signs
    /// in from here.
    ///
    /// The stream is established before this returns, so that nothing the server
    /// sends after the handshake can miss it.
    async fn listen(&self) {
        let http = self.http.clone();
        let url = self.server_url.clone();
        let version = self.version.clone();
        let session_id = self.session_id.clone();
        let connection = self.connection.clone();
        let with_headers = move |builder: reqwest::RequestBuilder| {
            let mut builder = builder.header("MCP-Protocol-Version", &version);
            if let Some(id) = &session_id {
                builder = builder.header("Mcp-Session-Id", id);
            }
            builder
        };
        let send = move |builder: reqwest::RequestBuilder| {
            let http = http.clone();
            let connection = connection.clone();
            async move {
                let request = builder.build().ok()?;
                match &connection {
                    Some(connection) => connection.send(request).await.ok(),
                    None => http.execute(request).await.ok(),
                }
            }
        };
        let get = with_headers(
            self.http
                .get(url.clone())
                .header("Accept", "text/event-stream"),
        );
        let Some(mut response) = send(get).await else {
            return;
        };
        if !response.status().is_success() || !is_sse(&response) {
            return;
        }
        let poster = self.http.clone();
        tokio::spawn(async move {
            let mut buffer: Vec<u8> = Vec::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.extend(chunk.iter().filter(|b| **b != b'\r'));
                while let Some((event, rest)) = split_event(&buffer) {
                    buffer = rest;
                    let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                        continue;
                    };
                    let Some(reply) = reply_to(&message) else {
                        continue;
                    };
                    let post = with_headers(poster.post(url.clone()))
                        .header("Content-Type", "application/json")
                        .header("Accept", "application/json, text/event-stream")
                        .body(reply.to_string());
                    if send(post).await.is_none() {
                        eprintln!("answering the server failed");
                    }
                }
            }
        });
    }

    /// The server's tools, without those whose `x-mcp-header` annotations are
    /// invalid (SEP-2243: such a tool must not be used; the others still are).
    pub async fn list_tools(&mut self) -> Result<Vec<Tool>, BoxError> {
        let result = self.request("tools/list", json!({}), None, &[]).await?;
        let tools = result["tools"].as_array().cloned().unwrap_or_default();
        Ok(tools
            .into_iter()
            .filter_map(|t| {
                let tool = Tool {
                    name: t["name"].as_str()?.to_owned(),
                    input_schema: t["inputSchema"].clone(),
                };
                match header_params(&tool.input_schema) {
                    Ok(_) => Some(tool),
                    Err(reason) => {
                        eprintln!("skipping tool {}: {reason}", tool.name);
                        None
                    }
                }
            })
            .collect())
    }

    /// Calls `tool` with `arguments`, answering any `input_required` rounds.
    pub async fn call_tool(&mut self, tool: &Tool, arguments: Value) -> Result<Value, BoxError> {
        let mut headers = Vec::new();
        if self.stateless() {
            for (param, header) in header_params(&tool.input_schema)? {
                if let Some(value) = arguments.get(&param).and_then(header_value) {
                    headers.push((format!("Mcp-Param-{header}"), value));
                }
            }
        }
        let mut params = json!({ "name": tool.name, "arguments": arguments });
        for _ in 0..MAX_INPUT_ROUNDS {
            let result = self
                .request("tools/call", params.clone(), Some(&tool.name), &headers)
                .await?;
            if result["resultType"] != "input_required" {
                return Ok(result);
            }
            // SEP-2322: fulfil the server's requests, then send the same call again
            // (new JSON-RPC id) with the answers and the server's state echoed
            // verbatim; no state if the server sent none.
            let mut responses = Map::new();
            if let Some(requests) = result["inputRequests"].as_object() {
                for (key, request) in requests {
                    let method = request["method"].as_str().unwrap_or_default();
                    responses.insert(
                        key.clone(),
                        answer_server_request(method, &request["params"]),
                    );
                }
            }
            params = json!({ "name": tool.name, "arguments": params["arguments"], "inputResponses": responses });
            if let Some(state) = result.get("requestState") {
                params["requestState"] = state.clone();
            }
        }
        Err(format!("tools/call {}: too many input_required rounds", tool.name).into())
    }

    async fn notify(&mut self, method: &str) -> Result<(), BoxError> {
        let body = json!({ "jsonrpc": "2.0", "method": method });
        self.post(method, None, &[], &body).await.map(drop)
    }

    async fn request(
        &mut self,
        method: &str,
        params: Value,
        name: Option<&str>,
        headers: &[(String, String)],
    ) -> Result<Value, BoxError> {
        let mut version_retried = false;
        loop {
            let mut params = params.clone();
            if self.stateless() {
                params["_meta"] = json!({
                    "io.modelcontextprotocol/protocolVersion": self.version,
                    "io.modelcontextprotocol/clientInfo": Self::client_info(),
                    "io.modelcontextprotocol/clientCapabilities": self.capabilities(),
                });
            }
            let id = self.next_id;
            self.next_id += 1;
            let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
            let response = self.post(method, name, headers, &body).await?;
            let status = response.status();
            let message = if status.is_success() {
                self.read_response(response, id).await?
            } else {
                let text = response.text().await.unwrap_or_default();
                match serde_json::from_str::<Value>(&text) {
                    Ok(message) if message.get("error").is_some() => message,
                    _ => {
                        return Err(format!(
                            "{method}: HTTP {status}: {}",
                            text.chars().take(300).collect::<String>()
                        )
                        .into())
                    }
                }
            };
            if let Some(error) = message.get("error") {
                if error["code"].as_i64() == Some(UNSUPPORTED_PROTOCOL_VERSION) && !version_retried
                {
                    if let Some(version) = supported_version(&error["data"]["supported"]) {
                        eprintln!(
                            "server rejected protocol {}; retrying with {version}",
                            self.version
                        );
                        self.version = version;
                        version_retried = true;
                        continue;
                    }
                }
                return Err(Box::new(RpcError {
                    method: method.to_owned(),
                    error: error.clone(),
                }));
            }
            return Ok(message["result"].clone());
        }
    }

    fn build(
        &self,
        method: &str,
        name: Option<&str>,
        headers: &[(String, String)],
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
            for (header, value) in headers {
                builder = builder.header(header, value);
            }
        }
        if let Some(session_id) = &self.session_id {
            builder = builder.header("Mcp-Session-Id", session_id);
        }
        builder.build()
    }

    /// Sends one request: through the SDK once signed in, otherwise plainly,
    /// signing in when the server asks for it with a 401.
    async fn send(&mut self, request: reqwest::Request) -> Result<reqwest::Response, BoxError> {
        let retry = request.try_clone();
        let response = match &self.connection {
            Some(connection) => connection.send(request).await?,
            None => {
                let response = self.http.execute(request).await?;
                if response.status() != reqwest::StatusCode::UNAUTHORIZED {
                    response
                } else {
                    let challenge = challenge_of(&response).unwrap_or_default();
                    let connection = self
                        .oauth
                        .connect_after_challenge(self.preset.clone(), challenge)
                        .await?;
                    let retry = retry.ok_or("the request cannot be replayed")?;
                    let response = connection.send(retry).await?;
                    self.connection = Some(connection);
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
        Ok(response)
    }

    async fn post(
        &mut self,
        method: &str,
        name: Option<&str>,
        headers: &[(String, String)],
        body: &Value,
    ) -> Result<reqwest::Response, BoxError> {
        let request = self.build(method, name, headers, body)?;
        self.send(request).await
    }

    /// The JSON-RPC response with `id`, from a JSON body or an SSE stream. Server
    /// requests arriving on the stream are answered; a stream that closes before
    /// the response is resumed with `GET` and `Last-Event-ID`, after `retry`.
    async fn read_response(
        &mut self,
        response: reqwest::Response,
        id: u64,
    ) -> Result<Value, BoxError> {
        let mut response = response;
        let mut last_event_id = None;
        let mut retry_ms = None;
        for _ in 0..=MAX_RESUMPTIONS {
            if !is_sse(&response) {
                let text = response.text().await?;
                return Ok(serde_json::from_str(&text)?);
            }
            // Raw bytes until an event is complete, so a UTF-8 sequence split
            // across chunks stays intact; `\r` is dropped to unify line ends.
            let mut buffer: Vec<u8> = Vec::new();
            loop {
                let Some(chunk) = response.chunk().await? else {
                    break;
                };
                buffer.extend(chunk.iter().filter(|b| **b != b'\r'));
                while let Some((event, rest)) = split_event(&buffer) {
                    buffer = rest;
                    if event.id.is_some() {
                        last_event_id = event.id.clone();
                    }
                    if event.retry.is_some() {
                        retry_ms = event.retry;
                    }
                    let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                        continue;
                    };
                    if message["id"] == json!(id) && message.get("method").is_none() {
                        return Ok(message);
                    }
                    self.on_server_message(&message).await?;
                }
            }
            // The stream ended without our response: resume it (SEP-1699).
            tokio::time::sleep(Duration::from_millis(retry_ms.unwrap_or(1000))).await;
            let mut get = self
                .http
                .get(self.server_url.clone())
                .header("Accept", "text/event-stream")
                .header("MCP-Protocol-Version", &self.version);
            if let Some(session_id) = &self.session_id {
                get = get.header("Mcp-Session-Id", session_id);
            }
            if let Some(event_id) = &last_event_id {
                get = get.header("Last-Event-ID", event_id);
            }
            response = self.send(get.build()?).await?;
            if !response.status().is_success() {
                return Err(
                    format!("resuming the event stream: HTTP {}", response.status()).into(),
                );
            }
        }
        Err(format!("no response with id {id} in the event stream").into())
    }

    /// Answers a request the server sent on a stream; notifications are ignored.
    async fn on_server_message(&mut self, message: &Value) -> Result<(), BoxError> {
        let Some(reply) = reply_to(message) else {
            return Ok(());
        };
        let method = message["method"].as_str().unwrap_or_default();
        let request = self.build(method, None, &[], &reply)?;
        let response = self.send(request).await?;
        if !response.status().is_success() {
            eprintln!(
                "the server did not take our {method} answer: HTTP {}",
                response.status()
            );
        }
        Ok(())
    }
}

/// The JSON-RPC answer to a server-to-client request; `None` for anything else.
fn reply_to(message: &Value) -> Option<Value> {
    let (method, id) = (message["method"].as_str()?, message.get("id")?);
    let result = answer_server_request(method, &message["params"]);
    Some(match result.get("error") {
        Some(error) => json!({ "jsonrpc": "2.0", "id": id, "error": error }),
        None => json!({ "jsonrpc": "2.0", "id": id, "result": result }),
    })
}

/// What this client answers to a server-to-client request. It has no user to
/// ask, so it accepts elicitations with each field's default (SEP-1034) or a
/// plausible value, and exposes no roots.
fn answer_server_request(method: &str, params: &Value) -> Value {
    match method {
        "elicitation/create" => json!({
            "action": "accept",
            "content": arguments_for(&params["requestedSchema"], true),
        }),
        "roots/list" => json!({ "roots": [] }),
        "ping" => json!({}),
        _ => {
            json!({ "error": { "code": -32601, "message": format!("{method} is not supported") } })
        }
    }
}

/// Arguments for a tool (or elicitation form) from its JSON Schema: each
/// property's `default`, else a value of its type. `all` fills optional
/// properties too; otherwise only the required ones.
pub fn arguments_for(schema: &Value, all: bool) -> Value {
    let mut out = Map::new();
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            if all || required.contains(&name.as_str()) {
                out.insert(name.clone(), value_for(schema, property, 0));
            }
        }
    }
    Value::Object(out)
}

fn value_for(root: &Value, schema: &Value, depth: usize) -> Value {
    if let Some(default) = schema.get("default") {
        return default.clone();
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema["enum"].as_array().and_then(|e| e.first()) {
        return first.clone();
    }
    // Same-document references only: network `$ref`s are never fetched (SEP-2106).
    if let Some(target) = schema["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        if depth < 8 {
            if let Some(resolved) = root.pointer(target) {
                return value_for(root, resolved, depth + 1);
            }
        }
        return Value::Null;
    }
    match schema["type"].as_str() {
        Some("string") => json!("test"),
        Some("integer") | Some("number") => json!(1),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        Some("object") => arguments_for(schema, false),
        Some("null") => Value::Null,
        _ => json!("test"),
    }
}

/// The `x-mcp-header` annotations of a tool's parameters: (parameter, header
/// name) pairs, or why the tool must not be used (SEP-2243: non-empty, token
/// characters only, unique ignoring case, on string/integer/boolean only).
fn header_params(schema: &Value) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(properties) = schema["properties"].as_object() else {
        return Ok(out);
    };
    for (param, property) in properties {
        let Some(header) = property.get("x-mcp-header") else {
            continue;
        };
        let header = header
            .as_str()
            .ok_or_else(|| format!("x-mcp-header of {param} is not a string"))?;
        if header.is_empty() {
            return Err(format!("x-mcp-header of {param} is empty"));
        }
        if !header.bytes().all(is_tchar) {
            return Err(format!(
                "x-mcp-header {header:?} is not a valid header name"
            ));
        }
        if !matches!(
            property["type"].as_str(),
            Some("string" | "integer" | "boolean")
        ) {
            return Err(format!(
                "x-mcp-header on {param}, which is not a string, integer or boolean"
            ));
        }
        if out.iter().any(|(_, h)| h.eq_ignore_ascii_case(header)) {
            return Err(format!("x-mcp-header {header:?} is used twice"));
        }
        out.push((param.clone(), header.to_owned()));
    }
    Ok(out)
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A parameter's value as an `Mcp-Param-*` header value; `None` for null. Strings
/// that are not plain visible ASCII, or have surrounding whitespace, are sent as
/// `=?base64?…?=`.
fn header_value(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => {
            let plain = s.bytes().all(|b| (0x20..=0x7e).contains(&b))
                && s.trim() == s
                && !(s.starts_with("=?") && s.ends_with("?="));
            Some(if plain {
                s.clone()
            } else {
                format!(
                    "=?base64?{}?=",
                    base64::engine::general_purpose::STANDARD.encode(s.as_bytes())
                )
            })
        }
        _ => None,
    }
}

/// The newest version in the server's `supported` list that this client speaks.
fn supported_version(supported: &Value) -> Option<String> {
    let supported: Vec<&str> = supported
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    KNOWN_VERSIONS
        .iter()
        .find(|v| supported.contains(v))
        .map(|v| (*v).to_owned())
}

fn is_sse(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/event-stream"))
}

/// The first complete event in `buffer` (lines ending in `\n`), and what follows.
fn split_event(buffer: &[u8]) -> Option<(SseEvent, Vec<u8>)> {
    let end = buffer.windows(2).position(|w| w == b"\n\n")?;
    let text = String::from_utf8_lossy(&buffer[..end]);
    let mut event = SseEvent::default();
    let mut data = Vec::new();
    for line in text.lines() {
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "id" => event.id = Some(value.to_owned()),
            "retry" => event.retry = value.parse().ok(),
            "data" => data.push(value),
            _ => {}
        }
    }
    event.data = data.join("\n");
    Some((event, buffer[end + 2..].to_vec()))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_base64_what_a_header_cannot_carry() {
        let table = [
            (json!("us-west1"), Some("us-west1")),
            (json!("us west 1"), Some("us west 1")),
            (json!(" padded "), Some("=?base64?IHBhZGRlZCA=?=")),
            (json!("line1\nline2"), Some("=?base64?bGluZTEKbGluZTI=?=")),
            (
                json!("Hello, 世界"),
                Some("=?base64?SGVsbG8sIOS4lueVjA==?="),
            ),
            (json!(42), Some("42")),
            (json!(false), Some("false")),
            (json!(""), Some("")),
            (Value::Null, None),
        ];
        for (value, want) in table {
            assert_eq!(header_value(&value).as_deref(), want, "{value}");
        }
    }

    #[test]
    fn invalid_header_annotations_exclude_the_tool() {
        let ok = json!({ "properties": { "r": { "type": "string", "x-mcp-header": "Region" } } });
        assert_eq!(
            header_params(&ok).unwrap(),
            vec![("r".into(), "Region".into())]
        );
        for bad in [
            json!({ "properties": { "v": { "type": "string", "x-mcp-header": "" } } }),
            json!({ "properties": { "v": { "type": "number", "x-mcp-header": "N" } } }),
            json!({ "properties": { "v": { "type": "object", "x-mcp-header": "O" } } }),
            json!({ "properties": { "v": { "type": "string", "x-mcp-header": "My Region" } } }),
            json!({ "properties": { "v": { "type": "string", "x-mcp-header": "Région" } } }),
            json!({ "properties": {
                "a": { "type": "string", "x-mcp-header": "MyField" },
                "b": { "type": "string", "x-mcp-header": "myfield" } } }),
        ] {
            assert!(header_params(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sse_events_are_split_with_ids_and_retry() {
        let (event, rest) =
            split_event(b"id: e1\nretry: 500\ndata: \n\ndata: {\"a\":1}\n\n").unwrap();
        assert_eq!(event.id.as_deref(), Some("e1"));
        assert_eq!(event.retry, Some(500));
        assert_eq!(event.data, "");
        let (event, rest) = split_event(&rest).unwrap();
        assert_eq!(event.data, "{\"a\":1}");
        assert!(split_event(&rest).is_none());
    }

    #[test]
    fn arguments_follow_defaults_types_and_local_refs() {
        let schema = json!({
            "$defs": { "id": { "type": "string" } },
            "properties": {
                "a": { "type": "number" },
                "n": { "type": "string", "default": "John" },
                "id": { "$ref": "#/$defs/id" },
                "p": { "$ref": "http://example.com/x.json" },
                "opt": { "type": "boolean" }
            },
            "required": ["a", "n", "id"]
        });
        assert_eq!(
            arguments_for(&schema, false),
            json!({ "a": 1, "n": "John", "id": "test" })
        );
    }
}

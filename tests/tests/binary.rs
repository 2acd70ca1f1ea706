//! The `mcp-oauth-test-server` binary: starts with flags, prints the MCP URL on its
//! first stdout line, and serves the configured metadata.

mod common;

use common::{get, within};
use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn binary_prints_the_mcp_url_and_serves_the_configured_server() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mcp-oauth-test-server"))
        .args([
            "--issuer-path",
            "/tenant1",
            "--auth-methods",
            "client_secret_post",
            "--no-iss",
            "--registration",
            "closed",
            "--client-id",
            "app",
            "--client-secret",
            "s",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let line = within(async {
        BufReader::new(stdout)
            .lines()
            .next_line()
            .await
            .expect("stdout is readable")
            .expect("a first line")
    })
    .await;
    let mcp_url = url::Url::parse(&line).expect("the first line is the MCP URL");
    assert_eq!(mcp_url.path(), "/mcp");
    let origin = mcp_url.origin().ascii_serialization();

    let metadata = get(&format!(
        "{origin}/.well-known/oauth-authorization-server/tenant1"
    ))
    .await;
    assert_eq!(metadata.status, StatusCode::OK);
    assert_eq!(metadata.json["issuer"], json!(format!("{origin}/tenant1")));
    assert_eq!(
        metadata.json["token_endpoint_auth_methods_supported"],
        json!(["client_secret_post"])
    );
    assert_eq!(
        metadata.json["authorization_response_iss_parameter_supported"],
        json!(false)
    );
    let register = common::send(
        common::http()
            .post(format!("{origin}/tenant1/register"))
            .header("content-type", "application/json")
            .body("{}"),
    )
    .await;
    assert_eq!(register.status, StatusCode::FORBIDDEN);
    child.kill().await.expect("the binary stops");
}

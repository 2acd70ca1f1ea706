//! The `mcp-oauth` command, run as a user would: `login --no-browser` against the
//! bundled test server (the test plays the browser by following the printed URL),
//! then `status --json`, `token`, `logout`, and the exit codes scripts rely on.

use mcp_oauth_tests::{TestServer, TestServerConfig};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_mcp-oauth");

fn cli(store: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .expect("run mcp-oauth")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_status_token_logout() {
    let server = TestServer::start(TestServerConfig::default())
        .await
        .expect("server");
    let url = server.mcp_url().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("tokens.json");

    // Not signed in yet: exit code 3.
    let missing = cli(&store, &["token", &url]);
    assert_eq!(missing.status.code(), Some(3), "{missing:?}");

    let mut login = Command::new(BIN)
        .arg("--store")
        .arg(&store)
        .args(["login", &url, "--no-browser", "--timeout", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn login");
    // Keep draining stderr after the URL shows up: the CLI goes on printing
    // progress there, and a closed pipe would kill it.
    let stderr = login.stderr.take().expect("stderr");
    let (found, url_line) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let line = line.trim();
            if line.starts_with("http") && line.contains("/authorize?") {
                let _ = found.send(line.to_owned());
            }
        }
    });
    let authorization_url = url_line
        .recv_timeout(Duration::from_secs(20))
        .expect("login prints the authorization URL");
    let followed = reqwest::get(&authorization_url).await.expect("follow URL");
    assert!(
        followed.status().is_success(),
        "callback page: {}",
        followed.status()
    );
    let status = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || login.wait()),
    )
    .await
    .expect("login finishes")
    .expect("join")
    .expect("wait");
    assert!(status.success(), "login exit status {status:?}");

    let listed = cli(&store, &["--json", "status"]);
    assert!(listed.status.success(), "{listed:?}");
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("JSON status");
    assert_eq!(rows[0]["connection"], url.as_str());
    assert_eq!(rows[0]["issuer"], server.issuer().as_str());
    assert_eq!(rows[0]["status"]["state"], "connected", "{rows}");

    let token = cli(&store, &["token", &url]);
    assert!(token.status.success(), "{token:?}");
    let token = String::from_utf8(token.stdout).expect("utf-8");
    let answer = reqwest::Client::new()
        .post(server.mcp_url())
        .bearer_auth(token.trim())
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .expect("MCP call");
    assert_eq!(answer.status(), 200);

    let out = cli(&store, &["logout", &url]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(cli(&store, &["token", &url]).status.code(), Some(3));
    assert_eq!(
        cli(&store, &["logout"]).status.code(),
        Some(2),
        "usage error"
    );
    server.shutdown().await;
}

#[test]
fn demo_signs_in_calls_refreshes_and_lists_tools() {
    let out = Command::new(BIN)
        .args(["--json", "demo"])
        .output()
        .expect("run demo");
    assert!(out.status.success(), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["status"]["state"], "connected", "{report}");
    // probe, PRM, AS metadata, registration, authorize, token.
    assert_eq!(report["sign_in_round_trips"], 6, "{report}");
    let tools = report["tools"].as_array().expect("tools");
    assert!(tools.iter().any(|t| t == "echo"), "{report}");
}

#[test]
fn a_corrupt_store_is_moved_aside_with_a_readable_time_and_the_user_is_told() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("tokens.json");
    std::fs::write(&store, b"{\"version\":1,\"entries\":").expect("write");
    let status = cli(&store, &["status"]);
    assert!(status.status.success(), "{status:?}");
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains("warning: the token store"), "{stderr}");
    assert!(stderr.contains("tokens.json.broken-20"), "{stderr}");
    let moved: Vec<String> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .filter(|name| name.starts_with("tokens.json.broken-"))
        .collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(moved[0].ends_with('Z'), "ISO 8601 UTC: {moved:?}");
}

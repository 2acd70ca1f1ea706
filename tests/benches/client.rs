//! What the native client costs, each figure next to a peer measured in the same
//! run so the numbers can be read as ratios rather than machine-dependent times:
//!
//! - `access_token/valid`: `Connection::access_token()` on a fresh token, against
//!   `access_token/peer_mutex_clone` (locking a tokio mutex and cloning a string,
//!   the least any thread-safe token cache can do).
//! - `connect/cold_dynamic`: a whole dynamic sign-in (probe, discovery,
//!   registration, authorization through a headless user agent, code exchange)
//!   against the local test server, against `connect/peer_one_round_trip` (one
//!   unauthenticated POST to the same server).
//!
//! It also prints the HTTP round trips of one cold connect, from the server log.
//! Run with `bash scripts/bench.sh`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use mcp_oauth::opener::HeadlessBrowser;
use mcp_oauth::store::MemoryStore;
use mcp_oauth::{OAuthClient, Preset};
use mcp_oauth_tests::{TestServer, TestServerConfig};
use std::sync::Arc;
use std::time::Duration;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn client() -> OAuthClient {
    OAuthClient::builder("mcp-oauth bench")
        .store(Arc::new(MemoryStore::new()))
        .opener(HeadlessBrowser::new().expect("headless browser"))
        .callback_timeout(Duration::from_secs(20))
        .build()
        .expect("client")
}

fn access_token(c: &mut Criterion) {
    let rt = runtime();
    let server = rt
        .block_on(TestServer::start(TestServerConfig::default()))
        .expect("server");
    let connection = rt
        .block_on(client().connect(Preset::dynamic(server.mcp_url().as_str())))
        .expect("connect");
    let mut group = c.benchmark_group("access_token");
    group.bench_function("valid", |b| {
        b.to_async(&rt)
            .iter(|| async { connection.access_token().await.expect("token") })
    });
    let peer = tokio::sync::Mutex::new("x".repeat(43));
    group.bench_function("peer_mutex_clone", |b| {
        b.to_async(&rt).iter(|| async { peer.lock().await.clone() })
    });
    group.finish();
    rt.block_on(server.shutdown());
}

fn connect(c: &mut Criterion) {
    let rt = runtime();
    let server = rt
        .block_on(TestServer::start(TestServerConfig::default()))
        .expect("server");
    let url = server.mcp_url().to_string();

    server.clear_log();
    rt.block_on(client().connect(Preset::dynamic(&url)))
        .expect("connect");
    let log = server.log();
    eprintln!(
        "round trips per cold connect: {} ({})",
        log.len(),
        log.iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let mut group = c.benchmark_group("connect");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("cold_dynamic", |b| {
        b.to_async(&rt).iter(|| async {
            client()
                .connect(Preset::dynamic(&url))
                .await
                .expect("connect")
        })
    });
    let http = reqwest::Client::new();
    group.bench_function("peer_one_round_trip", |b| {
        b.to_async(&rt).iter(|| async {
            http.post(&url)
                .json(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize"}))
                .send()
                .await
                .expect("round trip")
                .status()
        })
    });
    group.finish();
    rt.block_on(server.shutdown());
}

/// Step-up scope union of a hostile 40 000-scope challenge (issue 10: it was
/// quadratic, 1.3 s of CPU), beside its peer: splitting and joining the same
/// string, which any union must at least do. The ratio stays small and flat as
/// the count grows when the union is linear.
fn scope_union(c: &mut Criterion) {
    let scopes: Vec<String> = (0..40_000).map(|i| format!("scope:{i}")).collect();
    let challenged = scopes.join(" ");
    let mut group = c.benchmark_group("scope_union_40k");
    group.sample_size(20);
    group.bench_function("union", |b| {
        b.iter(|| mcp_oauth::core::scope::union(Some("mcp:read"), Some(&challenged)))
    });
    group.bench_function("peer_split_join", |b| {
        b.iter(|| {
            std::iter::once("mcp:read")
                .chain(challenged.split_ascii_whitespace())
                .collect::<Vec<_>>()
                .join(" ")
        })
    });
    group.finish();
}

criterion_group!(benches, access_token, connect, scope_union);
criterion_main!(benches);

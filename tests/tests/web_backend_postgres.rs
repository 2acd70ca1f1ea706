//! Several instances of a Rust web backend on one PostgreSQL (`scripts/with-postgres.sh
//! cargo test -p mcp-oauth-tests --features postgres --test web_backend_postgres`):
//! each instance is an `OAuthClient` with a `PostgresStore` (a pool) of its own,
//! values sealed. A sign-in begun on one completes on the other; at expiry, 100
//! concurrent token requests spread over both make one refresh against a server
//! that rotates refresh tokens; and the table holds no readable token.
#![cfg(feature = "postgres")]

use mcp_oauth::client::Clock;
use mcp_oauth::core::seal::{SealKey, SealKeys};
use mcp_oauth::store::PostgresStore;
use mcp_oauth::{OAuthClient, PendingMode, Preset};
use mcp_oauth_tests::{TestServer, TestServerConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";
const CONNECTION: &str = "user-42/test-server";
const CALLS: usize = 100;

fn connection_string() -> String {
    std::env::var("MCP_OAUTH_TEST_POSTGRES").expect(
        "MCP_OAUTH_TEST_POSTGRES is not set: run through scripts/with-postgres.sh, which starts a cluster",
    )
}

/// The clock every instance reads, moved forward by the test.
#[derive(Clone, Default)]
struct SharedClock(Arc<AtomicU64>);

impl SharedClock {
    fn clock(&self) -> Clock {
        let offset = Arc::clone(&self.0);
        Arc::new(move || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_secs()
                + offset.load(Ordering::SeqCst)
        })
    }
}

async fn instance(table: &str, clock: &SharedClock, mode: PendingMode) -> OAuthClient {
    let config: tokio_postgres::Config = connection_string().parse().expect("config");
    let pool = deadpool_postgres::Pool::builder(deadpool_postgres::Manager::new(
        config,
        tokio_postgres::NoTls,
    ))
    .max_size(8)
    .build()
    .expect("pool");
    let store = PostgresStore::from_pool(pool, table).await.expect("store");
    let keys = SealKeys::new([SealKey::new("k1", &[9; 32]).expect("key")]).expect("keys");
    OAuthClient::builder("rust web backend")
        .store(Arc::new(store))
        .seal_keys(keys)
        .pending_sign_ins(mode)
        .clock(clock.clock())
        .build()
        .expect("client")
}

async fn raw_values(table: &str) -> Vec<String> {
    let (client, connection) = tokio_postgres::connect(&connection_string(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .query(&format!("SELECT value FROM {table}"), &[])
        .await
        .expect("query")
        .into_iter()
        .map(|row| row.get(0))
        .collect()
}

/// Follows the authorization URL to the redirect, as the user's browser would.
async fn browser(authorization_url: &url::Url) -> String {
    let answer = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http")
        .get(authorization_url.clone())
        .send()
        .await
        .expect("authorize");
    answer.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn instances_share_sign_ins_and_refresh_once_between_them() {
    let server = TestServer::start(TestServerConfig {
        rotate_refresh_tokens: true,
        ..TestServerConfig::default()
    })
    .await
    .expect("server");
    let clock = SharedClock::default();
    let a = instance("rust_instances", &clock, PendingMode::Stored).await;
    let b = instance("rust_instances", &clock, PendingMode::Stored).await;

    let preset = Preset::dynamic(server.mcp_url().as_str()).with_connection_id(CONNECTION);
    let started = a
        .begin(preset, REDIRECT, "user-42")
        .await
        .expect("begin on a");
    let callback = browser(&started.authorization_url).await;
    let connection = b
        .complete(&callback, "user-42")
        .await
        .expect("complete on b");
    let token = connection.access_token().await.expect("token");
    for value in raw_values("rust_instances").await {
        assert!(value.starts_with("s1.k1."), "{value}");
        assert!(!value.contains(token.expose()));
    }

    // Both instances load the connection per request, as a stateless backend does.
    clock.0.fetch_add(7200, Ordering::SeqCst);
    let before = server.count("POST", "/token");
    let calls: Vec<_> = (0..CALLS)
        .map(|i| {
            let client = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                let connection = client
                    .connection(CONNECTION)
                    .await?
                    .expect("stored connection");
                connection.access_token().await
            })
        })
        .collect();
    let mut tokens = Vec::new();
    for call in calls {
        let token = tokio::time::timeout(Duration::from_secs(60), call)
            .await
            .expect("in time")
            .expect("task")
            .expect("a token");
        tokens.push(token.expose().to_owned());
    }
    let refreshes = server.count("POST", "/token") - before;
    println!("{CALLS} concurrent calls over 2 instances at expiry: {refreshes} refresh request(s)");
    assert_eq!(refreshes, 1, "one refresh across both instances");
    assert!(tokens.windows(2).all(|w| w[0] == w[1]), "one token for all");
    assert_ne!(tokens[0], token.expose());
    server.shutdown().await;
}

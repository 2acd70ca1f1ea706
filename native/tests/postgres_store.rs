//! The PostgreSQL store against a real server: `bash scripts/with-postgres.sh
//! cargo test -p mcp-oauth --features postgres --test postgres_store` starts a
//! throwaway cluster and passes its connection string in
//! `MCP_OAUTH_TEST_POSTGRES`. Each test works in a table of its own, and each
//! "instance" is a store with a pool of its own, as separate processes would be.
#![cfg(feature = "postgres")]

use mcp_oauth::core::seal::{SealKey, SealKeys};
use mcp_oauth::store::{PostgresStore, SealedStore, TokenStore};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn connection_string() -> String {
    std::env::var("MCP_OAUTH_TEST_POSTGRES").expect(
        "MCP_OAUTH_TEST_POSTGRES is not set: run through scripts/with-postgres.sh, which starts a cluster",
    )
}

/// A store on `table`, with its own connection pool: one "instance".
async fn instance(table: &str) -> PostgresStore {
    instance_with_pool(table, 8).await
}

async fn instance_with_pool(table: &str, connections: usize) -> PostgresStore {
    let config: tokio_postgres::Config = connection_string().parse().expect("config");
    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    let pool = deadpool_postgres::Pool::builder(manager)
        .max_size(connections)
        .build()
        .expect("pool");
    PostgresStore::from_pool(pool, table).await.expect("store")
}

/// Reads a row without the store, as `psql` would.
async fn raw_value(table: &str, key: &str) -> Option<String> {
    let (client, connection) = tokio_postgres::connect(&connection_string(), tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .query_opt(
            &format!("SELECT value FROM {table} WHERE key = $1"),
            &[&key],
        )
        .await
        .expect("query")
        .map(|row| row.get(0))
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

#[tokio::test]
async fn values_round_trip_and_list() {
    let store = instance("t_round_trip").await;
    store.set("session/a", "1".into()).await.unwrap();
    store.set("session/b", "2".into()).await.unwrap();
    store.set("session/a", "3".into()).await.unwrap();
    assert_eq!(store.get("session/a").await.unwrap().as_deref(), Some("3"));
    assert_eq!(store.keys().await.unwrap(), ["session/a", "session/b"]);
    store.delete("session/a").await.unwrap();
    store.delete("session/missing").await.unwrap();
    assert_eq!(store.get("session/a").await.unwrap(), None);
    // Another instance sees the same table.
    let other = instance("t_round_trip").await;
    assert_eq!(other.get("session/b").await.unwrap().as_deref(), Some("2"));
}

#[tokio::test]
async fn expired_rows_are_invisible_and_swept() {
    let store = instance("t_expiry").await;
    store
        .set_expiring("pending/old", "x".into(), now() - 10)
        .await
        .unwrap();
    store
        .set_expiring("pending/live", "y".into(), now() + 600)
        .await
        .unwrap();
    assert_eq!(store.get("pending/old").await.unwrap(), None);
    assert_eq!(store.take("pending/old").await.unwrap(), None);
    assert_eq!(store.keys().await.unwrap(), ["pending/live"]);
    store
        .set_expiring("pending/old2", "z".into(), now() - 10)
        .await
        .unwrap();
    store
        .set_expiring("pending/next", "w".into(), now() + 600)
        .await
        .unwrap();
    assert_eq!(
        raw_value("t_expiry", "pending/old2").await,
        None,
        "an expiring write sweeps expired rows"
    );
    // A plain write of the same key keeps it for good.
    store.set("pending/live", "kept".into()).await.unwrap();
    assert_eq!(
        store.get("pending/live").await.unwrap().as_deref(),
        Some("kept")
    );
}

#[tokio::test]
async fn of_many_takes_across_instances_exactly_one_gets_the_row() {
    let a = Arc::new(instance("t_take").await);
    let b = Arc::new(instance("t_take").await);
    for round in 0..5 {
        let key = format!("pending/state-{round}");
        a.set_expiring(&key, "record".into(), now() + 600)
            .await
            .unwrap();
        let takers: Vec<_> = (0..16)
            .map(|i| {
                let store = if i % 2 == 0 { a.clone() } else { b.clone() };
                let key = key.clone();
                tokio::spawn(async move { store.take(&key).await.unwrap() })
            })
            .collect();
        let mut winners = 0;
        for taker in takers {
            winners += usize::from(taker.await.unwrap().is_some());
        }
        assert_eq!(winners, 1, "round {round}");
    }
}

#[tokio::test]
async fn a_lock_excludes_other_instances_until_dropped() {
    let a = Arc::new(instance("t_lock").await);
    let b = Arc::new(instance("t_lock").await);
    let inside = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let (inside, overlaps) = (inside.clone(), overlaps.clone());
            tokio::spawn(async move {
                let guard = store.lock("session/c").await.unwrap().expect("a lock");
                if inside.fetch_add(1, Ordering::SeqCst) != 0 {
                    overlaps.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
                drop(guard);
            })
        })
        .collect();
    for worker in workers {
        worker.await.unwrap();
    }
    assert_eq!(overlaps.load(Ordering::SeqCst), 0);
    // Locks are per name.
    let _one = a.lock("session/x").await.unwrap().expect("a lock");
    let _other = b.lock("session/y").await.unwrap().expect("a lock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_never_starve_the_lock_holder_of_connections() {
    // A holder reads and writes while holding the lock; with more waiters than
    // pooled connections, a waiter holding a connection would deadlock it.
    let store = Arc::new(instance_with_pool("t_starve", 2).await);
    store.set("session/c", "0".into()).await.unwrap();
    let workers: Vec<_> = (0..12)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                let _lock = store.lock("session/c").await.unwrap();
                let n: u32 = store
                    .get("session/c")
                    .await
                    .unwrap()
                    .unwrap()
                    .parse()
                    .unwrap();
                store.set("session/c", (n + 1).to_string()).await.unwrap();
            })
        })
        .collect();
    tokio::time::timeout(Duration::from_secs(20), async {
        for worker in workers {
            worker.await.unwrap();
        }
    })
    .await
    .expect("no deadlock");
    assert_eq!(store.get("session/c").await.unwrap().as_deref(), Some("12"));
}

#[tokio::test]
async fn a_held_lock_makes_another_instance_wait_then_time_out() {
    let a = instance("t_lock_timeout").await;
    let b = instance("t_lock_timeout")
        .await
        .lock_timeout(Duration::from_millis(300));
    let held = a.lock("session/c").await.unwrap().expect("a lock");
    let error = b.lock("session/c").await.unwrap_err();
    assert!(error.to_string().contains("still held"), "{error}");
    drop(held);
    // The unlock runs on the runtime; the next taker gets the lock once it did.
    let again = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match b.lock("session/c").await {
                Ok(lock) => break lock,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await
    .expect("the lock was released");
    assert!(again.is_some());
}

#[tokio::test]
async fn sealed_values_are_unreadable_in_the_table() {
    let keys = SealKeys::new([SealKey::new("k1", &[7; 32]).unwrap()]).unwrap();
    let store = SealedStore::new(Arc::new(instance("t_sealed").await), keys);
    store
        .set("session/a", r#"{"refresh_token":"rt-secret-value"}"#.into())
        .await
        .unwrap();
    let at_rest = raw_value("t_sealed", "session/a").await.unwrap();
    assert!(at_rest.starts_with("s1.k1."), "{at_rest}");
    assert!(!at_rest.contains("rt-secret-value"));
    assert_eq!(
        store.get("session/a").await.unwrap().as_deref(),
        Some(r#"{"refresh_token":"rt-secret-value"}"#)
    );
}

#[tokio::test]
async fn bad_table_names_and_unreachable_servers_are_store_errors() {
    let config: tokio_postgres::Config = connection_string().parse().unwrap();
    let pool = deadpool_postgres::Pool::builder(deadpool_postgres::Manager::new(
        config,
        tokio_postgres::NoTls,
    ))
    .build()
    .unwrap();
    for bad in ["", "Upper", "x; DROP TABLE y", "1abc"] {
        assert!(
            PostgresStore::from_pool(pool.clone(), bad).await.is_err(),
            "{bad:?}"
        );
    }
    let error = PostgresStore::connect("host=/nonexistent/socket/dir user=nobody")
        .await
        .unwrap_err();
    assert!(
        error.to_string().starts_with("token store: postgres"),
        "{error}"
    );
}

//! A token store in one PostgreSQL table, shared by every instance of a web
//! backend (cargo feature `postgres`; `tokio-postgres` with a `deadpool` pool).
//!
//! ```sql
//! CREATE TABLE mcp_oauth_store (
//!   key        text PRIMARY KEY,
//!   value      text NOT NULL,
//!   expires_at timestamptz,            -- set for pending sign-ins only
//!   updated_at timestamptz NOT NULL DEFAULT now()
//! )
//! ```
//!
//! - [`TokenStore::take`] is one `DELETE … RETURNING`: of two instances burning
//!   the same pending sign-in, the database gives the row to one.
//! - [`TokenStore::lock`] is a session-level advisory lock
//!   (`pg_advisory_lock`) on a connection taken from the pool for as long as the
//!   guard lives; dropping the guard unlocks and returns the connection. If the
//!   process dies, the database ends its session and the lock with it. Within
//!   the process, waiters for one key queue before taking a connection, and at
//!   most half the pool holds locks, so a lock holder always finds a connection
//!   for its reads and writes (waiters cannot starve it).
//! - Rows written with [`TokenStore::set_expiring`] are invisible after their
//!   expiry and deleted by later expiring writes, so abandoned sign-ins do not
//!   pile up.
//!
//! Wrap it in a [`super::SealedStore`] to keep values unreadable in the
//! database. [`PostgresStore::connect`] speaks without TLS (a Unix socket or a
//! private network); for TLS build a pool with your connector and use
//! [`PostgresStore::from_pool`].

use super::{StoreLock, TokenStore};
use crate::error::StoreError;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};
use tokio_postgres::NoTls;

/// The table used unless another is named.
pub const DEFAULT_TABLE: &str = "mcp_oauth_store";

/// How long [`TokenStore::lock`] waits for another instance to release it.
const LOCK_TIMEOUT: Duration = Duration::from_secs(30);

/// A [`TokenStore`] in PostgreSQL.
pub struct PostgresStore {
    pool: Pool,
    table: String,
    lock_timeout: Duration,
    /// One queue per lock name in this process.
    local: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
    /// Connections that may hold locks at once: half the pool.
    holders: Arc<Semaphore>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

fn backend(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("postgres {what}: {error}"))
}

/// What a database error says, without its `DETAIL` (which can quote a row).
fn db(what: &str, error: tokio_postgres::Error) -> StoreError {
    match error.as_db_error() {
        Some(db) => backend(what, format!("{} ({})", db.message(), db.code().code())),
        None => backend(what, error),
    }
}

impl PostgresStore {
    /// Connects with a connection string (`host=/var/run/postgresql dbname=app`
    /// or `postgresql://user@host/app`), without TLS, and creates the table if
    /// it is missing.
    pub async fn connect(config: &str) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = config
            .parse()
            .map_err(|e| backend("connection string", e))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .build()
            .map_err(|e| backend("pool", e))?;
        Self::from_pool(pool, DEFAULT_TABLE).await
    }

    /// Uses `pool` (bring your own TLS connector) and the table `table`
    /// (created if missing; a plain SQL identifier).
    pub async fn from_pool(pool: Pool, table: &str) -> Result<Self, StoreError> {
        let valid = !table.is_empty()
            && table.len() <= 63
            && table.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && table
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(StoreError::Backend(format!(
                "postgres table name {table:?} must be lowercase letters, digits and '_'"
            )));
        }
        let holders = Arc::new(Semaphore::new((pool.status().max_size / 2).max(1)));
        let store = Self {
            pool,
            table: table.to_owned(),
            lock_timeout: LOCK_TIMEOUT,
            local: Mutex::new(HashMap::new()),
            holders,
        };
        store.create_table().await?;
        Ok(store)
    }

    /// How long `lock` waits before failing (default 30 s).
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// This process's queue for lock `key`.
    fn local_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut local = self
            .local
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(existing) = local.get(key).and_then(Weak::upgrade) {
            return existing;
        }
        local.retain(|_, queue| queue.strong_count() > 0);
        let queue = Arc::new(tokio::sync::Mutex::new(()));
        local.insert(key.to_owned(), Arc::downgrade(&queue));
        queue
    }

    async fn connection(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| backend("connection", e))
    }

    /// `CREATE TABLE IF NOT EXISTS` races with itself between instances
    /// starting together; a transaction-scoped advisory lock serializes them.
    async fn create_table(&self) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        let transaction = connection
            .transaction()
            .await
            .map_err(|e| db("create table", e))?;
        let table = &self.table;
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                &[&format!("mcp-oauth:create:{table}")],
            )
            .await
            .map_err(|e| db("create table", e))?;
        transaction
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {table} (
                    key text PRIMARY KEY,
                    value text NOT NULL,
                    expires_at timestamptz,
                    updated_at timestamptz NOT NULL DEFAULT now()
                );
                CREATE INDEX IF NOT EXISTS {table}_expires_at
                    ON {table} (expires_at) WHERE expires_at IS NOT NULL;"
            ))
            .await
            .map_err(|e| db("create table", e))?;
        transaction
            .commit()
            .await
            .map_err(|e| db("create table", e))
    }

    async fn upsert(
        &self,
        key: &str,
        value: &str,
        expires_at: Option<u64>,
    ) -> Result<(), StoreError> {
        let table = &self.table;
        let connection = self.connection().await?;
        // Expiring writes also sweep rows that have expired.
        let sql = format!(
            "WITH swept AS (
                DELETE FROM {table} WHERE $3::float8 IS NOT NULL AND expires_at < now()
             )
             INSERT INTO {table} (key, value, expires_at) VALUES ($1, $2, to_timestamp($3::float8))
             ON CONFLICT (key) DO UPDATE
                SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, updated_at = now()"
        );
        let expires_at = expires_at.map(|at| at as f64);
        connection
            .execute(&sql, &[&key, &value, &expires_at])
            .await
            .map_err(|e| db("write", e))?;
        Ok(())
    }
}

/// A held advisory lock: the connection it lives on, and how to release it.
/// The in-process queue and the holder's permit are released after the unlock
/// is sent (fields drop after `drop`).
struct AdvisoryLock {
    connection: Option<Object>,
    id: String,
    _holder: OwnedSemaphorePermit,
    _queue: OwnedMutexGuard<()>,
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        let Some(connection) = self.connection.take() else {
            return;
        };
        let id = std::mem::take(&mut self.id);
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let unlocked = connection
                        .execute(
                            "SELECT pg_advisory_unlock(hashtextextended($1, 0))",
                            &[&id],
                        )
                        .await;
                    if let Err(error) = unlocked {
                        // Closing the session releases every lock it holds.
                        tracing::warn!(%error, "could not unlock a store lock; closing its connection");
                        drop(Object::take(connection));
                    }
                });
            }
            // No runtime to unlock on: end the session instead of pooling it locked.
            Err(_) => drop(Object::take(connection)),
        }
    }
}

#[async_trait::async_trait]
impl TokenStore for PostgresStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let table = &self.table;
        let row = self
            .connection()
            .await?
            .query_opt(
                &format!(
                    "SELECT value FROM {table}
                     WHERE key = $1 AND (expires_at IS NULL OR expires_at > now())"
                ),
                &[&key],
            )
            .await
            .map_err(|e| db("read", e))?;
        Ok(row.map(|row| row.get(0)))
    }

    async fn set(&self, key: &str, value: String) -> Result<(), StoreError> {
        self.upsert(key, &value, None).await
    }

    async fn set_expiring(
        &self,
        key: &str,
        value: String,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        self.upsert(key, &value, Some(expires_at)).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let table = &self.table;
        self.connection()
            .await?
            .execute(&format!("DELETE FROM {table} WHERE key = $1"), &[&key])
            .await
            .map_err(|e| db("delete", e))?;
        Ok(())
    }

    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        let table = &self.table;
        let rows = self
            .connection()
            .await?
            .query(
                &format!(
                    "SELECT key FROM {table}
                     WHERE expires_at IS NULL OR expires_at > now() ORDER BY key"
                ),
                &[],
            )
            .await
            .map_err(|e| db("list", e))?;
        Ok(rows.into_iter().map(|row| row.get(0)).collect())
    }

    async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        let table = &self.table;
        let row = self
            .connection()
            .await?
            .query_opt(
                &format!(
                    "DELETE FROM {table} WHERE key = $1
                     RETURNING value, (expires_at IS NULL OR expires_at > now())"
                ),
                &[&key],
            )
            .await
            .map_err(|e| db("take", e))?;
        Ok(row.and_then(|row| row.get::<_, bool>(1).then(|| row.get(0))))
    }

    async fn lock(&self, key: &str) -> Result<Option<StoreLock>, StoreError> {
        let timed_out = || {
            StoreError::Backend(format!(
                "postgres lock {key}: still held by another instance after {}s",
                self.lock_timeout.as_secs()
            ))
        };
        let started = tokio::time::Instant::now();
        // Queueing here is cancellation-safe: no connection is held yet.
        let (queue, holder) = tokio::time::timeout(self.lock_timeout, async {
            let queue = self.local_lock(key).lock_owned().await;
            let holder = Arc::clone(&self.holders).acquire_owned().await;
            (queue, holder)
        })
        .await
        .map_err(|_| timed_out())?;
        let holder = holder.map_err(|e| backend("lock", e))?;
        let remaining = self.lock_timeout.saturating_sub(started.elapsed());
        let connection = self.connection().await?;
        let id = format!("mcp-oauth:{}:{key}", self.table);
        let outcome = tokio::time::timeout(
            remaining,
            connection.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", &[&id]),
        )
        .await;
        match outcome {
            Ok(Ok(_)) => Ok(Some(StoreLock::new(AdvisoryLock {
                connection: Some(connection),
                id,
                _holder: holder,
                _queue: queue,
            }))),
            Ok(Err(error)) => Err(db("lock", error)),
            Err(_) => {
                // The wait may still succeed server-side: never pool that session.
                drop(Object::take(connection));
                Err(timed_out())
            }
        }
    }
}

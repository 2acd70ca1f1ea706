//! Where tokens and registered clients live between runs.
//!
//! A store is a small asynchronous key-value map of strings, so that hosts can
//! plug in anything (a database, an OS keychain, Electron's `safeStorage` through
//! JavaScript callbacks). Keys are namespaced: `session/<connection id>` holds a
//! connection's grant and tokens, `client/<issuer>` a client registered with that
//! authorization server (credentials are never reused with another issuer).
//! `pending/<state>` holds a web backend's sign-in waiting for its callback.
//! [`Stored`] puts typed accessors on top; [`SealedStore`] encrypts every value
//! of any store.
//!
//! A store shared by several processes or instances may offer a lock
//! ([`TokenStore::lock`]): the engine holds `session/<connection id>` around a
//! refresh and re-reads the session after taking it, so that a refresh token is
//! used once however many processes find the access token expired at the same
//! time (RFC 9700 §4.14.2: servers that rotate refresh tokens revoke the whole
//! grant when a used one comes back). [`FileStore`] locks with an OS file lock,
//! [`MemoryStore`] within the process.
//!
//! A store may also take a value atomically ([`TokenStore::take`]: a pending
//! sign-in is burned before its code is exchanged, so a replayed callback finds
//! nothing) and be told when a value may be forgotten
//! ([`TokenStore::set_expiring`]).

mod file;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod sealed;

pub use file::{FileStore, MovedAside};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
pub use sealed::SealedStore;

use crate::error::StoreError;
use crate::preset::Preset;
use mcp_oauth_core::registration::ClientCredentials;
use mcp_oauth_core::session::Session;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What is stored for one connection: how it signs in, and its current session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredConnection {
    /// How to sign in again (reconnect, step-up).
    pub preset: Preset,
    /// The grant and tokens.
    pub session: Session,
}

/// Proof that a store lock is held; dropping it releases the lock.
pub struct StoreLock {
    _guard: Box<dyn Send + Sync>,
}

impl StoreLock {
    /// Wraps whatever releases the lock when dropped (a file lock, a database
    /// transaction, a callback to call).
    pub fn new(guard: impl Send + Sync + 'static) -> Self {
        Self {
            _guard: Box::new(guard),
        }
    }
}

impl std::fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreLock(held)")
    }
}

/// A key-value store for serialized sessions and clients.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync {
    /// The value under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Stores `value` under `key`, replacing what was there.
    async fn set(&self, key: &str, value: String) -> Result<(), StoreError>;
    /// Removes `key` (no error if absent).
    async fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Every key, for listing connections; stores that cannot list say so.
    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Backend(
            "this token store cannot list its entries".into(),
        ))
    }
    /// An exclusive lock named `key`, held across every process or instance that
    /// shares this store until the guard is dropped. `Ok(None)`: this store has no
    /// such lock (the engine's in-process single-flight still applies).
    async fn lock(&self, key: &str) -> Result<Option<StoreLock>, StoreError> {
        let _ = key;
        Ok(None)
    }

    /// Removes `key` and returns what it held, in one step: of any number of
    /// callers taking the same key, at most one gets the value. Pending sign-ins
    /// are burned this way before their code is exchanged.
    ///
    /// The default reads and deletes under [`TokenStore::lock`], and refuses when
    /// the store has no lock: without one it could not promise atomicity to
    /// other processes. Stores with a native "delete returning" implement it
    /// directly.
    async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        let Some(_lock) = self.lock(&format!("take/{key}")).await? else {
            return Err(StoreError::Backend(
                "this token store can neither take a value atomically nor lock; \
                 implement take (or lock) to keep pending sign-ins in it"
                    .into(),
            ));
        };
        let value = self.get(key).await?;
        if value.is_some() {
            self.delete(key).await?;
        }
        Ok(value)
    }

    /// Stores `value` under `key` like [`TokenStore::set`], telling the store it
    /// may forget it after `expires_at` (seconds since the epoch). Pending
    /// sign-ins are written this way so that abandoned ones do not pile up. The
    /// default keeps the value until it is deleted.
    async fn set_expiring(
        &self,
        key: &str,
        value: String,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let _ = expires_at;
        self.set(key, value).await
    }
}

/// Typed access to a [`TokenStore`].
#[derive(Clone)]
pub struct Stored {
    store: Arc<dyn TokenStore>,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Stored(..)")
    }
}

fn session_key(connection_id: &str) -> String {
    format!("session/{connection_id}")
}

fn client_key(issuer: &str) -> String {
    format!("client/{issuer}")
}

impl Stored {
    /// Wraps a store.
    pub fn new(store: Arc<dyn TokenStore>) -> Self {
        Self { store }
    }

    /// The underlying store.
    pub fn raw(&self) -> &Arc<dyn TokenStore> {
        &self.store
    }

    /// A stored connection, if signed in.
    pub async fn connection(
        &self,
        connection_id: &str,
    ) -> Result<Option<StoredConnection>, StoreError> {
        self.load(&session_key(connection_id)).await
    }

    /// Saves a connection's preset and session.
    pub async fn save_connection(
        &self,
        preset: &Preset,
        session: &Session,
    ) -> Result<(), StoreError> {
        let record = StoredConnection {
            preset: preset.clone(),
            session: session.clone(),
        };
        self.save(&session_key(preset.connection_id()), &record)
            .await
    }

    /// The store's lock for one connection's session, if the store has locks.
    pub async fn lock_session(&self, connection_id: &str) -> Result<Option<StoreLock>, StoreError> {
        self.store.lock(&session_key(connection_id)).await
    }

    /// Forgets a connection's tokens.
    pub async fn delete_session(&self, connection_id: &str) -> Result<(), StoreError> {
        self.store.delete(&session_key(connection_id)).await
    }

    /// The ids of all stored connections.
    pub async fn connection_ids(&self) -> Result<Vec<String>, StoreError> {
        let keys = self.store.keys().await?;
        Ok(keys
            .into_iter()
            .filter_map(|k| k.strip_prefix("session/").map(str::to_owned))
            .collect())
    }

    /// The client registered with `issuer`, if any.
    pub async fn client(&self, issuer: &str) -> Result<Option<ClientCredentials>, StoreError> {
        self.load(&client_key(issuer)).await
    }

    /// Remembers a registered client under its issuer.
    pub async fn save_client(&self, client: &ClientCredentials) -> Result<(), StoreError> {
        self.save(&client_key(&client.issuer), client).await
    }

    async fn load<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let Some(raw) = self.store.get(key).await? else {
            return Ok(None);
        };
        serde_json::from_str(&raw)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                key: key.to_owned(),
                // Position only: the message could quote a token.
                reason: format!("invalid JSON at line {} column {}", e.line(), e.column()),
            })
    }

    async fn save<T: serde::Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let raw = serde_json::to_string(value).map_err(|e| StoreError::Corrupt {
            key: key.to_owned(),
            reason: e.to_string(),
        })?;
        self.store.set(key, raw).await
    }
}

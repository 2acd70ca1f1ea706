//! A store wrapper that seals every value (tokens, client secrets, pending
//! sign-ins) with [`mcp_oauth_core::seal`] before it reaches the store, and
//! opens it on the way back. Each value is bound to its key: a row copied under
//! another key, edited, or sealed with an unknown key does not open, and reading
//! it fails with a store error instead of handing the engine forged tokens.
//!
//! Keys are the wrapped store's own; locks and listing pass through. Values
//! sealed with an older key in the set still open; every write seals with the
//! current key, so a rotation completes as sessions refresh.

use super::{StoreLock, TokenStore};
use crate::error::StoreError;
use mcp_oauth_core::entropy::OsEntropy;
use mcp_oauth_core::seal::{self, SealKeys};
use std::sync::Arc;

/// Seals the values of another store.
pub struct SealedStore {
    inner: Arc<dyn TokenStore>,
    keys: SealKeys,
}

impl std::fmt::Debug for SealedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedStore")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

impl SealedStore {
    /// Wraps `inner`; values are sealed with the first of `keys`.
    pub fn new(inner: Arc<dyn TokenStore>, keys: SealKeys) -> Self {
        Self { inner, keys }
    }

    fn seal(&self, key: &str, value: &str) -> Result<String, StoreError> {
        self.keys
            .seal(value.as_bytes(), key, &mut OsEntropy)
            .map_err(|e| StoreError::Backend(format!("cannot seal the value of {key}: {e}")))
    }

    fn open(&self, key: &str, sealed: Option<String>) -> Result<Option<String>, StoreError> {
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let corrupt = |reason: String| StoreError::Corrupt {
            key: key.to_owned(),
            reason,
        };
        if !seal::looks_sealed(&sealed) {
            return Err(corrupt(
                "the value is not sealed (written without seal keys, or by something else)".into(),
            ));
        }
        let plain = self
            .keys
            .open(&sealed, key)
            .map_err(|e| corrupt(e.to_string()))?;
        String::from_utf8(plain.to_vec())
            .map(Some)
            .map_err(|_| corrupt("the sealed value is not text".into()))
    }
}

#[async_trait::async_trait]
impl TokenStore for SealedStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let sealed = self.inner.get(key).await?;
        self.open(key, sealed)
    }

    async fn set(&self, key: &str, value: String) -> Result<(), StoreError> {
        let sealed = self.seal(key, &value)?;
        self.inner.set(key, sealed).await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }

    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        self.inner.keys().await
    }

    async fn lock(&self, key: &str) -> Result<Option<StoreLock>, StoreError> {
        self.inner.lock(key).await
    }

    async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        let sealed = self.inner.take(key).await?;
        self.open(key, sealed)
    }

    async fn set_expiring(
        &self,
        key: &str,
        value: String,
        expires_at: u64,
    ) -> Result<(), StoreError> {
        let sealed = self.seal(key, &value)?;
        self.inner.set_expiring(key, sealed, expires_at).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use mcp_oauth_core::seal::SealKey;

    fn keys(list: &[(&str, u8)]) -> SealKeys {
        SealKeys::new(
            list.iter()
                .map(|(id, b)| SealKey::new(*id, &[*b; 32]).unwrap()),
        )
        .unwrap()
    }

    fn sealed(inner: &Arc<MemoryStore>, keys: SealKeys) -> SealedStore {
        SealedStore::new(inner.clone(), keys)
    }

    #[tokio::test]
    async fn values_are_sealed_at_rest_and_open_through_the_wrapper() {
        let inner = Arc::new(MemoryStore::new());
        let store = sealed(&inner, keys(&[("k1", 1)]));
        store
            .set("session/a", r#"{"refresh_token":"rt-secret"}"#.into())
            .await
            .unwrap();
        let at_rest = inner.get("session/a").await.unwrap().unwrap();
        assert!(at_rest.starts_with("s1.k1."), "{at_rest}");
        assert!(!at_rest.contains("rt-secret"));
        assert_eq!(
            store.get("session/a").await.unwrap().unwrap(),
            r#"{"refresh_token":"rt-secret"}"#
        );
        assert_eq!(store.keys().await.unwrap(), ["session/a"]);
        assert_eq!(store.take("session/a").await.unwrap().unwrap().len(), 29);
        assert_eq!(store.get("session/a").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_value_copied_under_another_key_does_not_open() {
        let inner = Arc::new(MemoryStore::new());
        let store = sealed(&inner, keys(&[("k1", 1)]));
        store.set("session/victim", "tokens".into()).await.unwrap();
        let copied = inner.get("session/victim").await.unwrap().unwrap();
        inner.set("session/attacker", copied).await.unwrap();
        let error = store.get("session/attacker").await.unwrap_err();
        assert!(
            matches!(&error, StoreError::Corrupt { key, .. } if key == "session/attacker"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn plaintext_and_unknown_keys_are_refused_not_trusted() {
        let inner = Arc::new(MemoryStore::new());
        inner
            .set("session/a", r#"{"planted":"tokens"}"#.into())
            .await
            .unwrap();
        let store = sealed(&inner, keys(&[("k1", 1)]));
        let error = store.get("session/a").await.unwrap_err();
        assert!(error.to_string().contains("not sealed"), "{error}");

        sealed(&inner, keys(&[("gone", 2)]))
            .set("session/b", "v".into())
            .await
            .unwrap();
        let error = store.get("session/b").await.unwrap_err();
        assert!(error.to_string().contains("\"gone\""), "{error}");
    }

    #[tokio::test]
    async fn rotation_reads_old_values_and_writes_with_the_new_key() {
        let inner = Arc::new(MemoryStore::new());
        sealed(&inner, keys(&[("2024", 1)]))
            .set("session/a", "old".into())
            .await
            .unwrap();
        let rotated = sealed(&inner, keys(&[("2025", 2), ("2024", 1)]));
        assert_eq!(rotated.get("session/a").await.unwrap().unwrap(), "old");
        rotated.set("session/a", "new".into()).await.unwrap();
        let at_rest = inner.get("session/a").await.unwrap().unwrap();
        assert!(at_rest.starts_with("s1.2025."), "{at_rest}");
        let retired = sealed(&inner, keys(&[("2025", 2)]));
        assert_eq!(retired.get("session/a").await.unwrap().unwrap(), "new");
    }

    #[test]
    fn debug_shows_key_ids_only() {
        let store = sealed(&Arc::new(MemoryStore::new()), keys(&[("visible", 0xAB)]));
        let printed = format!("{store:?}");
        assert!(printed.contains("visible"));
        assert!(!printed.to_lowercase().contains("abab"));
    }
}

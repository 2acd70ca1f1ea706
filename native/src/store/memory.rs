//! A store that forgets everything when the process ends: tests, and hosts that
//! persist tokens themselves. Its lock is in-process, which is all the sharing a
//! memory store has (several connections to one server in one process).

use super::{StoreLock, TokenStore};
use crate::error::StoreError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// An in-process token store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, String>>,
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A panic while holding the lock cannot leave the map half-written.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl TokenStore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.entries().get(key).cloned())
    }

    async fn set(&self, key: &str, value: String) -> Result<(), StoreError> {
        self.entries().insert(key.to_owned(), value);
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.entries().remove(key);
        Ok(())
    }

    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        let mut keys: Vec<_> = self.entries().keys().cloned().collect();
        keys.sort();
        Ok(keys)
    }

    async fn lock(&self, key: &str) -> Result<Option<StoreLock>, StoreError> {
        let mutex = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(locks.entry(key.to_owned()).or_default())
        };
        Ok(Some(StoreLock::new(mutex.lock_owned().await)))
    }

    async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.entries().remove(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn of_many_concurrent_takes_exactly_one_gets_the_value() {
        let store = Arc::new(MemoryStore::new());
        store.set("pending/s", "record".into()).await.unwrap();
        let takers: Vec<_> = (0..16)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.take("pending/s").await.unwrap() })
            })
            .collect();
        let mut got = 0;
        for taker in takers {
            got += usize::from(taker.await.unwrap().is_some());
        }
        assert_eq!(got, 1);
        assert_eq!(store.get("pending/s").await.unwrap(), None);
    }
}

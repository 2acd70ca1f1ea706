//! One JSON file on disk, written so that it is always whole: a temporary file in
//! the same directory (mode 0600), fsync, atomic rename, fsync of the directory.
//! A file that cannot be read is moved aside to `<name>.broken-<timestamp>` and the
//! app starts from an empty store with a warning, instead of crashing or
//! overwriting what might still be recovered by hand.
//!
//! Writers within one process are serialized by a lock around the whole
//! read-modify-write, so concurrent updates are never lost. Separate processes
//! each see a whole file, but the last writer wins.

use super::TokenStore;
use crate::error::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileContents {
    version: u32,
    entries: BTreeMap<String, String>,
}

/// A token store backed by one JSON file.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    /// The file's entries, loaded on first use.
    cache: Mutex<Option<BTreeMap<String, String>>>,
}

impl FileStore {
    /// A store at `path`; the file and its directory are created on first write.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            cache: Mutex::new(None),
        }
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn with_entries<T>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, String>) -> (T, bool),
    ) -> Result<T, StoreError> {
        let mut cache = self.cache.lock().await;
        if cache.is_none() {
            let path = self.path.clone();
            *cache = Some(blocking(move || load(&path)).await?);
        }
        let entries = cache.as_mut().expect("loaded above");
        let mut updated = entries.clone();
        let (result, changed) = change(&mut updated);
        if changed {
            let path = self.path.clone();
            let contents = FileContents {
                version: FORMAT_VERSION,
                entries: updated.clone(),
            };
            blocking(move || write_atomically(&path, &contents)).await?;
            // Only a write that reached the disk changes what readers see.
            *entries = updated;
        }
        Ok(result)
    }
}

#[async_trait::async_trait]
impl TokenStore for FileStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.with_entries(|entries| (entries.get(key).cloned(), false))
            .await
    }

    async fn set(&self, key: &str, value: String) -> Result<(), StoreError> {
        self.with_entries(|entries| {
            let changed = entries.get(key) != Some(&value);
            entries.insert(key.to_owned(), value);
            ((), changed)
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.with_entries(|entries| ((), entries.remove(key).is_some()))
            .await
    }

    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        self.with_entries(|entries| (entries.keys().cloned().collect(), false))
            .await
    }

    /// Atomic within this process (one read-modify-write under the store's
    /// mutex); the value is gone from the file before it is returned.
    async fn take(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.with_entries(|entries| {
            let value = entries.remove(key);
            let changed = value.is_some();
            (value, changed)
        })
        .await
    }
}

async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(job)
        .await
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
}

fn io_error(path: &Path, what: &str, error: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        reason: format!("{what}: {error}"),
    }
}

/// Reads the file; a missing file is an empty store, an unreadable one is moved aside.
fn load(path: &Path) -> Result<BTreeMap<String, String>, StoreError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(io_error(path, "read", e)),
    };
    match serde_json::from_slice::<FileContents>(&bytes) {
        Ok(contents) if contents.version == FORMAT_VERSION => Ok(contents.entries),
        Ok(contents) => {
            move_aside(
                path,
                &format!("unknown format version {}", contents.version),
            )?;
            Ok(BTreeMap::new())
        }
        Err(e) => {
            move_aside(
                path,
                &format!("invalid JSON at line {} column {}", e.line(), e.column()),
            )?;
            Ok(BTreeMap::new())
        }
    }
}

fn move_aside(path: &Path, why: &str) -> Result<(), StoreError> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let mut broken = path.as_os_str().to_owned();
    broken.push(format!(".broken-{stamp}"));
    let broken = PathBuf::from(broken);
    std::fs::rename(path, &broken).map_err(|e| io_error(path, "move unreadable file aside", e))?;
    tracing::warn!(
        path = %path.display(),
        moved_to = %broken.display(),
        reason = why,
        "token store file was unreadable; moved it aside and starting with an empty store"
    );
    Ok(())
}

fn write_atomically(path: &Path, contents: &FileContents) -> Result<(), StoreError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| io_error(path, "create directory", e))?;
    let json =
        serde_json::to_vec_pretty(contents).map_err(|e| StoreError::Backend(e.to_string()))?;
    // tempfile creates the file with mode 0600 on Unix, in the same directory so
    // that the rename below is atomic.
    let mut temp = tempfile::Builder::new()
        .prefix(".mcp-oauth-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io_error(path, "create temporary file", e))?;
    temp.write_all(&json)
        .map_err(|e| io_error(path, "write", e))?;
    temp.as_file()
        .sync_all()
        .map_err(|e| io_error(path, "fsync", e))?;
    temp.persist(path)
        .map_err(|e| io_error(path, "rename into place", e.error))?;
    sync_dir(dir).map_err(|e| io_error(path, "fsync directory", e))?;
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn values_survive_a_new_store_on_the_same_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let store = FileStore::new(&path);
        store.set("a", "1".into()).await.unwrap();
        store.set("b", "2".into()).await.unwrap();
        store.delete("a").await.unwrap();
        let reopened = FileStore::new(&path);
        assert_eq!(reopened.get("a").await.unwrap(), None);
        assert_eq!(reopened.get("b").await.unwrap().as_deref(), Some("2"));
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_file_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        FileStore::new(&path).set("k", "v".into()).await.unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[tokio::test]
    async fn a_corrupt_file_is_moved_aside_and_the_store_starts_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, b"{\"version\":1,\"entries\":{\"k\":").unwrap();
        let store = FileStore::new(&path);
        assert_eq!(store.get("k").await.unwrap(), None);
        let broken: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.starts_with("tokens.json.broken-"))
            .collect();
        assert_eq!(
            broken.len(),
            1,
            "the unreadable file is kept for inspection"
        );
        let kept = std::fs::read(dir.path().join(&broken[0])).unwrap();
        assert_eq!(kept, b"{\"version\":1,\"entries\":{\"k\":");
        store.set("k", "v".into()).await.unwrap();
        assert_eq!(
            FileStore::new(&path).get("k").await.unwrap().as_deref(),
            Some("v")
        );
    }

    #[tokio::test]
    async fn a_taken_value_is_gone_from_the_file_and_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let store = Arc::new(FileStore::new(&path));
        store.set("pending/s", "record".into()).await.unwrap();
        let takers: Vec<_> = (0..8)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store.take("pending/s").await.unwrap() })
            })
            .collect();
        let mut taken = Vec::new();
        for taker in takers {
            taken.extend(taker.await.unwrap());
        }
        assert_eq!(taken, ["record"]);
        assert_eq!(FileStore::new(&path).get("pending/s").await.unwrap(), None);
    }

    #[tokio::test]
    async fn concurrent_writers_in_one_process_lose_no_update() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let store = Arc::new(FileStore::new(&path));
        let writers: Vec<_> = (0..32)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(
                    async move { store.set(&format!("key-{i}"), format!("value-{i}")).await },
                )
            })
            .collect();
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        let reopened = FileStore::new(&path);
        for i in 0..32 {
            assert_eq!(
                reopened.get(&format!("key-{i}")).await.unwrap(),
                Some(format!("value-{i}"))
            );
        }
    }
}

//! One JSON file on disk, written so that it is always whole: a temporary file in
//! the same directory (mode 0600), fsync, atomic rename, fsync of the directory.
//! A file that cannot be read is moved aside to `<name>.broken-<timestamp>` and the
//! app starts from an empty store with a warning, instead of crashing or
//! overwriting what might still be recovered by hand.
//!
//! The path is trusted only as far as it is a regular file: a FIFO, a device (a
//! symlink to `/dev/zero`, say) or a directory there is refused with a clear error
//! instead of hanging or being read without end, and no file is read past
//! [`MAX_FILE_BYTES`]. The directory is created `0700` whatever the umask, and a
//! file found readable by others (`0644`) is put back to `0600`, with a warning.
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

/// The largest store file read: thousands of connections fit in far less.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

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
    let bytes = match read_regular_file(path) {
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

/// The file's bytes, if it is a regular file of at most [`MAX_FILE_BYTES`]; a
/// file others may read is made private first.
fn read_regular_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::{Error, ErrorKind, Read};
    let not_regular = || {
        Error::new(
            ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device, socket or directory); refusing to read it: point the store at a regular file",
        )
    };
    // Checked before opening: opening a FIFO for reading blocks until a writer comes.
    if !std::fs::metadata(path)?.is_file() {
        return Err(not_regular());
    }
    let file = std::fs::File::open(path)?;
    // And again on what was opened, in case the path was swapped in between.
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(not_regular());
    }
    if metadata.len() > MAX_FILE_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("larger than {MAX_FILE_BYTES} bytes; refusing to read it"),
        ));
    }
    make_private(path, &metadata);
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("larger than {MAX_FILE_BYTES} bytes; refusing to read it"),
        ));
    }
    Ok(bytes)
}

/// Puts a token file that others may read or write back to `0600`, and says so.
#[cfg(unix)]
fn make_private(path: &Path, metadata: &std::fs::Metadata) {
    use std::os::unix::fs::PermissionsExt;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return;
    }
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            was = format!("{mode:o}"),
            "token store file was readable by others; changed its mode to 600"
        ),
        Err(error) => tracing::warn!(
            path = %path.display(),
            was = format!("{mode:o}"),
            %error,
            "token store file is readable by others and its mode cannot be changed"
        ),
    }
}

#[cfg(not(unix))]
fn make_private(_path: &Path, _metadata: &std::fs::Metadata) {}

/// Creates the store's directory (and missing parents) private to its owner,
/// whatever the umask.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        builder.mode(0o700);
        builder.create(dir)?;
        // The umask can only remove bits; set the mode outright all the same.
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    builder.create(dir)
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
    create_private_dir(dir).map_err(|e| io_error(path, "create directory", e))?;
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

    /// Run by the test below in a child process whose umask is 000.
    #[tokio::test]
    #[ignore = "run under umask 000 by the_directory_is_created_private_whatever_the_umask"]
    async fn write_into_new_directories_from_the_environment() {
        let path = std::env::var_os("MCP_OAUTH_STORE_TEST_PATH").expect("set by the parent test");
        FileStore::new(PathBuf::from(path))
            .set("k", "v".into())
            .await
            .unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn the_directory_is_created_private_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a").join("b");
        // The umask is process-wide: change it only in a child (this test binary).
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg("umask 000 && exec \"$0\" --ignored --exact store::file::tests::write_into_new_directories_from_the_environment")
            .arg(std::env::current_exe().unwrap())
            .env("MCP_OAUTH_STORE_TEST_PATH", nested.join("tokens.json"))
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        for d in [dir.path().join("a"), nested] {
            let mode = std::fs::metadata(&d).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "{}", d.display());
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_file_readable_by_others_is_made_private_on_load() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, br#"{"version":1,"entries":{"k":"v"}}"#).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            FileStore::new(&path).get("k").await.unwrap().as_deref(),
            Some("v")
        );
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_fifo_or_device_at_the_path_is_refused_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo.json");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let zero = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        for path in [fifo, zero, dir.path().to_owned()] {
            let outcome = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                FileStore::new(&path).get("k"),
            )
            .await
            .expect("answers instead of hanging");
            let error = outcome.unwrap_err();
            assert!(error.to_string().contains("not a regular file"), "{error}");
        }
    }

    #[tokio::test]
    async fn an_oversized_file_is_refused_with_its_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap();
        let error = FileStore::new(&path).get("k").await.unwrap_err();
        assert!(error.to_string().contains("larger than"), "{error}");
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

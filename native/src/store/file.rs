//! One JSON file on disk, written so that it is always whole: a temporary file in
//! the same directory (mode 0600), fsync, atomic rename, fsync of the directory.
//! A file that cannot be read is moved aside to `<name>.broken-<UTC time>` (ISO
//! 8601 basic format, `tokens.json.broken-20261201T220300Z`, safe in file names on
//! every OS) and the app starts from an empty store; the move is reported through
//! [`FileStore::on_moved_aside`] (the client turns it into a progress event), not
//! only logged, since the user lost their sign-ins.
//!
//! Several processes may share the file (an app and the CLI, parallel scripts).
//! Every read goes to the disk, and every change is a read-modify-write under an
//! OS file lock (`fs4`: `flock` on Unix, `LockFileEx` on Windows), so no process
//! overwrites what another one saved. [`TokenStore::lock`] gives the engine a
//! lock per key, in the same way, to refresh once across processes. The lock files
//! live in `<name>.locks/` beside the store; the OS releases them when a process
//! dies, so a crash never leaves a store locked.
//!
//! The path is trusted only as far as it is a regular file: a FIFO, a device (a
//! symlink to `/dev/zero`, say) or a directory there is refused with a clear error
//! instead of hanging or being read without end, and no file is read past
//! [`MAX_FILE_BYTES`]. The directory is created `0700` whatever the umask, and a
//! file found readable by others (`0644`) is put back to `0600`, with a warning.

use super::{StoreLock, TokenStore};
use crate::error::StoreError;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::Mutex;

const FORMAT_VERSION: u32 = 1;

/// The largest store file read: thousands of connections fit in far less.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileContents {
    version: u32,
    entries: BTreeMap<String, String>,
}

/// A store file that could not be read was moved aside, and the store started
/// empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedAside {
    /// The store file.
    pub path: PathBuf,
    /// Where its unreadable contents are now.
    pub moved_to: PathBuf,
    /// Why it could not be read (never its contents).
    pub reason: String,
}

type MovedAsideHook = Arc<dyn Fn(&MovedAside) + Send + Sync>;

/// A token store backed by one JSON file.
pub struct FileStore {
    path: PathBuf,
    /// Serializes this process's writers; the OS lock serializes processes.
    writers: Mutex<()>,
    on_moved_aside: Option<MovedAsideHook>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl FileStore {
    /// A store at `path`; the file and its directory are created on first write.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            writers: Mutex::new(()),
            on_moved_aside: None,
        }
    }

    /// Calls `notify` when an unreadable store file is moved aside, so the user
    /// can be told that their sign-ins are gone (and where the old file is).
    pub fn on_moved_aside(mut self, notify: impl Fn(&MovedAside) + Send + Sync + 'static) -> Self {
        self.on_moved_aside = Some(Arc::new(notify));
        self
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn files(&self) -> StoreFiles {
        StoreFiles {
            path: self.path.clone(),
            on_moved_aside: self.on_moved_aside.clone(),
        }
    }

    async fn read<T: Send + 'static>(
        &self,
        view: impl FnOnce(BTreeMap<String, String>) -> T + Send + 'static,
    ) -> Result<T, StoreError> {
        let files = self.files();
        blocking(move || files.read().map(view)).await
    }

    async fn change(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, String>) -> bool + Send + 'static,
    ) -> Result<(), StoreError> {
        let _writer = self.writers.lock().await;
        let files = self.files();
        blocking(move || {
            let _lock = files.lock("store")?;
            let mut entries = files.load_locked()?;
            if change(&mut entries) {
                write_atomically(
                    &files.path,
                    &FileContents {
                        version: FORMAT_VERSION,
                        entries,
                    },
                )?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait::async_trait]
impl TokenStore for FileStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_owned();
        self.read(move |mut entries| entries.remove(&key)).await
    }

    async fn set(&self, key: &str, value: String) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.change(move |entries| entries.insert(key, value.clone()).as_ref() != Some(&value))
            .await
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.change(move |entries| entries.remove(&key).is_some())
            .await
    }

    async fn keys(&self) -> Result<Vec<String>, StoreError> {
        self.read(|entries| entries.into_keys().collect()).await
    }

    async fn lock(&self, key: &str) -> Result<Option<StoreLock>, StoreError> {
        let files = self.files();
        let name = format!("{:x}", Sha256::digest(key.as_bytes()));
        let file = blocking(move || files.lock(&name[..32])).await?;
        Ok(Some(StoreLock::new(file)))
    }
}

/// The store file and what to do when it is unreadable, for blocking threads.
struct StoreFiles {
    path: PathBuf,
    on_moved_aside: Option<MovedAsideHook>,
}

impl StoreFiles {
    /// Takes the OS lock `<name>.locks/<name>.lock`, waiting for it; the lock is
    /// released when the returned file is closed.
    fn lock(&self, name: &str) -> Result<File, StoreError> {
        let mut dir = self.path.as_os_str().to_owned();
        dir.push(".locks");
        let dir = PathBuf::from(dir);
        create_private_dir(&dir).map_err(|e| io_error(&dir, "create lock directory", e))?;
        let path = dir.join(format!("{name}.lock"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| io_error(&path, "open lock file", e))?;
        // fs4's lock (flock / LockFileEx), named in full: `File::lock` of newer
        // std versions would shadow it.
        fs4::FileExt::lock(&file).map_err(|e| io_error(&path, "lock", e))?;
        Ok(file)
    }

    /// The entries on disk. An unreadable file is moved aside under the store's
    /// write lock, after checking it is still the unreadable one.
    fn read(&self) -> Result<BTreeMap<String, String>, StoreError> {
        match parse(&self.path)? {
            Ok(entries) => Ok(entries),
            Err(_) => {
                let _lock = self.lock("store")?;
                self.load_locked()
            }
        }
    }

    /// The entries on disk, for a caller holding the store's write lock.
    fn load_locked(&self) -> Result<BTreeMap<String, String>, StoreError> {
        match parse(&self.path)? {
            Ok(entries) => Ok(entries),
            Err(reason) => {
                let moved = move_aside(&self.path, &reason)?;
                if let Some(notify) = &self.on_moved_aside {
                    notify(&moved);
                }
                Ok(BTreeMap::new())
            }
        }
    }
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
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

/// Reads the file: its entries (a missing file is an empty store), or why it is
/// unreadable.
fn parse(path: &Path) -> Result<Result<BTreeMap<String, String>, String>, StoreError> {
    let bytes = match read_regular_file(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Ok(BTreeMap::new())),
        Err(e) => return Err(io_error(path, "read", e)),
    };
    Ok(match serde_json::from_slice::<FileContents>(&bytes) {
        Ok(contents) if contents.version == FORMAT_VERSION => Ok(contents.entries),
        Ok(contents) => Err(format!("unknown format version {}", contents.version)),
        Err(e) => Err(format!(
            "invalid JSON at line {} column {}",
            e.line(),
            e.column()
        )),
    })
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

/// `<name>.broken-<UTC time>`, e.g. `tokens.json.broken-20261201T220300Z`: ISO 8601
/// basic format, which sorts by time and has no `:` (not allowed in Windows names).
fn broken_name(path: &Path, at: SystemTime) -> PathBuf {
    let stamp: String = humantime::format_rfc3339_seconds(at)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let mut broken = path.as_os_str().to_owned();
    broken.push(format!(".broken-{stamp}"));
    PathBuf::from(broken)
}

fn move_aside(path: &Path, why: &str) -> Result<MovedAside, StoreError> {
    let first = broken_name(path, SystemTime::now());
    // Two files broken within the same second keep both.
    let mut moved_to = first.clone();
    let mut n = 1;
    while moved_to.exists() {
        let mut numbered = first.as_os_str().to_owned();
        numbered.push(format!("-{n}"));
        moved_to = PathBuf::from(numbered);
        n += 1;
    }
    std::fs::rename(path, &moved_to)
        .map_err(|e| io_error(path, "move unreadable file aside", e))?;
    tracing::warn!(
        path = %path.display(),
        moved_to = %moved_to.display(),
        reason = why,
        "token store file was unreadable; moved it aside and starting with an empty store"
    );
    Ok(MovedAside {
        path: path.to_owned(),
        moved_to,
        reason: why.to_owned(),
    })
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
        // `tokens.json.broken-20261201T220300Z`: ISO 8601 basic, UTC.
        let stamp = broken[0].trim_start_matches("tokens.json.broken-");
        assert_eq!(stamp.len(), 16, "{stamp}");
        assert!(
            stamp.chars().enumerate().all(|(i, c)| match i {
                8 => c == 'T',
                15 => c == 'Z',
                _ => c.is_ascii_digit(),
            }),
            "{stamp}"
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
    async fn moving_a_corrupt_file_aside_is_reported_to_the_app() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        std::fs::write(&path, b"not json").unwrap();
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        let store = FileStore::new(&path).on_moved_aside(move |moved| {
            sink.lock().unwrap().push(moved.clone());
        });
        assert_eq!(store.keys().await.unwrap(), Vec::<String>::new());
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].path, path);
        assert!(seen[0].moved_to.exists());
        assert!(seen[0].reason.contains("invalid JSON"), "{:?}", seen[0]);
    }

    #[test]
    fn broken_names_are_iso_8601_basic_utc() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_162_580);
        assert_eq!(
            broken_name(Path::new("/x/tokens.json"), at),
            PathBuf::from("/x/tokens.json.broken-20261201T220300Z")
        );
    }

    #[tokio::test]
    async fn writers_through_separate_stores_on_one_file_lose_no_update() {
        // Two store instances stand for two processes sharing the file: each
        // change is a read-modify-write of what is on disk, under the file lock.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let stores: Vec<_> = (0..4).map(|_| Arc::new(FileStore::new(&path))).collect();
        let mut writers = Vec::new();
        for i in 0..32 {
            let store = Arc::clone(&stores[i % stores.len()]);
            writers.push(tokio::spawn(async move {
                store.set(&format!("key-{i}"), format!("value-{i}")).await
            }));
        }
        for writer in writers {
            writer.await.unwrap().unwrap();
        }
        let keys = FileStore::new(&path).keys().await.unwrap();
        assert_eq!(keys.len(), 32, "{keys:?}");
        // A value saved through one instance is what the others read next.
        stores[0].set("shared", "new".into()).await.unwrap();
        assert_eq!(
            stores[1].get("shared").await.unwrap().as_deref(),
            Some("new")
        );
    }

    #[tokio::test]
    async fn a_key_lock_excludes_other_store_instances_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        let (a, b) = (FileStore::new(&path), Arc::new(FileStore::new(&path)));
        let held = a.lock("session/x").await.unwrap().expect("a file lock");
        let waiter = {
            let b = Arc::clone(&b);
            tokio::spawn(async move { b.lock("session/x").await.map(|l| l.is_some()) })
        };
        // Another key is independent.
        assert!(b.lock("session/y").await.unwrap().is_some());
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!waiter.is_finished(), "the second lock waits for the first");
        drop(held);
        assert!(
            tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
                .await
                .expect("released")
                .unwrap()
                .unwrap()
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

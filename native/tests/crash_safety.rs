//! The file store survives its process being killed at any moment: a child
//! process rewrites the store in a loop, the test SIGKILLs it 200 times at varying
//! points, and after every kill the file must read back whole (never moved aside
//! as broken, never missing a key that was written before).
//!
//! The child is this same test binary, re-executed with an environment variable
//! that makes `writer_child` run its loop instead of returning.

use mcp_oauth::store::{FileStore, TokenStore};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "MCP_OAUTH_CRASH_CHILD_STORE";
const KILLS: usize = 200;
/// Big enough that a write takes a while, so kills land mid-write.
const PAYLOAD_LEN: usize = 64 * 1024;

fn value_for(counter: u64) -> String {
    let filler = char::from(b'a' + (counter % 26) as u8);
    serde_json::json!({
        "counter": counter,
        "payload": filler.to_string().repeat(PAYLOAD_LEN),
    })
    .to_string()
}

/// Checks that a stored value is one `value_for` wrote, whole, and returns its counter.
fn check_value(value: &str) -> u64 {
    let parsed: serde_json::Value = serde_json::from_str(value).expect("a whole JSON value");
    let counter = parsed["counter"].as_u64().expect("a counter");
    assert_eq!(
        value,
        value_for(counter),
        "value for counter {counter} is torn"
    );
    counter
}

/// The child's loop; a no-op unless started by `sigkill_during_writes_never_tears_the_store`.
#[test]
#[ignore = "entry point of the child process of the crash-safety test"]
fn writer_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let store = FileStore::new(&path);
        let start = match store.get("session/a").await.expect("store readable") {
            Some(value) => check_value(&value) + 1,
            None => 0,
        };
        let mut announced = false;
        for counter in start.. {
            store
                .set("session/a", value_for(counter))
                .await
                .expect("write");
            store
                .set("session/b", value_for(counter))
                .await
                .expect("write");
            if !announced {
                println!("writing");
                announced = true;
            }
        }
    });
}

#[test]
fn sigkill_during_writes_never_tears_the_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tokens.json");
    let exe = std::env::current_exe().expect("test binary path");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut last_counter = None;
    for kill in 0..KILLS {
        let mut child = Command::new(&exe)
            .args([
                "writer_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the writer");
        // Wait until the child has completed at least one write, then let it run a
        // little longer by a varying amount so the kill lands at different points.
        let mut line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        let mut reader = BufReader::new(stdout);
        while !line.contains("writing") {
            line.clear();
            let read = reader.read_line(&mut line).expect("read child output");
            assert!(read > 0, "the writer exited before writing (kill {kill})");
        }
        std::thread::sleep(Duration::from_micros((kill as u64 * 7919) % 20_000));
        child.kill().expect("SIGKILL the writer");
        child.wait().expect("reap the writer");

        let counter = runtime.block_on(read_back(&path));
        if let Some(previous) = last_counter {
            assert!(
                counter >= previous,
                "kill {kill}: the store went back in time"
            );
        }
        last_counter = Some(counter);
        assert_no_broken_files(dir.path());
    }
}

async fn read_back(path: &Path) -> u64 {
    let store = FileStore::new(path);
    let a = store.get("session/a").await.expect("readable");
    let b = store.get("session/b").await.expect("readable");
    let a = check_value(&a.expect("session/a survives"));
    // `b` is written after `a`, so it lags by at most one write.
    let b = b.map(|b| check_value(&b));
    assert!(b.is_none_or(|b| b == a || b + 1 == a), "a={a} b={b:?}");
    a
}

fn assert_no_broken_files(dir: &Path) {
    let broken: Vec<_> = std::fs::read_dir(dir)
        .expect("list dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".broken-"))
        .collect();
    assert!(
        broken.is_empty(),
        "the store was found unreadable: {broken:?}"
    );
}

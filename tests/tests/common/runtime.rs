//! What end-to-end tests of the native client run on: a bounded multi-threaded
//! runtime, and a clock the test moves forward instead of waiting.

use mcp_oauth::client::Clock;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long one test body may take.
pub const LIMIT: Duration = Duration::from_secs(60);

/// Runs a test body on a multi-threaded runtime (the client's refreshes and
/// callback listener run on other tasks than the test's), failing it after
/// [`LIMIT`].
pub fn run<F: Future<Output = ()>>(body: F) {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(async {
            tokio::time::timeout(LIMIT, body)
                .await
                .expect("the test took too long");
        });
}

/// The system clock plus an offset the test can move forward.
#[derive(Clone, Default)]
pub struct TestClock(Arc<AtomicU64>);

impl TestClock {
    /// This clock, for [`mcp_oauth::OAuthClientBuilder::clock`].
    pub fn clock(&self) -> Clock {
        let offset = Arc::clone(&self.0);
        Arc::new(move || {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_secs();
            now + offset.load(Ordering::SeqCst)
        })
    }

    /// Moves the clock `seconds` forward.
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

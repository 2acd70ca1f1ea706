//! A token store made of JavaScript callbacks, so that an Electron app can keep
//! tokens wherever it likes (for example encrypted with `safeStorage`).
//!
//! Each callback may return its value or a promise of it. A callback that throws
//! or rejects fails the operation with `code: 'store_error'`; the native side
//! never treats a failed `set` as saved, so it keeps the tokens in memory and
//! the caller learns that they were not persisted. A callback that never
//! answers (a promise that never settles) fails with `code: 'store_timeout'`
//! after the store's time limit, instead of hanging every call that needs it.
//!
//! Stores shared by several processes (a web backend's database) add `take`
//! (read and delete in one step, for pending sign-ins) and `lock` (an
//! exclusive lock, held around a refresh so instances refresh once);
//! `node/examples/pg-store.mjs` implements all of it on PostgreSQL.

use mcp_oauth::store::{StoreLock, TokenStore};
use mcp_oauth::StoreError;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{
    ThreadsafeFunction, ThreadsafeFunctionCallMode, UnknownReturnValue,
};
use napi_derive::napi;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a store callback may take unless the app says otherwise.
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(10);

/// A JavaScript function called from any thread. It is weak: it does not keep
/// the Node process alive on its own.
pub type Callback<Args> = ThreadsafeFunction<Args, Unknown<'static>, Args, Status, false, true>;

/// The callbacks of a JavaScript token store. Keys and values are strings;
/// values are JSON that holds tokens, so keep them secret.
#[napi(object, object_to_js = false)]
pub struct TokenStoreCallbacks {
    /// The value stored under `key`, or `null`/`undefined` when there is none.
    #[napi(
        ts_type = "(key: string) => string | null | undefined | Promise<string | null | undefined>"
    )]
    pub get: Callback<String>,
    /// Stores `value` under `key`, replacing what was there. `expiresAt`
    /// (milliseconds since the epoch), when given, says the value may be
    /// forgotten after then (pending sign-ins); otherwise keep it until deleted.
    #[napi(
        ts_type = "(key: string, value: string, expiresAt?: number | null) => void | Promise<void>"
    )]
    pub set: Callback<FnArgs<(String, String, Option<f64>)>>,
    /// Removes `key`; no error when it is absent.
    #[napi(ts_type = "(key: string) => void | Promise<void>")]
    pub delete: Callback<String>,
    /// Every key (optional; needed only by `OAuthClient.connectionIds()`).
    #[napi(ts_type = "() => string[] | Promise<string[]>")]
    pub keys: Option<Callback<()>>,
    /// Removes `key` and returns what it held, atomically: of callers racing
    /// for one key, at most one gets the value (SQL: `DELETE ... RETURNING`).
    /// Optional; without it, `begin` in stored mode needs `lock`.
    #[napi(
        ts_type = "(key: string) => string | null | undefined | Promise<string | null | undefined>"
    )]
    pub take: Option<Callback<String>>,
    /// Takes an exclusive lock named `key`, shared by every process using this
    /// store, and resolves to a function that releases it (or `null` for "no
    /// lock here"). Held around a refresh, so that instances refresh once.
    #[napi(
        ts_type = "(key: string) => (() => void | Promise<void>) | null | undefined | Promise<(() => void | Promise<void>) | null | undefined>"
    )]
    pub lock: Option<Callback<String>>,
}

/// A held JavaScript lock: dropping it calls the release function.
struct JsLock {
    release: Option<Callback<()>>,
}

impl Drop for JsLock {
    fn drop(&mut self) {
        let Some(release) = self.release.take() else {
            return;
        };
        // Awaited so that a rejected release promise is handled (and logged)
        // rather than left as an unhandled rejection.
        napi::bindgen_prelude::spawn(async move {
            let released: std::result::Result<UnknownReturnValue, _> =
                call(&release, (), "lock release").await;
            if let Err(error) = released {
                tracing::warn!(%error, "a store lock was not released");
            }
        });
    }
}

/// [`TokenStoreCallbacks`] as a [`TokenStore`].
pub struct JsStore {
    callbacks: Arc<TokenStoreCallbacks>,
    timeout: Duration,
}

impl JsStore {
    /// Wraps the callbacks; each call may take at most `timeout`.
    pub fn new(callbacks: TokenStoreCallbacks, timeout: Duration) -> Self {
        Self {
            callbacks: Arc::new(callbacks),
            timeout,
        }
    }
}

/// [`call`] within `limit`.
async fn call_within<A, T>(
    limit: Duration,
    callback: &Callback<A>,
    args: A,
    name: &str,
) -> std::result::Result<T, StoreError>
where
    A: JsValuesTupleIntoVec + 'static,
    T: FromNapiValue + Send + 'static,
{
    tokio::time::timeout(limit, call(callback, args, name))
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::Timeout {
                operation: name.to_owned(),
                millis: limit.as_millis() as u64,
            })
        })
}

/// Calls `callback` and waits for its value, or for the promise it returned.
async fn call<A, T>(
    callback: &Callback<A>,
    args: A,
    name: &str,
) -> std::result::Result<T, StoreError>
where
    A: JsValuesTupleIntoVec + 'static,
    T: FromNapiValue + Send + 'static,
{
    let failed = |how: &str, reason: &str| {
        StoreError::Backend(format!("the {name} callback {how}: {reason}"))
    };
    let (sender, receiver) =
        oneshot::channel::<std::result::Result<Either<T, Promise<T>>, String>>();
    let status = callback.call_with_return_value(
        args,
        ThreadsafeFunctionCallMode::NonBlocking,
        move |returned: Result<Unknown>, _env| {
            let value = returned.and_then(|value| {
                if value.is_promise()? {
                    Promise::<T>::from_unknown(value).map(Either::B)
                } else {
                    T::from_unknown(value).map(Either::A)
                }
            });
            let _ = sender.send(value.map_err(|e| e.reason.clone()));
            Ok(())
        },
    );
    if status != Status::Ok {
        return Err(failed("could not be called", status.as_ref()));
    }
    let value = receiver
        .await
        .map_err(|_| failed("did not answer", "the JavaScript environment is gone"))?
        .map_err(|reason| failed("threw", &reason))?;
    match value {
        Either::A(value) => Ok(value),
        Either::B(promise) => promise.await.map_err(|e| failed("rejected", &e.reason)),
    }
}

#[async_trait::async_trait]
impl TokenStore for JsStore {
    async fn get(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        call_within(self.timeout, &self.callbacks.get, key.to_owned(), "get").await
    }

    async fn set(&self, key: &str, value: String) -> std::result::Result<(), StoreError> {
        let _: UnknownReturnValue = call_within(
            self.timeout,
            &self.callbacks.set,
            FnArgs::from((key.to_owned(), value, None)),
            "set",
        )
        .await?;
        Ok(())
    }

    async fn set_expiring(
        &self,
        key: &str,
        value: String,
        expires_at: u64,
    ) -> std::result::Result<(), StoreError> {
        let millis = expires_at as f64 * 1000.0;
        let _: UnknownReturnValue = call_within(
            self.timeout,
            &self.callbacks.set,
            FnArgs::from((key.to_owned(), value, Some(millis))),
            "set",
        )
        .await?;
        Ok(())
    }

    async fn take(&self, key: &str) -> std::result::Result<Option<String>, StoreError> {
        match &self.callbacks.take {
            Some(take) => call_within(self.timeout, take, key.to_owned(), "take").await,
            None => {
                // The trait's default: get and delete under this store's lock.
                let Some(_lock) = self.lock(&format!("take/{key}")).await? else {
                    return Err(StoreError::Backend(
                        "this store has neither take nor lock, so it cannot burn a pending sign-in atomically; add take".into(),
                    ));
                };
                let value = self.get(key).await?;
                if value.is_some() {
                    self.delete(key).await?;
                }
                Ok(value)
            }
        }
    }

    async fn lock(&self, key: &str) -> std::result::Result<Option<StoreLock>, StoreError> {
        if self.callbacks.lock.is_none() {
            return Ok(None);
        }
        let callbacks = self.callbacks.clone();
        let key = key.to_owned();
        // The lock is acquired in a task of its own: if the app's lock answers
        // after the time limit, the task still receives the release function
        // and, its output being dropped, calls it, so a slow lock is never left
        // held by nobody.
        let mut acquiring = tokio::spawn(async move {
            let Some(lock) = &callbacks.lock else {
                return Ok(None);
            };
            let release: Option<Callback<()>> = call(lock, key, "lock").await?;
            Ok::<_, StoreError>(release.map(|release| JsLock {
                release: Some(release),
            }))
        });
        match tokio::time::timeout(self.timeout, &mut acquiring).await {
            Ok(joined) => {
                let held = joined.map_err(|e| {
                    StoreError::Backend(format!("the lock callback did not finish: {e}"))
                })??;
                Ok(held.map(StoreLock::new))
            }
            Err(_) => Err(StoreError::Timeout {
                operation: "lock".to_owned(),
                millis: self.timeout.as_millis() as u64,
            }),
        }
    }

    async fn delete(&self, key: &str) -> std::result::Result<(), StoreError> {
        let _: UnknownReturnValue = call_within(
            self.timeout,
            &self.callbacks.delete,
            key.to_owned(),
            "delete",
        )
        .await?;
        Ok(())
    }

    async fn keys(&self) -> std::result::Result<Vec<String>, StoreError> {
        match &self.callbacks.keys {
            Some(keys) => call_within(self.timeout, keys, (), "keys").await,
            None => Err(StoreError::Backend(
                "this token store has no keys callback, so it cannot list connections".into(),
            )),
        }
    }
}

//! Running native work as a JavaScript promise that an `AbortSignal` can cancel.
//!
//! The signal gets an `abort` listener for as long as the work runs (removed
//! afterwards, so a long-lived signal shared by many requests collects no
//! listeners). Aborting drops the native future, which closes whatever it held
//! open (the loopback listener of a sign-in, an HTTP request), and rejects the
//! promise with `code: 'cancelled'`.

use crate::error::from_native;
use napi::bindgen_prelude::*;
use std::future::Future;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// `addEventListener` / `removeEventListener` with an `(event, listener)` call.
type EventListenerMethod<'env> =
    Function<'env, FnArgs<(String, Function<'env, (), ()>)>, Unknown<'env>>;

/// The abort listener attached to a signal, kept to remove it afterwards.
struct Attached {
    signal: ObjectRef<false>,
    listener: FunctionRef<(), ()>,
}

impl Attached {
    fn detach(self, env: &Env) -> Result<()> {
        let signal = self.signal.get_value(env)?;
        let listener = self.listener.borrow_back(env)?;
        let remove: EventListenerMethod = signal.get_named_property("removeEventListener")?;
        remove.apply(signal, FnArgs::from(("abort".to_owned(), listener)))?;
        // The function reference is released when `self.listener` drops, here.
        self.signal.unref(env)
    }
}

/// Resolves when `signal` aborts; never, without a signal.
async fn aborted(receiver: oneshot::Receiver<()>) {
    if receiver.await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs `work` on the addon's runtime and returns its promise. `finish` turns
/// the result into a JavaScript value on the JavaScript thread; native errors
/// become coded `Error`s.
pub fn spawn<'env, T, V, W, F>(
    env: &'env Env,
    signal: Option<Object>,
    work: W,
    finish: F,
) -> Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue + 'env,
    W: Future<Output = std::result::Result<T, mcp_oauth::Error>> + Send + 'static,
    F: FnOnce(&Env, T) -> Result<V> + 'static,
{
    let (abort, on_abort) = oneshot::channel::<()>();
    let mut already_aborted = false;
    let mut attached = None;
    if let Some(signal) = signal {
        if signal.get_named_property::<bool>("aborted")? {
            already_aborted = true;
        } else {
            let abort = Mutex::new(Some(abort));
            let listener = env.create_function_from_closure::<(), (), _>("onAbort", move |_| {
                if let Some(abort) = abort.lock().ok().and_then(|mut a| a.take()) {
                    let _ = abort.send(());
                }
                Ok(())
            })?;
            let add: EventListenerMethod = signal.get_named_property("addEventListener")?;
            add.apply(signal, FnArgs::from(("abort".to_owned(), listener)))?;
            attached = Some(Attached {
                signal: signal.create_ref()?,
                listener: listener.create_ref()?,
            });
        }
    }
    let task = async move {
        if already_aborted {
            return Ok::<_, napi::Error>(Err(mcp_oauth::Error::Cancelled));
        }
        let outcome = tokio::select! {
            outcome = work => outcome,
            () = aborted(on_abort) => Err(mcp_oauth::Error::Cancelled),
        };
        Ok(outcome)
    };
    env.spawn_future_with_callback(task, move |env, outcome| {
        if let Some(attached) = attached {
            attached.detach(env)?;
        }
        match outcome {
            Ok(value) => finish(env, value),
            Err(error) => Err(from_native(env, &error)),
        }
    })
}

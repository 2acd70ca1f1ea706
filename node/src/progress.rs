//! `onProgress(event)` from JavaScript: the native client's progress, as the
//! events `mcp-oauth-core` defines for every JavaScript host
//! ([`mcp_oauth::core::progress::ProgressEvent`]), delivered in order on the
//! JavaScript thread. A callback that throws is ignored: progress is for display.

use crate::store::Callback;
use mcp_oauth::core::progress::ProgressEvent;
use mcp_oauth::Progress;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;

/// A JavaScript `onProgress` callback as a native progress observer.
pub fn observer(callback: Callback<serde_json::Value>) -> impl Fn(&Progress) + Send + Sync {
    move |progress| {
        let Some(event) = event(progress) else {
            return;
        };
        if let Ok(value) = serde_json::to_value(&event) {
            callback.call(value, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

/// The JavaScript event for a native progress step, if it has one.
fn event(progress: &Progress) -> Option<ProgressEvent> {
    Some(match progress {
        Progress::Request {
            purpose,
            method,
            url,
            status,
        } => ProgressEvent::answered(*purpose, method, url.clone(), *status),
        Progress::OpenBrowser { url } => ProgressEvent::Authorize { url: url.clone() },
        Progress::CallbackAccepted => ProgressEvent::callback_accepted(),
        Progress::CallbackIgnored { reason } => ProgressEvent::callback_ignored(reason.clone()),
        Progress::SignedIn {
            issuer,
            client_id,
            scope,
            expires_at,
        } => ProgressEvent::signed_in(
            issuer.clone(),
            client_id.clone(),
            scope.clone(),
            *expires_at,
        ),
        Progress::Refreshed { expires_at } => ProgressEvent::refreshed(*expires_at),
        Progress::RefreshFailed { code } => ProgressEvent::refresh_failed(code),
        Progress::StoreMovedAside {
            path,
            moved_to,
            reason,
        } => ProgressEvent::StoreMovedAside {
            path: path.display().to_string(),
            moved_to: moved_to.display().to_string(),
            reason: reason.clone(),
        },
        _ => return None,
    })
}

//! Progress events for UIs and the CLI: what the SDK is doing, step by step,
//! without secrets.

use mcp_oauth_core::http::Purpose;
use std::path::PathBuf;
use std::sync::Arc;

/// One step of a sign-in or token refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// An OAuth request got an answer.
    Request {
        /// Why it was sent.
        purpose: Purpose,
        /// GET or POST.
        method: &'static str,
        /// Where it went.
        url: String,
        /// The HTTP status received.
        status: u16,
    },
    /// The authorization URL is being opened.
    OpenBrowser {
        /// The URL.
        url: String,
    },
    /// A callback arrived that does not belong to this sign-in.
    CallbackIgnored {
        /// Why it was ignored.
        reason: String,
    },
    /// The callback was accepted; the code exchange follows.
    CallbackAccepted,
    /// Sign-in complete.
    SignedIn {
        /// The authorization server.
        issuer: String,
        /// The client used.
        client_id: String,
        /// The scope granted.
        scope: Option<String>,
        /// When the access token expires.
        expires_at: Option<u64>,
    },
    /// The access token was refreshed.
    Refreshed {
        /// When the new access token expires.
        expires_at: Option<u64>,
    },
    /// A refresh failed; the connection's status is now expired (the server
    /// could not be reached: the next use tries again) or `reauth_required`
    /// (the server refused it).
    RefreshFailed {
        /// The stable error code.
        code: &'static str,
    },
    /// The token store file was unreadable: it was moved aside and the store
    /// started empty, so every connection must sign in again. Tell the user.
    StoreMovedAside {
        /// The store file.
        path: PathBuf,
        /// Where the unreadable file is now (`<name>.broken-<UTC time>`).
        moved_to: PathBuf,
        /// Why it could not be read.
        reason: String,
    },
}

/// Receives [`Progress`] events.
pub type Observer = Arc<dyn Fn(&Progress) + Send + Sync>;

//! Errors of the native adapter: transport, listener, store, browser, and the
//! protocol errors from core, each with a stable [`Error::code`].

use std::path::PathBuf;

/// A request could not be sent or its answer not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The URL is plain http to a non-loopback host.
    #[error("refusing to send a request to {url}: only https (or http on loopback) is allowed")]
    Insecure {
        /// The URL refused.
        url: String,
    },
    /// The network policy refuses the address (a non-public one, for a client
    /// limited to public addresses).
    #[error("refusing to send a request to {url}: {reason}")]
    NotAllowed {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// Connect or total timeout.
    #[error("request to {url} timed out")]
    Timeout {
        /// The URL.
        url: String,
    },
    /// The connection failed.
    #[error("cannot reach {url}: {reason}")]
    Connect {
        /// The URL.
        url: String,
        /// What the network stack said.
        reason: String,
    },
    /// The body exceeded the cap.
    #[error("response from {url} exceeds {limit} bytes")]
    BodyTooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: usize,
    },
    /// The HTTP client could not be built.
    #[error("HTTP client setup failed: {0}")]
    Setup(String),
}

impl TransportError {
    pub(crate) fn from_reqwest(url: &str, error: reqwest::Error) -> Self {
        if error.is_timeout() {
            return TransportError::Timeout {
                url: url.to_owned(),
            };
        }
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            if let Some(refused) = cause.downcast_ref::<crate::executor::AddressNotAllowed>() {
                return TransportError::NotAllowed {
                    url: url.to_owned(),
                    reason: refused.to_string(),
                };
            }
            if let Some(refused) = cause.downcast_ref::<mcp_oauth_core::network::EndpointRefused>()
            {
                return TransportError::NotAllowed {
                    url: url.to_owned(),
                    reason: refused.reason.to_owned(),
                };
            }
            source = cause.source();
        }
        // reqwest's Display includes the URL, which never carries secrets here
        // (tokens travel in headers and bodies), and the underlying cause.
        let mut reason = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            reason.push_str(": ");
            reason.push_str(&cause.to_string());
            source = cause.source();
        }
        TransportError::Connect {
            url: url.to_owned(),
            reason,
        }
    }
}

/// The token store failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing the store file failed.
    #[error("token store {path}: {reason}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// A stored value is not what this version writes.
    #[error("token store entry {key} is unreadable: {reason}")]
    Corrupt {
        /// The entry.
        key: String,
        /// Why.
        reason: String,
    },
    /// A host-provided store did not answer in time (a JavaScript callback whose
    /// promise never settles, say).
    #[error("token store callback {operation} did not answer within {millis} ms")]
    Timeout {
        /// Which operation (`get`, `set`, ...).
        operation: String,
        /// The time limit.
        millis: u64,
    },
    /// The store's backend failed: a database, a host's callbacks, a wrapper.
    #[error("token store: {0}")]
    Backend(String),
}

/// Anything the native SDK can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A protocol error from core (discovery, registration, callback, tokens...).
    #[error(transparent)]
    Protocol(#[from] mcp_oauth_core::Error),
    /// The network failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The token store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The loopback listener could not start.
    #[error("cannot listen for the OAuth callback on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: String,
        /// Why.
        reason: String,
    },
    /// No valid callback arrived in time.
    #[error("timed out after {seconds}s waiting for the sign-in to finish in the browser")]
    Timeout {
        /// The timeout.
        seconds: u64,
    },
    /// The browser could not be opened.
    #[error("cannot open the browser: {0}")]
    Browser(String),
    /// The sign-in was cancelled by the host.
    #[error("the sign-in was cancelled")]
    Cancelled,
    /// Only signing in again can fix this connection (its refresh token is
    /// gone, revoked or was refused).
    #[error("connection {connection_id}: {source}")]
    ReauthRequired {
        /// The connection to sign in again.
        connection_id: String,
        /// What core decided, with the authorization server's refusal if any.
        #[source]
        source: mcp_oauth_core::Error,
    },
    /// A web sign-in of this connection was found but could not be completed.
    #[error("sign-in of {connection_id} failed: {source}")]
    SignInFailed {
        /// The connection the sign-in was for.
        connection_id: String,
        /// Why (its code is this error's code).
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// A stable, snake_case code for programs (and JS `error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::Protocol(e) => e.code(),
            Error::Transport(TransportError::Timeout { .. }) => "timeout",
            Error::Transport(TransportError::Insecure { .. }) => "insecure_endpoint",
            Error::Transport(TransportError::NotAllowed { .. }) => "endpoint_not_allowed",
            Error::Transport(_) => "network_error",
            Error::Store(StoreError::Timeout { .. }) => "store_timeout",
            Error::Store(_) => "store_error",
            Error::Listen { .. } => "listen_failed",
            Error::Timeout { .. } => "timeout",
            Error::Browser(_) => "browser_failed",
            Error::Cancelled => "cancelled",
            Error::ReauthRequired { .. } => "reauth_required",
            Error::SignInFailed { source, .. } => source.code(),
        }
    }

    /// The connection this error is about, when it is known: the one that must
    /// sign in again, or the one a failed web sign-in was for.
    pub fn connection_id(&self) -> Option<&str> {
        match self {
            Error::ReauthRequired { connection_id, .. }
            | Error::SignInFailed { connection_id, .. } => Some(connection_id),
            _ => None,
        }
    }
}

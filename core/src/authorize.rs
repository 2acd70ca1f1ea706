//! The authorization request URL (RFC 6749 §4.1.1 + PKCE + RFC 8707) and the
//! validation of the callback that comes back (`state`, RFC 9207 `iss`, `error`).
//!
//! CONTRACT (stub: to be implemented).

use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use url::Url;

/// Everything that goes into the authorization URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest<'a> {
    /// The AS authorization endpoint (may already carry query parameters).
    pub endpoint: &'a Url,
    /// The client identifier.
    pub client_id: &'a str,
    /// Where the AS sends the user back.
    pub redirect_uri: &'a str,
    /// Space-separated scopes; `None` omits the parameter.
    pub scope: Option<&'a str>,
    /// The CSRF token echoed back in the callback.
    pub state: &'a str,
    /// `BASE64URL(SHA256(verifier))`.
    pub code_challenge: &'a str,
    /// The canonical resource URI (RFC 8707); `None` omits it.
    pub resource: Option<&'a str>,
}

impl AuthorizationRequest<'_> {
    /// The URL to open in the browser: `response_type=code`, `client_id`,
    /// `redirect_uri`, `scope` (when given), `state`, `code_challenge`,
    /// `code_challenge_method=S256`, `resource` (when given).
    pub fn to_url(&self) -> Url {
        todo!()
    }
}

/// What the callback must match; recorded before the browser opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackExpectation {
    /// The `state` sent.
    pub state: String,
    /// The issuer of the AS the request went to; `None` when unknown (a manual
    /// preset without an issuer), in which case `iss` cannot be checked.
    pub issuer: Option<String>,
    /// Whether the AS advertised `authorization_response_iss_parameter_supported`.
    pub iss_required: bool,
}

/// The callback is unusable; the code (if any) must not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackError {
    /// Not a URL, or no query.
    #[error("the callback URL is malformed: {0}")]
    Malformed(String),
    /// A parameter appears more than once (RFC 6749 §3.1).
    #[error("the callback repeats the {0} parameter")]
    DuplicateParameter(String),
    /// No `state`: possibly a forged or stale callback.
    #[error("the callback has no state parameter; ignoring it")]
    StateMissing,
    /// A different `state`: possibly a forged or stale callback.
    #[error("the callback's state does not match this sign-in; ignoring it")]
    StateMismatch,
    /// The AS promised `iss` (RFC 9207) but the callback lacks it.
    #[error(
        "the callback lacks the iss parameter that {expected} promised; possible mix-up attack"
    )]
    IssuerMissing {
        /// The issuer expected.
        expected: String,
    },
    /// `iss` names another AS: a mix-up attack. The AS error fields are withheld.
    #[error("the callback came from issuer {found}, expected {expected}; possible mix-up attack")]
    IssuerMismatch {
        /// The issuer expected.
        expected: String,
        /// The `iss` received.
        found: String,
    },
    /// The AS reported an error (RFC 6749 §4.1.2.1), e.g. `access_denied`.
    #[error("authorization failed: {error}{}", description.as_deref().map(|d| format!(": {d}")).unwrap_or_default())]
    Denied {
        /// The OAuth error code.
        error: String,
        /// The AS explanation.
        description: Option<String>,
    },
    /// Neither `code` nor `error`.
    #[error("the callback carries no authorization code")]
    CodeMissing,
}

/// Validates a callback URL: `state` first, then `iss` per RFC 9207 (before the
/// code or any error field is looked at), then `error`, then `code`.
pub fn validate_callback(
    callback_url: &str,
    expected: &CallbackExpectation,
) -> Result<Secret, CallbackError> {
    let _ = (callback_url, expected);
    todo!()
}

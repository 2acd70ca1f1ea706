//! Parsing `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 6750 §3) and the
//! Bearer parameters MCP relies on: `resource_metadata` (RFC 9728 §5.1), `scope`,
//! `error` and `error_description`.
//!
//! CONTRACT (stub: to be implemented). Bad input returns an error and never panics.

use crate::http::HttpResponse;
use serde::{Deserialize, Serialize};

/// One challenge from a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Challenge {
    /// The auth scheme as sent (compare with `eq_ignore_ascii_case`).
    pub scheme: String,
    /// A token68 credential hint, for schemes that use one instead of parameters.
    pub token68: Option<String>,
    /// Parameters with lower-cased names and unescaped values, in order.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    /// The value of a parameter, by case-insensitive name.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a Bearer challenge tells an MCP client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BearerChallenge {
    /// Where the protected-resource metadata lives (RFC 9728 §5.1).
    pub resource_metadata: Option<String>,
    /// Space-separated scopes the resource asks for.
    pub scope: Option<String>,
    /// `invalid_token`, `insufficient_scope`, ...
    pub error: Option<String>,
    /// Human-readable explanation from the server.
    pub error_description: Option<String>,
}

impl BearerChallenge {
    /// Whether this is a step-up request (RFC 6750 §3.1 `insufficient_scope`).
    pub fn is_insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }
}

/// A `WWW-Authenticate` value that does not follow the RFC 9110 grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// The header was present but malformed.
    #[error("malformed WWW-Authenticate header at byte {position}: {reason}")]
    Malformed {
        /// Byte offset where parsing failed.
        position: usize,
        /// What was expected there.
        reason: &'static str,
    },
}

/// Parses one header value into its challenges (a value may hold several).
pub fn parse(header_value: &str) -> Result<Vec<Challenge>, ChallengeError> {
    let _ = header_value;
    todo!()
}

/// The first Bearer challenge across all `WWW-Authenticate` headers of a response.
/// `Ok(None)` when there is no such header or no Bearer challenge in it.
pub fn bearer_challenge(
    response: &HttpResponse,
) -> Result<Option<BearerChallenge>, ChallengeError> {
    let _ = response;
    todo!()
}

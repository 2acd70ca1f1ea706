//! Token-endpoint error responses
//! ([RFC 6749 §5.2](https://www.rfc-editor.org/rfc/rfc6749#section-5.2), plus
//! `invalid_target` from [RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)):
//! the code, an `error_description` that names what was wrong without quoting a
//! secret, the status (`401` for `invalid_client`, else `400`), the Basic
//! challenge when the client tried Basic, and the headers every token response
//! carries.

use serde::{Deserialize, Serialize};
use serde_json::json;

/// An RFC 6749 §5.2 (or RFC 8707) error code the token endpoint answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenErrorCode {
    /// Malformed: a missing or repeated parameter, a wrong content type.
    InvalidRequest,
    /// Client authentication failed (`401`).
    InvalidClient,
    /// The code or refresh token is unknown, expired, spent, or not this
    /// client's; or PKCE or the redirect URI does not match.
    InvalidGrant,
    /// The client may not use this grant type.
    UnauthorizedClient,
    /// The grant type is not supported.
    UnsupportedGrantType,
    /// The scope is invalid or exceeds the grant.
    InvalidScope,
    /// The `resource` is not the one granted (RFC 8707).
    InvalidTarget,
}

impl TokenErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenErrorCode::InvalidRequest => "invalid_request",
            TokenErrorCode::InvalidClient => "invalid_client",
            TokenErrorCode::InvalidGrant => "invalid_grant",
            TokenErrorCode::UnauthorizedClient => "unauthorized_client",
            TokenErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            TokenErrorCode::InvalidScope => "invalid_scope",
            TokenErrorCode::InvalidTarget => "invalid_target",
        }
    }
}

/// A refused token request, ready to be sent as its RFC 6749 §5.2 response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {description}", code.as_str())]
pub struct TokenEndpointError {
    /// The error code.
    pub code: TokenErrorCode,
    /// What was wrong, for the client's developer; never quotes a secret.
    pub description: String,
    /// The client authenticated with HTTP Basic: answer with a Basic challenge
    /// (RFC 6749 §5.2).
    pub basic_challenge: bool,
    /// A grant family whose tokens must all be revoked now: a spent code or a
    /// rotated refresh token was presented again (RFC 6749 §4.1.2, §10.4;
    /// RFC 9700 §4.14.2). The host deletes the family and its access tokens.
    pub revoke_family: Option<String>,
}

impl TokenEndpointError {
    /// An error with this code and description.
    pub fn new(code: TokenErrorCode, description: impl Into<String>) -> Self {
        TokenEndpointError {
            code,
            description: description.into(),
            basic_challenge: false,
            revoke_family: None,
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(TokenErrorCode::InvalidRequest, description)
    }

    /// `invalid_grant`.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(TokenErrorCode::InvalidGrant, description)
    }

    /// `invalid_client`, with a Basic challenge when Basic was tried.
    pub fn invalid_client(description: impl Into<String>, basic: bool) -> Self {
        TokenEndpointError {
            basic_challenge: basic,
            ..Self::new(TokenErrorCode::InvalidClient, description)
        }
    }

    /// The HTTP status: `401` for `invalid_client`, else `400`.
    pub fn status(&self) -> u16 {
        if self.code == TokenErrorCode::InvalidClient {
            401
        } else {
            400
        }
    }

    /// The JSON body: `{"error": ..., "error_description": ...}`.
    pub fn body(&self) -> serde_json::Value {
        json!({ "error": self.code.as_str(), "error_description": self.description })
    }

    /// The response headers: JSON, not cacheable, and `WWW-Authenticate: Basic`
    /// when the client tried Basic.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers = no_store_json_headers();
        if self.basic_challenge {
            headers.push((
                "WWW-Authenticate".into(),
                "Basic realm=\"token endpoint\", charset=\"UTF-8\"".into(),
            ));
        }
        headers
    }
}

/// `Content-Type: application/json`, `Cache-Control: no-store` and
/// `Pragma: no-cache` (RFC 6749 §5.1).
pub fn no_store_json_headers() -> Vec<(String, String)> {
    vec![
        ("Content-Type".into(), "application/json".into()),
        ("Cache-Control".into(), "no-store".into()),
        ("Pragma".into(), "no-cache".into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_body_and_headers_follow_rfc6749_section_5_2() {
        let error = TokenEndpointError::invalid_client("wrong client secret", true);
        assert_eq!(error.status(), 401);
        assert_eq!(
            error.body(),
            json!({"error": "invalid_client", "error_description": "wrong client secret"})
        );
        let headers = error.headers();
        assert!(headers.contains(&("Cache-Control".into(), "no-store".into())));
        assert!(headers
            .iter()
            .any(|(n, v)| n == "WWW-Authenticate" && v.starts_with("Basic ")));
        let grant = TokenEndpointError::invalid_grant("spent");
        assert_eq!(grant.status(), 400);
        assert!(!grant.headers().iter().any(|(n, _)| n == "WWW-Authenticate"));
        assert_eq!(grant.to_string(), "invalid_grant: spent");
    }

    #[test]
    fn codes_have_their_registry_names() {
        use TokenErrorCode::*;
        let table = [
            (InvalidRequest, "invalid_request"),
            (InvalidClient, "invalid_client"),
            (InvalidGrant, "invalid_grant"),
            (UnauthorizedClient, "unauthorized_client"),
            (UnsupportedGrantType, "unsupported_grant_type"),
            (InvalidScope, "invalid_scope"),
            (InvalidTarget, "invalid_target"),
        ];
        for (code, name) in table {
            assert_eq!(code.as_str(), name);
            assert_eq!(serde_json::to_value(code).unwrap(), json!(name));
        }
    }
}

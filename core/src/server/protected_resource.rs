//! The protected resource's side: its metadata document
//! ([RFC 9728 §2](https://www.rfc-editor.org/rfc/rfc9728#section-2)), reading a
//! bearer token ([RFC 6750 §2.1](https://www.rfc-editor.org/rfc/rfc6750#section-2.1)),
//! deciding whether the token's record admits the request (expiry, audience per
//! RFC 8707, scopes), and the `WWW-Authenticate` challenge for a refusal
//! ([RFC 6750 §3](https://www.rfc-editor.org/rfc/rfc6750#section-3) with
//! `resource_metadata` from RFC 9728 §5.1): `401` without a token or with a bad
//! one, `403 insufficient_scope` naming the scopes needed, which is what makes an
//! MCP client step up.

use super::scope::includes_all;
use super::tokens::AccessTokenRecord;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A resource server (an MCP endpoint) that accepts this toolkit's tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedResource {
    /// The resource identifier: the MCP endpoint's canonical URL. Tokens must be
    /// issued for exactly this resource (or for none).
    pub resource: String,
    /// Issuers of the authorization servers that issue its tokens.
    pub authorization_servers: Vec<String>,
    /// `scopes_supported` of the metadata document.
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    /// The scopes a `401` challenge names: what a client should ask for first.
    #[serde(default)]
    pub challenge_scopes: Vec<String>,
    /// Where the metadata document is served; a `401` challenge names it.
    #[serde(default)]
    pub resource_metadata_url: Option<String>,
    /// A human-readable name for the metadata document.
    #[serde(default)]
    pub resource_name: Option<String>,
}

/// Why a request to the protected resource is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// No bearer token at all (RFC 6750 §3.1: no error code).
    #[error("no bearer token")]
    Missing,
    /// An unknown, expired or foreign token (`invalid_token`).
    #[error("invalid_token: {0}")]
    InvalidToken(&'static str),
    /// The token lacks a scope the request needs (`insufficient_scope`).
    #[error("insufficient_scope: {needed} is required")]
    InsufficientScope {
        /// The scopes to ask for: the token's plus the missing ones.
        needed: String,
    },
}

impl BearerError {
    /// `401`, or `403` for `insufficient_scope`.
    pub fn status(&self) -> u16 {
        match self {
            BearerError::InsufficientScope { .. } => 403,
            _ => 401,
        }
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme compared
/// case-insensitively); `None` for no header, another scheme, or a value that is
/// not RFC 6750 `b64token`.
pub fn bearer_token(authorization: Option<&str>) -> Option<&str> {
    let (scheme, token) = authorization?.trim().split_once(' ')?;
    let token = token.trim();
    let b64token = !token.is_empty()
        && token.trim_end_matches('=').bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    (scheme.eq_ignore_ascii_case("bearer") && b64token).then_some(token)
}

impl ProtectedResource {
    /// The RFC 9728 metadata document.
    pub fn metadata(&self) -> Value {
        let mut doc = json!({
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "bearer_methods_supported": ["header"],
        });
        if !self.scopes_supported.is_empty() {
            doc["scopes_supported"] = json!(self.scopes_supported);
        }
        if let Some(name) = &self.resource_name {
            doc["resource_name"] = json!(name);
        }
        doc
    }

    /// Whether a request carrying `token` (from [`bearer_token`]), whose record the
    /// host looked up by [`token_key`](super::tokens::token_key), may proceed:
    /// the record exists, has not expired, is for this resource, and holds every
    /// scope in `required`.
    pub fn verify(
        &self,
        token: Option<&str>,
        record: Option<&AccessTokenRecord>,
        required: &[String],
        now: u64,
    ) -> Result<(), BearerError> {
        if token.is_none() {
            return Err(BearerError::Missing);
        }
        let Some(record) = record else {
            return Err(BearerError::InvalidToken("unknown or revoked token"));
        };
        if record.expires_at <= now {
            return Err(BearerError::InvalidToken("the token expired"));
        }
        if record
            .resource
            .as_deref()
            .is_some_and(|r| r != self.resource)
        {
            return Err(BearerError::InvalidToken(
                "the token was issued for another resource",
            ));
        }
        self.require_scopes(record, required)
    }

    /// Whether a verified token's record holds every scope in `required` (for an
    /// operation that needs more than the request as a whole).
    pub fn require_scopes(
        &self,
        record: &AccessTokenRecord,
        required: &[String],
    ) -> Result<(), BearerError> {
        if includes_all(record.scope.as_deref(), required) {
            return Ok(());
        }
        let mut needed: Vec<&str> = record
            .scope
            .as_deref()
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .collect();
        for scope in required {
            if !needed.contains(&scope.as_str()) {
                needed.push(scope);
            }
        }
        Err(BearerError::InsufficientScope {
            needed: needed.join(" "),
        })
    }

    /// The `WWW-Authenticate` value answering `error`.
    pub fn challenge(&self, error: &BearerError) -> String {
        let mut params: Vec<(&str, String)> = Vec::new();
        match error {
            BearerError::Missing => {}
            BearerError::InvalidToken(description) => {
                params.push(("error", "invalid_token".into()));
                params.push(("error_description", (*description).into()));
            }
            BearerError::InsufficientScope { .. } => {
                params.push(("error", "insufficient_scope".into()));
            }
        }
        match error {
            BearerError::InsufficientScope { needed } => params.push(("scope", needed.clone())),
            _ if !self.challenge_scopes.is_empty() => {
                params.push(("scope", self.challenge_scopes.join(" ")));
            }
            _ => {}
        }
        if let Some(url) = &self.resource_metadata_url {
            params.push(("resource_metadata", url.clone()));
        }
        let rendered: Vec<String> = params
            .iter()
            .map(|(name, value)| format!("{name}=\"{}\"", quoted_string(value)))
            .collect();
        if rendered.is_empty() {
            "Bearer".to_owned()
        } else {
            format!("Bearer {}", rendered.join(", "))
        }
    }
}

/// Escapes a value for an RFC 9110 quoted-string, dropping control characters.
fn quoted_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::www_authenticate;

    const MCP: &str = "http://127.0.0.1:3000/mcp";

    fn resource() -> ProtectedResource {
        ProtectedResource {
            resource: MCP.into(),
            authorization_servers: vec!["http://127.0.0.1:3000".into()],
            scopes_supported: vec!["mcp".into(), "mcp:admin".into()],
            challenge_scopes: vec!["mcp".into()],
            resource_metadata_url: Some(
                "http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp".into(),
            ),
            resource_name: Some("Example".into()),
        }
    }

    fn record(scope: &str, resource: Option<&str>) -> AccessTokenRecord {
        AccessTokenRecord {
            client_id: "mcp-agent".into(),
            subject: None,
            scope: Some(scope.into()),
            resource: resource.map(Into::into),
            family_id: "f".into(),
            issued_at: 0,
            expires_at: 100,
        }
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        assert_eq!(
            bearer_token(Some("Bearer abc.DEF-_~+/==")),
            Some("abc.DEF-_~+/==")
        );
        assert_eq!(bearer_token(Some("bearer  tok ")), Some("tok"));
        for bad in [
            None,
            Some("Basic abc"),
            Some("Bearer"),
            Some("Bearer a b"),
            Some("Bearer a=b"),
        ] {
            assert_eq!(bearer_token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn verification_table() {
        let admin = ["mcp:admin".to_owned()];
        let good = record("mcp", Some(MCP));
        let foreign = record("mcp", Some("http://127.0.0.1:3000/other"));
        let unbound = record("mcp", None);
        // (token sent, record, required, now, outcome)
        let table = [
            (true, Some(&good), &[][..], 99, Ok(())),
            (true, Some(&unbound), &[][..], 99, Ok(())),
            (false, None, &[][..], 0, Err(BearerError::Missing)),
            (
                true,
                None,
                &[][..],
                0,
                Err(BearerError::InvalidToken("unknown or revoked token")),
            ),
            (
                true,
                Some(&good),
                &[][..],
                100,
                Err(BearerError::InvalidToken("the token expired")),
            ),
            (
                true,
                Some(&foreign),
                &[][..],
                0,
                Err(BearerError::InvalidToken(
                    "the token was issued for another resource",
                )),
            ),
            (
                true,
                Some(&good),
                &admin[..],
                0,
                Err(BearerError::InsufficientScope {
                    needed: "mcp mcp:admin".into(),
                }),
            ),
        ];
        for (sent, record, required, now, outcome) in table {
            let token = sent.then_some("t");
            assert_eq!(resource().verify(token, record, required, now), outcome);
        }
    }

    #[test]
    fn challenges_parse_back_with_the_client_side_parser() {
        let r = resource();
        // (error, status, expected challenge)
        let table = [
            (
                BearerError::Missing,
                401,
                format!("Bearer scope=\"mcp\", resource_metadata=\"{}\"", r.resource_metadata_url.clone().unwrap()),
            ),
            (
                BearerError::InvalidToken("the token expired"),
                401,
                format!(
                    "Bearer error=\"invalid_token\", error_description=\"the token expired\", scope=\"mcp\", resource_metadata=\"{}\"",
                    r.resource_metadata_url.clone().unwrap()
                ),
            ),
            (
                BearerError::InsufficientScope {
                    needed: "mcp mcp:admin".into(),
                },
                403,
                format!(
                    "Bearer error=\"insufficient_scope\", scope=\"mcp mcp:admin\", resource_metadata=\"{}\"",
                    r.resource_metadata_url.clone().unwrap()
                ),
            ),
        ];
        for (error, status, expected) in table {
            assert_eq!(error.status(), status);
            let challenge = r.challenge(&error);
            assert_eq!(challenge, expected);
            let parsed = www_authenticate::parse(&challenge).unwrap();
            assert!(!parsed.is_empty());
        }
        let bare = ProtectedResource {
            challenge_scopes: vec![],
            resource_metadata_url: None,
            ..resource()
        };
        assert_eq!(bare.challenge(&BearerError::Missing), "Bearer");
    }

    #[test]
    fn metadata_names_resource_servers_and_scopes() {
        let doc = resource().metadata();
        assert_eq!(doc["resource"], MCP);
        assert_eq!(
            doc["authorization_servers"],
            json!(["http://127.0.0.1:3000"])
        );
        assert_eq!(doc["scopes_supported"], json!(["mcp", "mcp:admin"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
        let parsed: crate::discovery::ProtectedResourceMetadata =
            serde_json::from_value(doc).unwrap();
        assert_eq!(parsed.resource, MCP);
    }

    #[test]
    fn quoted_strings_escape_quotes_and_drop_controls() {
        assert_eq!(quoted_string("a\"b\\c\r\nd"), "a\\\"b\\\\cd");
    }
}

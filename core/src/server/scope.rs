//! Which scopes a client is granted: the per-client [`ScopePolicy`] (allow-list,
//! default, required) at the authorization endpoint
//! ([RFC 6749 §3.3](https://www.rfc-editor.org/rfc/rfc6749#section-3.3)), and the
//! narrowing rule of the refresh grant
//! ([RFC 6749 §6](https://www.rfc-editor.org/rfc/rfc6749#section-6): a refresh may
//! ask for less than the original grant, never more).
//!
//! Scopes are compared exactly (case-sensitive) and granted in the order
//! requested, without duplicates.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Which scopes one client may be granted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopePolicy {
    /// The scopes this client may be granted; a request naming any other is
    /// refused with `invalid_scope`. `None`: any well-formed scope token.
    #[serde(default)]
    pub allowed: Option<Vec<String>>,
    /// Granted when the request names no scope at all.
    #[serde(default)]
    pub default: Vec<String>,
    /// Every grant must include these: a request (after `default` applies)
    /// lacking one is refused with `invalid_scope`.
    #[serde(default)]
    pub required: Vec<String>,
}

/// Why a requested scope is refused (`invalid_scope`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// A scope outside the client's allow-list, or not a valid scope token.
    #[error("scope {0} is not allowed for this client")]
    NotAllowed(String),
    /// A required scope is missing from the request.
    #[error("scope {0} is required")]
    Missing(String),
    /// A refresh asked for a scope the original grant did not include.
    #[error("scope {0} exceeds the original grant")]
    ExceedsGrant(String),
}

impl ScopePolicy {
    /// An allow-list with a default, nothing required.
    pub fn allow<S: Into<String>>(
        allowed: impl IntoIterator<Item = S>,
        default: impl IntoIterator<Item = S>,
    ) -> Self {
        ScopePolicy {
            allowed: Some(allowed.into_iter().map(Into::into).collect()),
            default: default.into_iter().map(Into::into).collect(),
            required: Vec::new(),
        }
    }

    /// The scopes granted for `requested` (a space-separated `scope` parameter),
    /// as a normalised scope string; `None` when nothing is granted.
    pub fn grant(&self, requested: Option<&str>) -> Result<Option<String>, ScopeError> {
        let mut tokens = split(requested.unwrap_or_default());
        if tokens.is_empty() {
            tokens = self.default.iter().map(String::as_str).collect();
        }
        if let Some(refused) = tokens.iter().find(|t| !self.allows_token(t)) {
            return Err(ScopeError::NotAllowed((*refused).to_owned()));
        }
        if let Some(missing) = self.required.iter().find(|r| !tokens.contains(&r.as_str())) {
            return Err(ScopeError::Missing(missing.clone()));
        }
        Ok(join(tokens))
    }

    /// Whether one scope token may be granted.
    pub(crate) fn allows_token(&self, token: &str) -> bool {
        match &self.allowed {
            Some(allowed) => allowed.iter().any(|a| a == token),
            None => is_scope_token(token),
        }
    }
}

/// The refresh grant's scope (RFC 6749 §6): the original grant when the request
/// names none, else the requested scopes, each of which the grant must include.
pub fn narrow(
    granted: Option<&str>,
    requested: Option<&str>,
) -> Result<Option<String>, ScopeError> {
    let requested = split(requested.unwrap_or_default());
    if requested.is_empty() {
        return Ok(join(split(granted.unwrap_or_default())));
    }
    let granted: HashSet<&str> = split(granted.unwrap_or_default()).into_iter().collect();
    if let Some(extra) = requested.iter().find(|s| !granted.contains(*s)) {
        return Err(ScopeError::ExceedsGrant((*extra).to_owned()));
    }
    Ok(join(requested))
}

/// Whether `scope` (space-separated) includes every scope in `needed`.
pub fn includes_all(scope: Option<&str>, needed: &[String]) -> bool {
    let have: HashSet<&str> = split(scope.unwrap_or_default()).into_iter().collect();
    needed.iter().all(|n| have.contains(n.as_str()))
}

/// The scope tokens of a space-separated string, in order, without duplicates.
fn split(scope: &str) -> Vec<&str> {
    let mut seen = HashSet::new();
    scope
        .split(' ')
        .filter(|t| !t.is_empty() && seen.insert(*t))
        .collect()
}

fn join(tokens: Vec<&str>) -> Option<String> {
    Some(tokens.join(" ")).filter(|s| !s.is_empty())
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mcp_agent() -> ScopePolicy {
        ScopePolicy {
            allowed: Some(vec!["mcp".into(), "profile".into()]),
            default: vec!["mcp".into()],
            required: vec!["mcp".into()],
        }
    }

    /// A policy, the requested `scope`, and what is granted.
    type GrantCase<'a> = (
        &'a ScopePolicy,
        Option<&'a str>,
        Result<Option<&'a str>, ScopeError>,
    );

    #[test]
    fn grant_table() {
        use ScopeError::*;
        let open = ScopePolicy::default();
        let listed = ScopePolicy::allow(["mcp:read", "mcp:write"], ["mcp:read"]);
        // (policy, requested, outcome)
        let table: [GrantCase; 14] = [
            (&mcp_agent(), Some("mcp"), Ok(Some("mcp"))),
            (&mcp_agent(), Some("profile mcp"), Ok(Some("profile mcp"))),
            (&mcp_agent(), None, Ok(Some("mcp"))),
            (&mcp_agent(), Some("  "), Ok(Some("mcp"))),
            (&mcp_agent(), Some("profile"), Err(Missing("mcp".into()))),
            (
                &mcp_agent(),
                Some("mcp admin"),
                Err(NotAllowed("admin".into())),
            ),
            (&mcp_agent(), Some("MCP"), Err(NotAllowed("MCP".into()))),
            (
                &listed,
                Some(" mcp:read  mcp:read mcp:write "),
                Ok(Some("mcp:read mcp:write")),
            ),
            (&listed, None, Ok(Some("mcp:read"))),
            (
                &listed,
                Some("mcp:read other"),
                Err(NotAllowed("other".into())),
            ),
            (&open, Some("anything at:all"), Ok(Some("anything at:all"))),
            (
                &open,
                Some("bad\"quote"),
                Err(NotAllowed("bad\"quote".into())),
            ),
            (&open, None, Ok(None)),
            (&open, Some(""), Ok(None)),
        ];
        for (policy, requested, outcome) in table {
            assert_eq!(
                policy.grant(requested),
                outcome.map(|s| s.map(str::to_owned)),
                "{requested:?}"
            );
        }
    }

    #[test]
    fn a_refresh_may_narrow_but_never_widen_the_grant() {
        let granted = Some("mcp:read mcp:write");
        assert_eq!(narrow(granted, None), Ok(Some("mcp:read mcp:write".into())));
        assert_eq!(
            narrow(granted, Some("mcp:read")),
            Ok(Some("mcp:read".into()))
        );
        assert_eq!(
            narrow(granted, Some("mcp:read mcp:admin")),
            Err(ScopeError::ExceedsGrant("mcp:admin".into()))
        );
        assert_eq!(narrow(None, None), Ok(None));
        assert_eq!(
            narrow(None, Some("x")),
            Err(ScopeError::ExceedsGrant("x".into()))
        );
    }

    #[test]
    fn includes_all_checks_a_token_scope() {
        let needed = vec!["mcp".to_owned()];
        assert!(includes_all(Some("profile mcp"), &needed));
        assert!(!includes_all(Some("profile"), &needed));
        assert!(!includes_all(None, &needed));
        assert!(includes_all(None, &[]));
    }

    #[test]
    fn forty_thousand_distinct_scopes_are_granted_in_order() {
        let many: Vec<String> = (0..40_000).map(|i| format!("s{i}")).collect();
        let policy = ScopePolicy::default();
        let requested = many.join(" ");
        let granted = policy.grant(Some(&requested)).unwrap().unwrap();
        assert_eq!(granted.len(), requested.len());
        assert!(narrow(Some(&requested), Some(&requested)).is_ok());
    }
}

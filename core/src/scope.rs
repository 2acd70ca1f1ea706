//! Which scopes to ask for: MCP 2026-07-28 authorization, "Scope Selection
//! Strategy", "Refresh Tokens" (SEP-2207, `offline_access`) and "Step-Up
//! Authorization Flow"; scope strings are RFC 6749 §3.3 space-delimited lists.
//!
//! `offline_access` is appended only to a scope the client is already sending. When
//! neither the challenge nor the protected-resource metadata names a scope, the MCP
//! spec says to omit `scope`, and RFC 6749 §3.3 lets the server apply its default
//! scope then; sending `scope=offline_access` alone would replace that default with
//! a refresh-only request and can leave the access token without any resource
//! scope. The spec's `offline_access` rule is a MAY, so leaving it out there costs
//! nothing but a refresh token the server may still issue on its own.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// The scope that asks OIDC-style servers for a refresh token (SEP-2207).
pub const OFFLINE_ACCESS: &str = "offline_access";

/// Scopes for the first authorization request: the challenge's `scope`, else all of
/// PRM `scopes_supported`, else none. `offline_access` is added only when the AS
/// lists it (and not twice), and never as the only scope (see the module docs).
/// `None` means "omit the `scope` parameter".
pub fn initial_scope(
    challenge_scope: Option<&str>,
    resource_scopes_supported: Option<&[String]>,
    as_scopes_supported: Option<&[String]>,
) -> Option<String> {
    let from_challenge = union(challenge_scope, None);
    let base = from_challenge.or_else(|| {
        let joined = resource_scopes_supported?.join(" ");
        union(Some(&joined), None)
    })?;
    let as_offers_offline =
        as_scopes_supported.is_some_and(|s| s.iter().any(|x| x == OFFLINE_ACCESS));
    if as_offers_offline {
        union(Some(&base), Some(OFFLINE_ACCESS))
    } else {
        Some(base)
    }
}

/// The union of two space-separated scope lists, first-seen order, no duplicates.
/// `None` when the union is empty.
pub fn union(current: Option<&str>, challenged: Option<&str>) -> Option<String> {
    // Linear in the number of scopes: a server can send tens of thousands.
    let mut known: HashSet<&str> = HashSet::new();
    let mut seen: Vec<&str> = Vec::new();
    // RFC 6749 §3.3 delimits with spaces; splitting on any ASCII whitespace also
    // copes with servers that pad or wrap their challenge values.
    for token in current
        .into_iter()
        .chain(challenged)
        .flat_map(str::split_ascii_whitespace)
    {
        if known.insert(token) {
            seen.push(token);
        }
    }
    if seen.is_empty() {
        None
    } else {
        Some(seen.join(" "))
    }
}

/// Counts step-up attempts for one resource and operation, so a server that keeps
/// answering `insufficient_scope` cannot loop the client forever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepUp {
    attempts: u32,
    max_attempts: u32,
}

/// The step-up budget is spent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server still answers insufficient_scope after {attempts} step-up attempts (scope {scope}); giving up")]
pub struct StepUpExhausted {
    /// Attempts made.
    pub attempts: u32,
    /// The scope the server keeps demanding: what was last requested plus the
    /// challenge's scopes (empty if neither named any).
    pub scope: String,
}

impl StepUp {
    /// The default budget: two step-ups, so at most three authorization requests per
    /// operation ("retry a few times at most"; the official conformance suite's
    /// `scope-retry-limit` fails a client that authorizes a fourth time).
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 2;

    /// A fresh budget.
    pub fn new(max_attempts: u32) -> Self {
        Self {
            attempts: 0,
            max_attempts,
        }
    }

    /// Records one more `insufficient_scope` answer and returns the scope to request
    /// next: the union of what was requested and what the challenge names.
    pub fn next_scope(
        &mut self,
        current: Option<&str>,
        challenged: Option<&str>,
    ) -> Result<Option<String>, StepUpExhausted> {
        let next = union(current, challenged);
        self.attempts = self.attempts.saturating_add(1);
        if self.attempts > self.max_attempts {
            return Err(StepUpExhausted {
                attempts: self.max_attempts,
                scope: next.unwrap_or_default(),
            });
        }
        Ok(next)
    }

    /// How many step-ups have been started so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl Default for StepUp {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_ATTEMPTS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn initial_scope_table() {
        // (challenge, PRM scopes_supported, AS scopes_supported, expected)
        type Row<'a> = (
            Option<&'a str>,
            Option<&'a [&'a str]>,
            Option<&'a [&'a str]>,
            Option<&'a str>,
        );
        let table: &[Row] = &[
            // MCP example: the challenge wins over scopes_supported.
            (
                Some("files:read"),
                Some(&["files:read", "files:write"]),
                None,
                Some("files:read"),
            ),
            // No relation between challenge and scopes_supported is assumed.
            (Some("other"), Some(&["mcp:basic"]), None, Some("other")),
            (Some("  mcp:basic  "), None, None, Some("mcp:basic")),
            // A blank challenge scope counts as absent.
            (Some("   "), Some(&["mcp:basic"]), None, Some("mcp:basic")),
            (
                None,
                Some(&["mcp:basic", "mcp:read", "mcp:write"]),
                None,
                Some("mcp:basic mcp:read mcp:write"),
            ),
            (None, None, None, None),
            (None, Some(&[]), None, None),
            // offline_access only when the AS lists it (conformance
            // offline-access-scope / offline-access-not-supported).
            (
                None,
                Some(&["mcp:basic"]),
                Some(&["mcp:basic", "offline_access"]),
                Some("mcp:basic offline_access"),
            ),
            (
                None,
                Some(&["mcp:basic", "mcp:read"]),
                Some(&["mcp:basic", "mcp:read"]),
                Some("mcp:basic mcp:read"),
            ),
            (
                Some("offline_access files:read"),
                None,
                Some(&["offline_access"]),
                Some("offline_access files:read"),
            ),
            // PRM should not list offline_access, but if it does it is not doubled.
            (
                None,
                Some(&["a", "offline_access"]),
                Some(&["offline_access"]),
                Some("a offline_access"),
            ),
            // Nothing to ask for: omit scope even though the AS lists offline_access.
            (None, None, Some(&["offline_access"]), None),
        ];
        for (challenge, prm, as_, want) in table {
            let prm = prm.map(v);
            let as_ = as_.map(v);
            assert_eq!(
                initial_scope(*challenge, prm.as_deref(), as_.as_deref()).as_deref(),
                *want,
                "{challenge:?} {prm:?} {as_:?}"
            );
        }
    }

    #[test]
    fn union_keeps_first_seen_order_without_duplicates() {
        assert_eq!(
            union(Some("a b"), Some("b c a d")).as_deref(),
            Some("a b c d")
        );
        assert_eq!(union(Some("a  a\tb"), None).as_deref(), Some("a b"));
        assert_eq!(union(None, Some("x")).as_deref(), Some("x"));
        assert_eq!(union(Some(" "), Some("")), None);
        assert_eq!(union(None, None), None);
    }

    #[test]
    fn step_up_requests_the_union_of_requested_and_challenged_scopes() {
        let mut step_up = StepUp::default();
        assert_eq!(
            step_up.next_scope(Some("mcp:basic"), Some("mcp:basic mcp:write")),
            Ok(Some("mcp:basic mcp:write".into()))
        );
        assert_eq!(step_up.attempts(), 1);
    }

    #[test]
    fn step_up_gives_up_after_max_attempts() {
        let mut step_up = StepUp::new(2);
        assert!(step_up.next_scope(Some("a"), Some("b")).is_ok());
        assert!(step_up.next_scope(Some("a b"), Some("b")).is_ok());
        assert_eq!(
            step_up.next_scope(Some("a b"), Some("b")),
            Err(StepUpExhausted {
                attempts: 2,
                scope: "a b".into()
            })
        );
        // Stays exhausted.
        assert!(step_up.next_scope(Some("a b"), Some("c")).is_err());
    }

    #[test]
    fn step_up_with_a_zero_budget_never_retries() {
        let mut step_up = StepUp::new(0);
        assert_eq!(
            step_up.next_scope(None, None),
            Err(StepUpExhausted {
                attempts: 0,
                scope: String::new()
            })
        );
    }

    #[test]
    fn step_up_budget_survives_serialization() {
        let mut step_up = StepUp::new(1);
        step_up.next_scope(None, Some("x")).unwrap();
        let restored: StepUp =
            serde_json::from_str(&serde_json::to_string(&step_up).unwrap()).unwrap();
        let mut restored = restored;
        assert!(restored.next_scope(Some("x"), Some("x")).is_err());
    }
}

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

/// Decides whether to step up for one resource and operation: only when the
/// challenge asks for a scope not requested yet (re-authorizing with the same
/// scope cannot get a different answer), and a few times at most, so a server
/// that keeps answering `insufficient_scope` cannot loop the client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepUp {
    attempts: u32,
    max_attempts: u32,
}

/// Step-up gives up: the scope would not grow, or the budget is spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepUpExhausted {
    /// Step-ups made for this operation.
    pub attempts: u32,
    /// The scope the server keeps demanding: what was last requested plus the
    /// challenge's scopes (empty if neither named any).
    pub scope: String,
    /// The challenge asked for nothing beyond what was already requested, so
    /// another authorization would ask for the same scope again.
    pub scope_would_not_grow: bool,
}

impl std::fmt::Display for StepUpExhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.scope_would_not_grow {
            write!(
                f,
                "the server answers insufficient_scope although the token was requested with the scope it asks for ({}); signing in again would ask for the same scope, giving up",
                self.scope
            )
        } else {
            write!(
                f,
                "the server still answers insufficient_scope after {} step-up attempts (scope {}); giving up",
                self.attempts, self.scope
            )
        }
    }
}

impl std::error::Error for StepUpExhausted {}

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

    /// Records one more `insufficient_scope` answer to a token requested with
    /// `current` and returns the scope to request next: the union of `current` and
    /// what the challenge names. Gives up when that union is `current` again (the
    /// challenge names no new scope, or none at all) or the budget is spent.
    pub fn next_scope(
        &mut self,
        current: Option<&str>,
        challenged: Option<&str>,
    ) -> Result<Option<String>, StepUpExhausted> {
        let next = union(current, challenged);
        if next == union(current, None) {
            return Err(StepUpExhausted {
                attempts: self.attempts,
                scope: next.unwrap_or_default(),
                scope_would_not_grow: true,
            });
        }
        self.attempts = self.attempts.saturating_add(1);
        if self.attempts > self.max_attempts {
            return Err(StepUpExhausted {
                attempts: self.max_attempts,
                scope: next.unwrap_or_default(),
                scope_would_not_grow: false,
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
        assert!(step_up.next_scope(Some("a b"), Some("c")).is_ok());
        assert_eq!(
            step_up.next_scope(Some("a b c"), Some("d")),
            Err(StepUpExhausted {
                attempts: 2,
                scope: "a b c d".into(),
                scope_would_not_grow: false,
            })
        );
        // Stays exhausted.
        assert!(step_up.next_scope(Some("a b c"), Some("e")).is_err());
    }

    #[test]
    fn step_up_stops_when_the_scope_would_not_grow() {
        // (requested so far, challenged): each adds nothing to what was requested.
        let table: &[(Option<&str>, Option<&str>)] = &[
            (Some("mcp:admin"), Some("mcp:admin")),
            (Some("a b"), Some("b a")),
            (Some("a b"), Some("  b ")),
            (Some("a b"), None),
            (None, None),
            (Some("a"), Some("")),
        ];
        for (current, challenged) in table {
            let mut step_up = StepUp::default();
            let error = step_up.next_scope(*current, *challenged).unwrap_err();
            assert!(error.scope_would_not_grow, "{current:?} {challenged:?}");
            assert_eq!(error.attempts, 0);
            assert_eq!(step_up.attempts(), 0, "no attempt was spent");
        }
        // After one step-up that got the wider scope, the same challenge stops.
        let mut step_up = StepUp::default();
        let wider = step_up.next_scope(Some("a"), Some("a b")).unwrap();
        assert_eq!(wider.as_deref(), Some("a b"));
        let error = step_up
            .next_scope(wider.as_deref(), Some("a b"))
            .unwrap_err();
        assert!(error.scope_would_not_grow);
        assert_eq!(error.attempts, 1);
        assert!(error.to_string().contains("same scope"), "{error}");
    }

    #[test]
    fn step_up_with_a_zero_budget_never_retries() {
        let mut step_up = StepUp::new(0);
        assert_eq!(
            step_up.next_scope(None, Some("a")),
            Err(StepUpExhausted {
                attempts: 0,
                scope: "a".into(),
                scope_would_not_grow: false,
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
        let error = restored.next_scope(Some("x"), Some("y")).unwrap_err();
        assert!(!error.scope_would_not_grow);
    }
}

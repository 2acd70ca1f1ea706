//! Which scopes to ask for (MCP "Scope Selection Strategy" and "Step-Up
//! Authorization Flow").
//!
//! CONTRACT (stub: to be implemented).

use serde::{Deserialize, Serialize};

/// Scopes for the first authorization request: the challenge's `scope`, else all of
/// PRM `scopes_supported`, else none. `offline_access` is added only when the AS
/// lists it (and not twice). `None` means "omit the `scope` parameter".
pub fn initial_scope(
    challenge_scope: Option<&str>,
    resource_scopes_supported: Option<&[String]>,
    as_scopes_supported: Option<&[String]>,
) -> Option<String> {
    let _ = (
        challenge_scope,
        resource_scopes_supported,
        as_scopes_supported,
    );
    todo!()
}

/// The union of two space-separated scope lists, first-seen order, no duplicates.
pub fn union(current: Option<&str>, challenged: Option<&str>) -> Option<String> {
    let _ = (current, challenged);
    todo!()
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
    /// The last scope requested.
    pub scope: String,
}

impl StepUp {
    /// The default budget: a few attempts, per the spec's "retry a few times at most".
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

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
        let _ = (current, challenged);
        todo!()
    }
}

impl Default for StepUp {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_ATTEMPTS)
    }
}

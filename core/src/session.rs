//! The life of a connection after sign-in, as pure decisions: use the access token,
//! refresh it now, or ask the user to reconnect.
//!
//! The rules (MCP authorization, "Token Handling"; RFC 6749 §5.1, §6):
//! - refresh proactively, before the access token expires: `refresh_skew_secs`
//!   (60 s) early, but never in the first half of a token's life, so a short-lived
//!   token is not refreshed again the moment it arrives;
//! - a token response without `expires_in` has an unknown lifetime. If the session
//!   can renew itself it refreshes after [`UNKNOWN_EXPIRY_REFRESH_SECS`] (a dead
//!   token is then served for a few minutes at most, and a resource's 401 renews it
//!   at once); without a refresh token it is used until a resource rejects it
//!   (servers such as GitHub issue tokens that never expire), and its status says
//!   the expiry is unknown (`expires_at: None`), never a made-up time;
//! - a refresh asks for the scope that was *granted* (the token response's `scope`,
//!   or the requested scope when the response omitted it, which RFC 6749 §5.1 says
//!   means "as requested"), never a scope the server left out: §6 forbids asking
//!   for more than the grant, and servers answer `invalid_scope`;
//! - an expired token with no refresh token means reconnect, never "send it anyway";
//! - a failed refresh flips the status to expired and keeps everything else, so the
//!   UI can offer Reconnect while a transient failure may still be retried;
//! - a refresh response without a `refresh_token` keeps the old one.
//!
//! Concurrency (one refresh for many callers, across processes through a store
//! lock) is the host's job; [`Session::decide`] re-evaluated after taking the lock
//! and [`Session::on_unauthorized`] make it easy to get right.

use crate::error::Error;
use crate::http::{HttpRequest, HttpResponse};
use crate::registration::ClientCredentials;
use crate::secret::Secret;
use crate::token::{self, OAuthErrorCode, TokenError, TokenSet};
use serde::{Deserialize, Serialize};
use url::Url;

/// Refresh this many seconds before expiry unless told otherwise: long enough to
/// absorb clock skew and a slow token endpoint, short enough not to waste tokens.
pub const DEFAULT_REFRESH_SKEW_SECS: u64 = 60;

/// A renewable token whose lifetime the server did not state (no `expires_in`) is
/// refreshed this long after it was received: short enough that a dead token is
/// not handed out for long, long enough to cost one request every few minutes.
pub const UNKNOWN_EXPIRY_REFRESH_SECS: u64 = 300;

/// Everything about a grant that is needed to refresh it and to know what it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// The protected resource (MCP server URL) as configured.
    pub server_url: String,
    /// The RFC 8707 `resource` sent with every token request, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The authorization server that issued the tokens.
    pub issuer: String,
    /// Where to refresh.
    pub token_endpoint: Url,
    /// The client the tokens were issued to (bound to `issuer`).
    pub client: ClientCredentials,
    /// The scope requested for this grant. A refresh asks for the *granted* scope
    /// ([`TokenSet::scope`]) instead, which may be narrower.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// How the tokens were obtained, and so how to renew them.
    #[serde(default, skip_serializing_if = "GrantType::is_authorization_code")]
    pub grant_type: GrantType,
    /// Where to revoke the tokens on sign-out (RFC 7009), when the server offers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<Url>,
}

/// The OAuth grant a connection uses (RFC 6749 §4.1, §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    /// A user signs in in the browser; tokens renew with the refresh token.
    #[default]
    AuthorizationCode,
    /// The client acts for itself (machine to machine); tokens renew by asking
    /// again with the client's credentials, no user involved.
    ClientCredentials,
}

impl GrantType {
    fn is_authorization_code(&self) -> bool {
        *self == GrantType::AuthorizationCode
    }

    /// The grant to use with an authorization server advertising
    /// `grant_types_supported` (RFC 8414 §2; absent means `authorization_code`),
    /// for a client that does (`confidential`) or does not hold credentials of its
    /// own. `client_credentials` is chosen only for a confidential client and only
    /// when the server does not offer `authorization_code`: a server offering both
    /// gets the user-facing flow, which is what an MCP client signs in with.
    pub fn choose(grant_types_supported: Option<&[String]>, confidential: bool) -> GrantType {
        let offers =
            |name: &str| grant_types_supported.is_some_and(|list| list.iter().any(|g| g == name));
        if confidential && offers("client_credentials") && !offers("authorization_code") {
            GrantType::ClientCredentials
        } else {
            GrantType::AuthorizationCode
        }
    }
}

/// Whether the last refresh failed, and whether trying again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefreshHealth {
    /// No failure since the last successful grant or refresh.
    #[default]
    Healthy,
    /// The AS could not be reached or answered 5xx; a later attempt may succeed.
    FailedTransient,
    /// The AS rejected the refresh (`invalid_grant`, `invalid_client`, ...): only a
    /// new sign-in helps.
    FailedRejected,
}

/// What to do with the tokens right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenDecision {
    /// The access token is valid: send it.
    Use,
    /// Refresh first (the token is expired, about to expire, or was rejected).
    Refresh,
    /// No usable token and no way to get one without the user.
    ReconnectNeeded,
}

/// What a UI shows for a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    /// Usable; tokens refresh silently as needed.
    Connected {
        /// When the current access token expires, if known.
        expires_at: Option<u64>,
    },
    /// A refresh could not reach the authorization server (or it failed
    /// there); the next use tries again. Offer Reconnect if it persists.
    Expired {
        /// When the access token expired or expires.
        expires_at: Option<u64>,
    },
    /// Only signing in again can help: the access token expired with no way to
    /// renew it, or the authorization server rejected the renewal (a revoked or
    /// reused refresh token, a deleted client).
    ReauthRequired,
}

/// A signed-in connection: the grant and its current tokens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// How the tokens were obtained and how to refresh them.
    pub grant: Grant,
    /// The current tokens.
    pub tokens: TokenSet,
    /// Outcome of the last refresh attempt.
    #[serde(default)]
    pub refresh_health: RefreshHealth,
    /// Seconds before expiry at which to refresh.
    #[serde(default = "default_skew")]
    pub refresh_skew_secs: u64,
}

fn default_skew() -> u64 {
    DEFAULT_REFRESH_SKEW_SECS
}

impl Session {
    /// A fresh session from a completed grant.
    pub fn new(grant: Grant, tokens: TokenSet) -> Self {
        Self {
            grant,
            tokens,
            refresh_health: RefreshHealth::Healthy,
            refresh_skew_secs: DEFAULT_REFRESH_SKEW_SECS,
        }
    }

    fn is_expired(&self, now: u64) -> bool {
        self.tokens.expires_at.is_some_and(|at| now >= at)
    }

    /// When to refresh proactively, if ever: `refresh_skew_secs` before expiry, but
    /// no earlier than half-way through the token's life; for a renewable token of
    /// unknown lifetime, [`UNKNOWN_EXPIRY_REFRESH_SECS`] after it was received.
    pub fn refresh_due_at(&self) -> Option<u64> {
        match self.tokens.expires_at {
            Some(at) => {
                let lifetime = at.saturating_sub(self.tokens.received_at);
                Some(at - self.refresh_skew_secs.min(lifetime / 2).min(at))
            }
            None if self.can_refresh() => Some(
                self.tokens
                    .received_at
                    .saturating_add(UNKNOWN_EXPIRY_REFRESH_SECS),
            ),
            None => None,
        }
    }

    fn is_due(&self, now: u64) -> bool {
        self.refresh_due_at().is_some_and(|at| now >= at)
    }

    fn can_refresh(&self) -> bool {
        let renewable = match self.grant.grant_type {
            GrantType::AuthorizationCode => self.tokens.refresh_token.is_some(),
            GrantType::ClientCredentials => true,
        };
        renewable && self.refresh_health != RefreshHealth::FailedRejected
    }

    /// Use, refresh or reconnect, given the time.
    pub fn decide(&self, now: u64) -> TokenDecision {
        if !self.is_due(now) {
            return TokenDecision::Use;
        }
        if self.can_refresh() {
            TokenDecision::Refresh
        } else if self.is_expired(now) {
            TokenDecision::ReconnectNeeded
        } else {
            // Inside the skew window with no way to refresh: the token still works.
            TokenDecision::Use
        }
    }

    /// The resource answered 401 to `rejected`. If the session already holds a
    /// different token, another caller refreshed in the meantime: use the new one.
    /// Otherwise the token is dead whatever its stated expiry: refresh or reconnect.
    pub fn on_unauthorized(&mut self, rejected: &Secret, now: u64) -> TokenDecision {
        if &self.tokens.access_token != rejected {
            return self.decide(now);
        }
        self.tokens.expires_at = Some(self.tokens.expires_at.map_or(now, |at| at.min(now)));
        self.decide(now)
    }

    /// The status for a UI.
    pub fn status(&self, now: u64) -> Status {
        let expires_at = self.tokens.expires_at;
        match self.refresh_health {
            RefreshHealth::FailedTransient => Status::Expired { expires_at },
            RefreshHealth::FailedRejected => Status::ReauthRequired,
            RefreshHealth::Healthy if self.is_expired(now) && !self.can_refresh() => {
                Status::ReauthRequired
            }
            RefreshHealth::Healthy => Status::Connected { expires_at },
        }
    }

    /// The request that renews the tokens: a refresh-token grant, or for
    /// client-credentials connections the client-credentials grant again. `None`
    /// (`ReconnectNeeded`) when only the user can help. Clients that authenticate
    /// with `private_key_jwt` need [`Session::refresh_request_at`].
    pub fn refresh_request(&self) -> Result<HttpRequest, Error> {
        self.renewal(None)
    }

    /// [`Session::refresh_request`] made at `now` (seconds since the epoch), which
    /// a `private_key_jwt` client assertion needs.
    pub fn refresh_request_at(&self, now: u64) -> Result<HttpRequest, Error> {
        self.renewal(Some(now))
    }

    fn renewal(&self, now: Option<u64>) -> Result<HttpRequest, Error> {
        let reconnect = || Error::ReauthRequired {
            server: self.grant.server_url.clone(),
            cause: None,
        };
        if self.refresh_health == RefreshHealth::FailedRejected {
            return Err(reconnect());
        }
        if self.grant.grant_type == GrantType::ClientCredentials {
            return Ok(token::client_credentials_request_inner(
                &self.grant.token_endpoint,
                &self.grant.client,
                self.grant.scope.as_deref(),
                self.grant.resource.as_deref(),
                now,
            )?);
        }
        let refresh_token = self.tokens.refresh_token.as_ref().ok_or_else(reconnect)?;
        Ok(token::refresh_request_inner(
            &self.grant.token_endpoint,
            &self.grant.client,
            refresh_token,
            self.grant.resource.as_deref(),
            self.refresh_scope(),
            now,
        )?)
    }

    /// The scope a renewal asks for: for a refresh, what was granted (RFC 6749 §6:
    /// never more); a client-credentials grant simply asks again as configured.
    fn refresh_scope(&self) -> Option<&str> {
        match self.grant.grant_type {
            GrantType::AuthorizationCode => self.tokens.scope.as_deref(),
            GrantType::ClientCredentials => self.grant.scope.as_deref(),
        }
    }

    /// Applies the token endpoint's answer to a refresh. On failure the tokens are
    /// kept and the error says why: a refusal (a 4xx OAuth error such as
    /// `invalid_grant`) is [`Error::ReauthRequired`] with the refusal as its
    /// cause, and the status becomes [`Status::ReauthRequired`]; anything else
    /// may pass, and the status becomes [`Status::Expired`].
    pub fn on_refresh_response(&mut self, response: &HttpResponse, now: u64) -> Result<(), Error> {
        // A response without `scope` grants what this request asked for (§5.1).
        match token::parse_token_response(response, now, self.refresh_scope()) {
            Ok(fresh) => {
                self.tokens = self.tokens.clone().refreshed(fresh);
                self.refresh_health = RefreshHealth::Healthy;
                Ok(())
            }
            Err(err) if is_permanent(&err) => {
                self.refresh_health = RefreshHealth::FailedRejected;
                Err(Error::ReauthRequired {
                    server: self.grant.server_url.clone(),
                    cause: Some(Box::new(err)),
                })
            }
            Err(err) => {
                self.refresh_health = RefreshHealth::FailedTransient;
                Err(err.into())
            }
        }
    }

    /// The host could not reach the token endpoint (after its own retries).
    pub fn on_refresh_unreachable(&mut self) {
        self.refresh_health = RefreshHealth::FailedTransient;
    }
}

/// A 4xx OAuth error means the grant is dead; anything else may be a passing fault.
fn is_permanent(err: &TokenError) -> bool {
    match err {
        TokenError::Rejected { error, status, .. } => {
            matches!(
                error,
                OAuthErrorCode::InvalidGrant
                    | OAuthErrorCode::InvalidClient
                    | OAuthErrorCode::UnauthorizedClient
                    | OAuthErrorCode::UnsupportedGrantType
                    | OAuthErrorCode::InvalidScope
            ) || (400..500).contains(status)
        }
        TokenError::ClientAuth(_) | TokenError::UnsupportedTokenType(_) => true,
        TokenError::UnexpectedStatus { .. } | TokenError::Body(_) | TokenError::Invalid(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_auth::AuthMethod;
    use crate::http::Purpose;
    use serde_json::json;

    const NOW: u64 = 1_700_000_000;

    fn session(expires_in: Option<u64>, refresh_token: Option<&str>) -> Session {
        Session::new(
            Grant {
                server_url: "https://mcp.example.com/mcp".into(),
                resource: Some("https://mcp.example.com/mcp".into()),
                issuer: "https://auth.example.com".into(),
                token_endpoint: Url::parse("https://auth.example.com/token").unwrap(),
                client: ClientCredentials {
                    issuer: "https://auth.example.com".into(),
                    client_id: "client".into(),
                    client_secret: Some(Secret::new("client-secret")),
                    auth_method: AuthMethod::ClientSecretPost,
                    client_secret_expires_at: None,
                    private_key: None,
                },
                scope: Some("mcp:read offline_access".into()),
                grant_type: Default::default(),
                revocation_endpoint: None,
            },
            TokenSet {
                access_token: Secret::new("at-1"),
                token_type: "Bearer".into(),
                expires_at: expires_in.map(|s| NOW + s),
                refresh_token: refresh_token.map(Secret::new),
                scope: Some("mcp:read offline_access".into()),
                received_at: NOW,
            },
        )
    }

    #[test]
    fn decision_table() {
        // (expires_in, refresh token?, seconds later, decision)
        let table = [
            (Some(3600), true, 0, TokenDecision::Use),
            (Some(3600), true, 3600 - 61, TokenDecision::Use),
            (Some(3600), true, 3600 - 60, TokenDecision::Refresh),
            (Some(3600), true, 3600 + 5, TokenDecision::Refresh),
            (Some(3600), false, 3600 - 30, TokenDecision::Use),
            (Some(3600), false, 3600, TokenDecision::ReconnectNeeded),
            (Some(3600), false, 99_999, TokenDecision::ReconnectNeeded),
            (None, false, 99_999, TokenDecision::Use),
            // No `expires_in` but renewable: refreshed after the assumed lifetime.
            (
                None,
                true,
                UNKNOWN_EXPIRY_REFRESH_SECS - 1,
                TokenDecision::Use,
            ),
            (
                None,
                true,
                UNKNOWN_EXPIRY_REFRESH_SECS,
                TokenDecision::Refresh,
            ),
            // Lifetimes under twice the skew: never refreshed in their first half.
            (Some(30), true, 0, TokenDecision::Use),
            (Some(30), true, 14, TokenDecision::Use),
            (Some(30), true, 15, TokenDecision::Refresh),
            (Some(3), true, 1, TokenDecision::Use),
            (Some(3), true, 2, TokenDecision::Refresh),
            (Some(0), true, 0, TokenDecision::Refresh),
        ];
        for (expires_in, has_refresh, later, expected) in table {
            let s = session(expires_in, has_refresh.then_some("rt"));
            assert_eq!(
                s.decide(NOW + later),
                expected,
                "{expires_in:?} {has_refresh} +{later}"
            );
        }
    }

    #[test]
    fn an_expired_token_without_refresh_token_is_never_used() {
        let s = session(Some(10), None);
        assert_eq!(s.decide(NOW + 10), TokenDecision::ReconnectNeeded);
        assert_eq!(s.status(NOW + 10), Status::ReauthRequired);
        assert_eq!(s.refresh_request().unwrap_err().code(), "reauth_required");
    }

    #[test]
    fn a_token_obtained_a_moment_ago_is_not_refreshed_again() {
        // A 20 s token with the default 60 s skew: before the lifetime scaled the
        // window, every call refreshed.
        let mut s = session(Some(20), Some("rt-1"));
        s.tokens.received_at = NOW;
        assert_eq!(s.decide(NOW), TokenDecision::Use);
        assert_eq!(s.decide(NOW + 9), TokenDecision::Use);
        assert_eq!(s.decide(NOW + 10), TokenDecision::Refresh);
        let response = HttpResponse::json_body(
            200,
            &json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 20}),
        );
        s.on_refresh_response(&response, NOW + 10).unwrap();
        assert_eq!(s.decide(NOW + 10), TokenDecision::Use);
        assert_eq!(s.refresh_due_at(), Some(NOW + 20));
    }

    #[test]
    fn a_token_without_expiry_or_refresh_token_is_used_until_rejected() {
        let mut s = session(None, None);
        assert_eq!(s.decide(NOW + 86_400), TokenDecision::Use);
        assert_eq!(
            s.status(NOW + 86_400),
            Status::Connected { expires_at: None }
        );
        assert_eq!(
            s.on_unauthorized(&Secret::new("at-1"), NOW + 86_400),
            TokenDecision::ReconnectNeeded
        );
        assert_eq!(s.status(NOW + 86_400), Status::ReauthRequired);
    }

    #[test]
    fn a_renewable_token_without_expiry_refreshes_on_a_401_and_after_a_while() {
        let mut s = session(None, Some("rt-1"));
        assert_eq!(s.refresh_due_at(), Some(NOW + UNKNOWN_EXPIRY_REFRESH_SECS));
        assert_eq!(s.decide(NOW + 5), TokenDecision::Use);
        assert_eq!(
            s.on_unauthorized(&Secret::new("at-1"), NOW + 5),
            TokenDecision::Refresh
        );
        assert_eq!(
            s.status(NOW + 5),
            Status::Connected {
                expires_at: Some(NOW + 5)
            },
            "the rejection is the one expiry the client knows"
        );
    }

    #[test]
    fn refresh_asks_for_the_granted_scope_not_the_requested_one() {
        // Asked for offline_access, granted without it (OIDC Core §11 drops it
        // without prompt=consent): a refresh asking for it again gets invalid_scope.
        let mut s = session(Some(10), Some("rt-1"));
        s.tokens.scope = Some("mcp:read".into());
        let form: std::collections::BTreeMap<_, _> = s
            .refresh_request()
            .unwrap()
            .form_pairs()
            .into_iter()
            .collect();
        assert_eq!(form["scope"], "mcp:read");

        // The refresh response omits `scope`: it granted what the refresh asked.
        let response = HttpResponse::json_body(
            200,
            &json!({"access_token": "at-2", "token_type": "Bearer", "expires_in": 600}),
        );
        s.on_refresh_response(&response, NOW + 20).unwrap();
        assert_eq!(s.tokens.scope.as_deref(), Some("mcp:read"));

        // Nothing granted or requested: no scope at all.
        s.tokens.scope = None;
        let form: std::collections::BTreeMap<_, _> = s
            .refresh_request()
            .unwrap()
            .form_pairs()
            .into_iter()
            .collect();
        assert!(!form.contains_key("scope"));
    }

    #[test]
    fn refresh_request_carries_secret_resource_and_scope_of_the_grant() {
        let request = session(Some(10), Some("rt-1")).refresh_request().unwrap();
        assert_eq!(request.purpose, Purpose::Token);
        let form: std::collections::BTreeMap<_, _> = request.form_pairs().into_iter().collect();
        assert_eq!(form["grant_type"], "refresh_token");
        assert_eq!(form["refresh_token"], "rt-1");
        assert_eq!(form["client_secret"], "client-secret");
        assert_eq!(form["resource"], "https://mcp.example.com/mcp");
        assert_eq!(form["scope"], "mcp:read offline_access");
    }

    #[test]
    fn successful_refresh_replaces_the_access_token_and_keeps_the_refresh_token() {
        let mut s = session(Some(10), Some("rt-1"));
        let response = HttpResponse::json_body(
            200,
            &json!({"access_token": "at-2", "token_type": "bearer", "expires_in": 600}),
        );
        s.on_refresh_response(&response, NOW + 20).unwrap();
        assert_eq!(s.tokens.access_token, Secret::new("at-2"));
        assert_eq!(s.tokens.refresh_token, Some(Secret::new("rt-1")));
        assert_eq!(s.tokens.expires_at, Some(NOW + 620));
        assert_eq!(
            s.status(NOW + 20),
            Status::Connected {
                expires_at: Some(NOW + 620)
            }
        );
    }

    #[test]
    fn rejected_refresh_requires_reauth_keeps_tokens_and_stops_refreshing() {
        let mut s = session(Some(10), Some("rt-1"));
        let response = HttpResponse::json_body(400, &json!({"error": "invalid_grant"}));
        let err = s.on_refresh_response(&response, NOW + 20).unwrap_err();
        assert_eq!(err.code(), "reauth_required");
        let Error::ReauthRequired { server, cause } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(server, "https://mcp.example.com/mcp");
        assert!(matches!(
            cause.as_deref(),
            Some(TokenError::Rejected {
                error: OAuthErrorCode::InvalidGrant,
                ..
            })
        ));
        assert!(err.to_string().contains("invalid_grant"), "{err}");
        assert_eq!(s.status(NOW + 20), Status::ReauthRequired);
        assert_eq!(
            s.tokens.refresh_token,
            Some(Secret::new("rt-1")),
            "nothing is thrown away"
        );
        assert_eq!(s.decide(NOW + 20), TokenDecision::ReconnectNeeded);
    }

    #[test]
    fn transient_refresh_failure_flips_to_expired_but_may_be_retried() {
        let mut s = session(Some(10), Some("rt-1"));
        let response = HttpResponse::new(503, vec![], "busy");
        assert_eq!(
            s.on_refresh_response(&response, NOW + 20)
                .unwrap_err()
                .code(),
            "invalid_token_response"
        );
        assert_eq!(
            s.status(NOW + 20),
            Status::Expired {
                expires_at: Some(NOW + 10)
            }
        );
        assert_eq!(s.decide(NOW + 20), TokenDecision::Refresh);

        let mut s = session(Some(10), Some("rt-1"));
        s.on_refresh_unreachable();
        assert_eq!(
            s.status(NOW),
            Status::Expired {
                expires_at: Some(NOW + 10)
            }
        );
        assert_eq!(s.decide(NOW + 20), TokenDecision::Refresh);
    }

    #[test]
    fn a_401_refreshes_once_even_when_many_callers_saw_it() {
        let mut s = session(Some(3600), Some("rt-1"));
        let rejected = Secret::new("at-1");
        assert_eq!(s.on_unauthorized(&rejected, NOW), TokenDecision::Refresh);
        // Another caller refreshed in the meantime: later 401s for the old token
        // must not trigger another refresh.
        s.tokens.access_token = Secret::new("at-2");
        s.tokens.expires_at = Some(NOW + 3600);
        assert_eq!(s.on_unauthorized(&rejected, NOW), TokenDecision::Use);
    }

    #[test]
    fn a_401_without_refresh_token_needs_reconnect() {
        let mut s = session(Some(3600), None);
        assert_eq!(
            s.on_unauthorized(&Secret::new("at-1"), NOW),
            TokenDecision::ReconnectNeeded
        );
        assert_eq!(s.status(NOW), Status::ReauthRequired);
    }

    #[test]
    fn sessions_round_trip_through_json_for_stores() {
        let s = session(Some(3600), Some("rt-1"));
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Session>(&json).unwrap(), s);
        assert!(!format!("{s:?}").contains("rt-1"));
        assert!(!format!("{s:?}").contains("client-secret"));
    }

    #[test]
    fn grant_type_choice_table() {
        let list = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cc = GrantType::ClientCredentials;
        let code = GrantType::AuthorizationCode;
        let table: &[(Option<&[&str]>, bool, GrantType)] = &[
            (None, true, code),
            (Some(&["client_credentials"]), true, cc),
            (Some(&["client_credentials"]), false, code),
            (
                Some(&["authorization_code", "client_credentials"]),
                true,
                code,
            ),
            (Some(&["authorization_code", "refresh_token"]), true, code),
            (Some(&[]), true, code),
        ];
        for (supported, confidential, want) in table {
            let owned = supported.map(list);
            assert_eq!(
                GrantType::choose(owned.as_deref(), *confidential),
                *want,
                "{supported:?} confidential={confidential}"
            );
        }
    }
}

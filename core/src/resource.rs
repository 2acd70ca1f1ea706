//! The resource request policy: which request may carry the access token, and what
//! the resource's answer to it means. Every host (native, Node, browser) calls
//! this one module, so the rule cannot drift between them.
//!
//! **Which request gets the token** (RFC 6750 §5.3 "don't pass bearer tokens to
//! other servers", RFC 8707 §2 audience, MCP 2026-07-28 "Token Handling": a client
//! sends only tokens issued for that server). A request is authorized only when its
//! URL has the connection's resource origin (scheme, host, port of the MCP server
//! URL), over `https`, or over plain `http` when the resource itself is on loopback.
//! Everything else is refused with [`RequestRefused`] (code `origin_not_allowed`):
//! another origin, plain-http hosts such as `http://0.0.0.0` or
//! `http://[::ffff:127.0.0.1]` that are not the resource, user info in the URL. A
//! host may widen the rule with an explicit allow-list of origins
//! ([`ResourcePolicy::allow_origin`]), each of them https (or loopback http).
//!
//! **What the answer means** (RFC 6750 §3.1; MCP "Scope Challenge Handling"):
//!
//! | status | challenge | first time | again |
//! | --- | --- | --- | --- |
//! | 401 | `DPoP` `error="use_dpop_nonce"` with a `DPoP-Nonce` (RFC 9449 §9), for a bound token | send again with the nonce ([`ResourceAnswer::Retry`]; the host keeps the nonce with [`Session::remember_dpop_nonce`]) | judged as any 401 |
//! | 401 | any | refresh once ([`ResourceAnswer::Refresh`]), or retry with a token another caller already got ([`ResourceAnswer::Retry`]); [`ResourceAnswer::Reconnect`] when nothing can be refreshed | hand the 401 to the caller |
//! | 403 | `insufficient_scope` | step up with the union of the requested and challenged scope ([`ResourceAnswer::StepUp`]), unless the grant already asked for all of it | step up again only while the scope grows and the budget ([`StepUp`]) lasts; then [`crate::Error::StepUp`] |
//! | 403 | anything else | hand it to the caller (a 403 can mean other things) | |
//! | other | | hand it to the caller | |
//!
//! The credentials are a set of headers ([`Credentials::headers`]), not a bearer
//! string: a DPoP-bound token (RFC 9449 §7) goes as `Authorization: DPoP` with a
//! fresh proof in a `DPoP` header, which core builds and the host signs
//! ([`Credentials::take_proof`], [`Credentials::with_proof`]), with core's key or
//! a browser's WebCrypto key.

use crate::dpop::{self, UnsignedProof};
use crate::entropy::Entropy;
use crate::error::Error;
use crate::http::HttpResponse;
use crate::loopback::is_loopback;
use crate::scope::StepUp;
use crate::secret::Secret;
use crate::session::{Session, TokenDecision};
use crate::text::server_text;
use crate::www_authenticate::{self, BearerChallenge};
use url::{Origin, Url};

/// Which URLs a connection's access token may be sent to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePolicy {
    /// The origin of the MCP server (the resource) the token was issued for.
    resource: Origin,
    /// Whether the resource itself is on loopback (then plain http is fine).
    loopback: bool,
    /// Further origins the host explicitly trusts with the token.
    allowed: Vec<Origin>,
}

/// A request the token must not go to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestRefused {
    /// The URL is not the resource's origin, nor one the host allowed.
    #[error("refusing to send the access token for {resource} to {url}: another origin (allow it explicitly if it is trusted with this token)")]
    OtherOrigin {
        /// The URL refused (without user info, query or fragment).
        url: String,
        /// The resource origin the token is for.
        resource: String,
    },
    /// The URL is plain http to a host that is not loopback, or the resource is remote.
    #[error("refusing to send the access token over plain http to {url}: only https (or http when the resource itself is on loopback)")]
    Insecure {
        /// The URL refused (without user info, query or fragment).
        url: String,
    },
    /// The URL carries user info, which would send a second credential along.
    #[error("refusing to send the access token to {url}: the URL carries user info")]
    UserInfo {
        /// The URL refused (without user info, query or fragment).
        url: String,
    },
    /// The URL or an allow-list entry is not a usable absolute http(s) URL.
    #[error("invalid URL {url:?} for an authorized request: {reason}")]
    InvalidUrl {
        /// The URL as given (cut short).
        url: String,
        /// Why.
        reason: String,
    },
}

impl ResourcePolicy {
    /// The policy of a connection to `server_url` (the MCP server URL of the grant).
    pub fn new(server_url: &str) -> Result<Self, RequestRefused> {
        let url = parse(server_url)?;
        Ok(Self {
            resource: url.origin(),
            loopback: is_loopback(&url),
            allowed: Vec::new(),
        })
    }

    /// The policy of a signed-in session.
    pub fn for_session(session: &Session) -> Result<Self, RequestRefused> {
        Self::new(&session.grant.server_url)
    }

    /// Also trusts `origin` (`https://api.example.com`, or loopback http) with the
    /// token. Only the origin of the value counts; a path is ignored.
    pub fn allow_origin(mut self, origin: &str) -> Result<Self, RequestRefused> {
        let url = parse(origin)?;
        if url.scheme() != "https" && !is_loopback(&url) {
            return Err(RequestRefused::Insecure { url: shown(&url) });
        }
        self.allowed.push(url.origin());
        Ok(self)
    }

    /// Every origin in `origins` also trusted (see [`ResourcePolicy::allow_origin`]).
    pub fn allow_origins<S: AsRef<str>>(
        self,
        origins: impl IntoIterator<Item = S>,
    ) -> Result<Self, RequestRefused> {
        origins
            .into_iter()
            .try_fold(self, |policy, origin| policy.allow_origin(origin.as_ref()))
    }

    /// Whether the token may go to `url`; the error says why not.
    pub fn check(&self, url: &Url) -> Result<(), RequestRefused> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RequestRefused::UserInfo { url: shown(url) });
        }
        let origin = url.origin();
        let plain = match url.scheme() {
            "https" => false,
            "http" => true,
            _ => {
                return Err(RequestRefused::InvalidUrl {
                    url: shown(url),
                    reason: "only http(s) requests can be authorized".into(),
                })
            }
        };
        if origin == self.resource {
            return if plain && !self.loopback {
                Err(RequestRefused::Insecure { url: shown(url) })
            } else {
                Ok(())
            };
        }
        if self.allowed.contains(&origin) {
            return Ok(());
        }
        if plain && !is_loopback(url) {
            return Err(RequestRefused::Insecure { url: shown(url) });
        }
        Err(RequestRefused::OtherOrigin {
            url: shown(url),
            resource: self.resource.ascii_serialization(),
        })
    }

    /// The headers that authorize `method url` (with `body`) with the session's
    /// current token, or the reason the token must not go there: a bearer token
    /// as `Authorization: Bearer`; a DPoP-bound one as `Authorization: DPoP` plus
    /// the proof to sign ([`Credentials::take_proof`]), made at `now` with a `jti`
    /// from `entropy`, carrying `ath`, the resource's latest nonce and the body's
    /// `content_digest`.
    pub fn credentials(
        &self,
        session: &Session,
        method: &str,
        url: &Url,
        body: Option<&[u8]>,
        now: u64,
        entropy: &mut dyn Entropy,
    ) -> Result<Credentials, Error> {
        self.check(url)?;
        let proof = session.resource_proof(method, url, body, now, entropy)?;
        Ok(Credentials::for_session(session, proof))
    }
}

/// What authorizes one resource request: headers to set (replacing any of the same
/// name) and the token they carry, to hand back with a 401.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    token: Secret,
    headers: Vec<(&'static str, Secret)>,
    /// The DPoP proof still to be signed and added, for a bound token.
    proof: Option<UnsignedProof>,
}

impl Credentials {
    /// `Authorization: Bearer <token>` (RFC 6750 §2.1; never in the query string).
    pub fn bearer(token: Secret) -> Self {
        let value = Secret::new(format!("Bearer {}", token.expose()));
        Self {
            token,
            headers: vec![("Authorization", value)],
            proof: None,
        }
    }

    /// The session's current token as its type says (`Bearer`, or `DPoP` with
    /// `proof` still to sign).
    pub fn for_session(session: &Session, proof: Option<UnsignedProof>) -> Self {
        Self {
            token: session.tokens.access_token.clone(),
            headers: vec![("Authorization", session.authorization())],
            proof,
        }
    }

    /// The DPoP proof these credentials still need (RFC 9449 §7), taken out to be
    /// signed: by core's key ([`Session::sign_proof`]) or the host's own
    /// (WebCrypto); then [`Credentials::with_proof`]. `None` for a bearer token.
    pub fn take_proof(&mut self) -> Option<UnsignedProof> {
        self.proof.take()
    }

    /// Adds the signed proof JWT as the `DPoP` header.
    pub fn with_proof(mut self, proof: String) -> Self {
        self.headers.push((dpop::HEADER, Secret::new(proof)));
        self
    }

    /// The headers to set on the request. Their values are secrets.
    pub fn headers(&self) -> &[(&'static str, Secret)] {
        &self.headers
    }

    /// The access token these credentials carry.
    pub fn token(&self) -> &Secret {
        &self.token
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| *name).collect();
        f.debug_struct("Credentials")
            .field("headers", &names)
            .finish_non_exhaustive()
    }
}

/// What to do with the resource's answer to an authorized request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceAnswer {
    /// Hand the response to the caller.
    Use,
    /// Another caller already replaced the rejected token: send again with the
    /// session's current one.
    Retry,
    /// Refresh the token (the host's single-flight refresh), then send again.
    Refresh,
    /// Sign in again asking for `scope` (interactive), then send again.
    StepUp {
        /// The union of what was requested and what the challenge names.
        scope: Option<String>,
        /// The 403's challenge (its `resource_metadata` lets discovery skip the probe).
        challenge: BearerChallenge,
    },
    /// Nothing can be refreshed: the user must sign in again (or the host does it
    /// for them, steered by `challenge`), else fail with `reauth_required`.
    Reconnect {
        /// The 401's challenge, if it had a readable one.
        challenge: Option<BearerChallenge>,
    },
}

/// One operation against the resource (a request and its retries): counts the
/// refresh and the step-ups so that neither can loop.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ResourceExchange {
    refreshed: bool,
    step_up: StepUp,
    /// A DPoP nonce challenge was answered once already.
    nonce_retried: bool,
}

impl ResourceExchange {
    /// A fresh operation with the default step-up budget.
    pub fn new() -> Self {
        Self::default()
    }

    /// A fresh operation allowing `max_step_ups` step-ups.
    pub fn with_step_up_budget(max_step_ups: u32) -> Self {
        Self {
            step_up: StepUp::new(max_step_ups),
            ..Self::default()
        }
    }

    /// Judges the resource's answer (`response` needs only status and headers) to
    /// a request sent with `sent`. `session` is not changed: on
    /// [`ResourceAnswer::Refresh`] and [`ResourceAnswer::Reconnect`] the host
    /// applies the rejection itself ([`Session::on_unauthorized`]) inside its own
    /// single-flight renewal, where it may also re-read the session from a store.
    pub fn on_response(
        &mut self,
        session: &Session,
        sent: &Credentials,
        response: &HttpResponse,
        now: u64,
    ) -> Result<ResourceAnswer, Error> {
        // RFC 9449 §9: the resource wants its nonce in the proof; once is enough
        // (a server that keeps asking gets its 401 judged like any other). The
        // host has kept the nonce ([`Session::remember_dpop_nonce`]), so the next
        // proof carries it.
        if !self.nonce_retried
            && session.tokens.is_dpop()
            && dpop::nonce(response).is_some()
            && dpop::is_nonce_challenge(response)
        {
            self.nonce_retried = true;
            return Ok(ResourceAnswer::Retry);
        }
        match response.status {
            401 if !self.refreshed => {
                self.refreshed = true;
                Ok(match session.clone().on_unauthorized(sent.token(), now) {
                    TokenDecision::Use => ResourceAnswer::Retry,
                    TokenDecision::Refresh => ResourceAnswer::Refresh,
                    TokenDecision::ReconnectNeeded => ResourceAnswer::Reconnect {
                        challenge: challenge(response),
                    },
                })
            }
            403 => {
                let Some(challenge) = challenge(response).filter(|c| c.is_insufficient_scope())
                else {
                    return Ok(ResourceAnswer::Use);
                };
                // StepUp stops when the grant already asked for everything the
                // challenge names: asking again cannot end differently (this also
                // bounds hosts that step up themselves, such as the browser,
                // across requests).
                let wanted = self
                    .step_up
                    .next_scope(session.grant.scope.as_deref(), challenge.scope.as_deref())?;
                Ok(ResourceAnswer::StepUp {
                    scope: wanted,
                    challenge,
                })
            }
            _ => Ok(ResourceAnswer::Use),
        }
    }
}

/// The Bearer challenge of a response, its server-written text cleaned.
fn challenge(response: &HttpResponse) -> Option<BearerChallenge> {
    let mut challenge = www_authenticate::bearer_challenge(response)
        .ok()
        .flatten()?;
    challenge.error_description = challenge.error_description.as_deref().map(server_text);
    Some(challenge)
}

fn parse(url: &str) -> Result<Url, RequestRefused> {
    let invalid = |reason: String| RequestRefused::InvalidUrl {
        url: server_text(url),
        reason,
    };
    let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") || !parsed.has_host() {
        return Err(invalid("not an absolute http(s) URL".into()));
    }
    Ok(parsed)
}

/// A URL as shown in an error: origin and path only (a query may hold anything).
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    server_text(url.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_auth::AuthMethod;
    use crate::registration::ClientCredentials;
    use crate::session::Grant;
    use crate::token::TokenSet;

    const NOW: u64 = 1_700_000_000;

    fn session(server_url: &str, scope: Option<&str>, refresh: bool) -> Session {
        Session::new(
            Grant {
                server_url: server_url.into(),
                resource: Some(server_url.into()),
                issuer: "https://auth.example.com".into(),
                token_endpoint: Url::parse("https://auth.example.com/token").unwrap(),
                client: ClientCredentials {
                    issuer: "https://auth.example.com".into(),
                    client_id: "client".into(),
                    client_secret: None,
                    auth_method: AuthMethod::None,
                    client_secret_expires_at: None,
                    private_key: None,
                },
                scope: scope.map(Into::into),
                grant_type: Default::default(),
                revocation_endpoint: None,
            },
            TokenSet {
                access_token: Secret::new("at-1"),
                token_type: "Bearer".into(),
                expires_at: Some(NOW + 3600),
                refresh_token: refresh.then(|| Secret::new("rt-1")),
                scope: scope.map(Into::into),
                received_at: NOW,
            },
        )
    }

    fn check(server: &str, url: &str) -> Result<(), RequestRefused> {
        ResourcePolicy::new(server)
            .unwrap()
            .check(&Url::parse(url).unwrap())
    }

    #[test]
    fn which_urls_get_the_token() {
        use RequestRefused as R;
        let ok = |_: &R| true;
        let other = |e: &R| matches!(e, R::OtherOrigin { .. });
        let insecure = |e: &R| matches!(e, R::Insecure { .. });
        let userinfo = |e: &R| matches!(e, R::UserInfo { .. });
        let invalid = |e: &R| matches!(e, R::InvalidUrl { .. });
        type Row = (&'static str, &'static str, bool, fn(&R) -> bool);
        let remote = "https://mcp.example.com/mcp";
        let local = "http://127.0.0.1:8080/mcp";
        let table: &[Row] = &[
            (remote, "https://mcp.example.com/mcp", true, ok),
            (remote, "https://mcp.example.com/other/path?x=1", true, ok),
            (remote, "https://MCP.example.com:443/mcp", true, ok),
            (remote, "https://mcp.example.com:8443/mcp", false, other),
            (remote, "https://evil.example.com/mcp", false, other),
            (remote, "https://mcp.example.com.evil.com/mcp", false, other),
            (remote, "http://mcp.example.com/mcp", false, insecure),
            (remote, "http://0.0.0.0/mcp", false, insecure),
            (remote, "http://[::ffff:127.0.0.1]/mcp", false, insecure),
            (remote, "http://127.0.0.1/mcp", false, other),
            (
                remote,
                "https://user:pw@mcp.example.com/mcp",
                false,
                userinfo,
            ),
            (remote, "ftp://mcp.example.com/mcp", false, invalid),
            (local, "http://127.0.0.1:8080/anything", true, ok),
            (local, "http://127.0.0.1:9090/mcp", false, other),
            (local, "http://localhost:8080/mcp", false, other),
            (local, "http://0.0.0.0:8080/mcp", false, insecure),
            (local, "http://[::ffff:127.0.0.1]:8080/mcp", false, insecure),
            (local, "https://127.0.0.1:8080/mcp", false, other),
        ];
        for (server, url, allowed, why) in table {
            let outcome = check(server, url);
            assert_eq!(outcome.is_ok(), *allowed, "{server} -> {url}: {outcome:?}");
            if let Err(error) = &outcome {
                assert!(why(error), "{server} -> {url}: {error:?}");
            }
        }
    }

    #[test]
    fn an_explicit_allow_list_widens_the_rule_to_https_origins_only() {
        let policy = ResourcePolicy::new("https://mcp.example.com/mcp")
            .unwrap()
            .allow_origins(["https://files.example.com/ignored/path"])
            .unwrap();
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(policy.check(&url("https://files.example.com/a")).is_ok());
        assert!(policy
            .check(&url("https://files.example.com:8443/a"))
            .is_err());
        assert!(matches!(
            ResourcePolicy::new("https://mcp.example.com/mcp")
                .unwrap()
                .allow_origin("http://files.example.com"),
            Err(RequestRefused::Insecure { .. })
        ));
    }

    #[test]
    fn refusals_have_one_stable_code_and_do_not_echo_the_query() {
        let error = check(
            "https://mcp.example.com/mcp",
            "https://evil.example.com/x?token=leak\u{1b}[31m",
        )
        .unwrap_err();
        assert_eq!(Error::from(error.clone()).code(), "origin_not_allowed");
        let text = error.to_string();
        assert!(!text.contains("leak") && !text.contains('\u{1b}'), "{text}");
    }

    #[test]
    fn credentials_are_a_bearer_header_set_that_debug_hides() {
        let s = session("https://mcp.example.com/mcp", None, true);
        let policy = ResourcePolicy::for_session(&s).unwrap();
        let url = Url::parse("https://mcp.example.com/mcp").unwrap();
        let credentials = policy
            .credentials(&s, "POST", &url, None, NOW, &mut crate::entropy::OsEntropy)
            .unwrap();
        assert_eq!(credentials.headers().len(), 1);
        assert_eq!(credentials.headers()[0].0, "Authorization");
        assert_eq!(credentials.headers()[0].1.expose(), "Bearer at-1");
        assert!(!format!("{credentials:?}").contains("at-1"));
        let elsewhere = Url::parse("https://evil.example.com/mcp").unwrap();
        let refused = policy.credentials(
            &s,
            "GET",
            &elsewhere,
            None,
            NOW,
            &mut crate::entropy::OsEntropy,
        );
        assert_eq!(refused.unwrap_err().code(), "origin_not_allowed");
    }

    /// A session whose token is bound to the RFC 9449 example key (held by the
    /// host, as in a browser: core builds proofs, the host signs them).
    fn dpop_session() -> Session {
        let mut s = session("https://mcp.example.com/mcp", None, true);
        s.tokens.token_type = "DPoP".into();
        let jwk = dpop::PublicJwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs".into(),
            y: "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA".into(),
        };
        s.with_dpop(Some(dpop::DpopBinding::new(
            dpop::DpopKey::external(jwk).unwrap(),
        )))
    }

    fn claims(proof: &UnsignedProof) -> serde_json::Value {
        use base64::Engine as _;
        let part = proof.signing_input().split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    /// A resource's `use_dpop_nonce` challenge (RFC 9449 §9, Figure 20).
    fn nonce_challenge(nonce: Option<&str>) -> HttpResponse {
        let mut headers = vec![(
            "WWW-Authenticate".to_owned(),
            r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#.to_owned(),
        )];
        if let Some(nonce) = nonce {
            headers.push(("DPoP-Nonce".to_owned(), nonce.to_owned()));
        }
        HttpResponse::new(401, headers, Vec::new())
    }

    #[test]
    fn a_dpop_bound_token_goes_as_dpop_with_a_proof_of_this_request_to_sign() {
        let s = dpop_session();
        let policy = ResourcePolicy::for_session(&s).unwrap();
        let url = Url::parse("https://mcp.example.com/mcp?session=1").unwrap();
        let mut credentials = policy
            .credentials(
                &s,
                "POST",
                &url,
                Some(b"{}"),
                NOW,
                &mut crate::entropy::OsEntropy,
            )
            .unwrap();
        // RFC 9449 §7.1: `Authorization: DPoP <token>`, never Bearer.
        assert_eq!(credentials.headers().len(), 1);
        assert_eq!(credentials.headers()[0].1.expose(), "DPoP at-1");
        let proof = credentials.take_proof().expect("a proof to sign");
        assert_eq!(credentials.take_proof(), None, "taken once");
        let claims = claims(&proof);
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], "https://mcp.example.com/mcp");
        assert_eq!(claims["iat"], NOW);
        assert_eq!(claims["ath"], dpop::access_token_hash(&Secret::new("at-1")));
        assert_eq!(claims["content_digest"], dpop::content_digest(b"{}"));
        assert!(claims.get("nonce").is_none());
        let signed = credentials.with_proof(proof.assemble(&[1; 64]).unwrap());
        let names: Vec<&str> = signed.headers().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["Authorization", "DPoP"]);
        assert!(!format!("{signed:?}").contains("at-1"));
        // The policy refuses before any proof is made for another origin.
        let elsewhere = Url::parse("https://evil.example.com/mcp").unwrap();
        let refused = policy.credentials(
            &s,
            "POST",
            &elsewhere,
            None,
            NOW,
            &mut crate::entropy::OsEntropy,
        );
        assert_eq!(refused.unwrap_err().code(), "origin_not_allowed");
    }

    #[test]
    fn a_resource_nonce_challenge_is_answered_once_with_the_nonce_then_judged_as_a_401() {
        let mut s = dpop_session();
        let url = Url::parse("https://mcp.example.com/mcp").unwrap();
        let policy = ResourcePolicy::for_session(&s).unwrap();
        let sent = Credentials::for_session(&s, None);
        let challenge = nonce_challenge(Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"));
        let mut exchange = ResourceExchange::new();
        assert_eq!(
            exchange.on_response(&s, &sent, &challenge, NOW).unwrap(),
            ResourceAnswer::Retry
        );
        // The host keeps the nonce; the next proof for the resource carries it.
        s.remember_dpop_nonce(dpop::Server::Resource, &url, &challenge);
        let mut again = policy
            .credentials(&s, "POST", &url, None, NOW, &mut crate::entropy::OsEntropy)
            .unwrap();
        let proof = again.take_proof().unwrap();
        assert_eq!(claims(&proof)["nonce"], "eyJ7S_zG.eyJH0-Z.HX4w-7v");
        // A server that keeps asking: the second challenge is an ordinary 401.
        assert_eq!(
            exchange.on_response(&s, &sent, &challenge, NOW).unwrap(),
            ResourceAnswer::Refresh
        );
    }

    #[test]
    fn a_nonce_challenge_without_a_usable_nonce_or_for_a_bearer_token_is_an_ordinary_401() {
        let bound = dpop_session();
        let bearer = session("https://mcp.example.com/mcp", None, true);
        let table = [
            (&bound, nonce_challenge(None)),
            (&bound, nonce_challenge(Some("has space"))),
            (&bearer, nonce_challenge(Some("n-1"))),
        ];
        for (s, response) in table {
            let sent = Credentials::for_session(s, None);
            assert_eq!(
                ResourceExchange::new()
                    .on_response(s, &sent, &response, NOW)
                    .unwrap(),
                ResourceAnswer::Refresh,
                "{response:?}"
            );
        }
    }

    fn answer(status: u16, www_authenticate: Option<&str>) -> HttpResponse {
        let headers = www_authenticate
            .map(|v| vec![("WWW-Authenticate".to_owned(), v.to_owned())])
            .unwrap_or_default();
        HttpResponse::new(status, headers, Vec::new())
    }

    #[test]
    fn a_401_refreshes_once_then_goes_to_the_caller() {
        let s = session("https://mcp.example.com/mcp", None, true);
        let sent = Credentials::bearer(Secret::new("at-1"));
        let mut exchange = ResourceExchange::new();
        let r401 = answer(401, Some("Bearer error=\"invalid_token\""));
        assert_eq!(
            exchange.on_response(&s, &sent, &r401, NOW).unwrap(),
            ResourceAnswer::Refresh
        );
        assert_eq!(
            exchange.on_response(&s, &sent, &r401, NOW).unwrap(),
            ResourceAnswer::Use
        );
    }

    #[test]
    fn a_401_for_a_token_already_replaced_retries_without_refreshing() {
        let s = session("https://mcp.example.com/mcp", None, true);
        let stale = Credentials::bearer(Secret::new("at-0"));
        let answer = ResourceExchange::new()
            .on_response(&s, &stale, &answer(401, None), NOW)
            .unwrap();
        assert_eq!(answer, ResourceAnswer::Retry);
    }

    #[test]
    fn a_401_with_nothing_to_refresh_asks_for_a_reconnect_with_the_challenge() {
        let s = session("https://mcp.example.com/mcp", None, false);
        let sent = Credentials::bearer(Secret::new("at-1"));
        let answer = ResourceExchange::new()
            .on_response(
                &s,
                &sent,
                &answer(
                    401,
                    Some("Bearer resource_metadata=\"https://mcp.example.com/prm\""),
                ),
                NOW,
            )
            .unwrap();
        let ResourceAnswer::Reconnect {
            challenge: Some(challenge),
        } = answer
        else {
            panic!("{answer:?}");
        };
        assert_eq!(
            challenge.resource_metadata.as_deref(),
            Some("https://mcp.example.com/prm")
        );
    }

    #[test]
    fn a_403_insufficient_scope_steps_up_with_the_union_while_it_grows() {
        let mut s = session("https://mcp.example.com/mcp", Some("read"), true);
        let sent = Credentials::bearer(Secret::new("at-1"));
        let mut exchange = ResourceExchange::new();
        let r403 = |scope: &str| {
            answer(
                403,
                Some(&format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
                )),
            )
        };
        let first = exchange
            .on_response(&s, &sent, &r403("write"), NOW)
            .unwrap();
        assert!(
            matches!(&first, ResourceAnswer::StepUp { scope, .. } if scope.as_deref() == Some("read write")),
            "{first:?}"
        );
        // The host signed in again with that scope.
        s.grant.scope = Some("read write".into());
        // Same demand again: the scope would not grow, so stop now.
        let error = exchange
            .on_response(&s, &sent, &r403("write"), NOW)
            .unwrap_err();
        assert_eq!(error.code(), "insufficient_scope");
    }

    #[test]
    fn a_403_for_a_scope_the_grant_already_asked_for_stops_at_once() {
        let s = session("https://mcp.example.com/mcp", Some("admin read"), true);
        let sent = Credentials::bearer(Secret::new("at-1"));
        let r403 = answer(
            403,
            Some("Bearer error=\"insufficient_scope\", scope=\"read  admin\""),
        );
        let error = ResourceExchange::new()
            .on_response(&s, &sent, &r403, NOW)
            .unwrap_err();
        assert_eq!(error.code(), "insufficient_scope");
    }

    #[test]
    fn step_ups_stop_at_the_budget_even_when_the_scope_keeps_growing() {
        let mut s = session("https://mcp.example.com/mcp", Some("a"), true);
        let sent = Credentials::bearer(Secret::new("at-1"));
        let mut exchange = ResourceExchange::new();
        let mut granted = String::from("a");
        for (i, scope) in ["b", "c", "d"].iter().enumerate() {
            let r = answer(
                403,
                Some(&format!(
                    "Bearer error=\"insufficient_scope\", scope=\"{scope}\""
                )),
            );
            let outcome = exchange.on_response(&s, &sent, &r, NOW);
            if i < StepUp::DEFAULT_MAX_ATTEMPTS as usize {
                let Ok(ResourceAnswer::StepUp {
                    scope: Some(next), ..
                }) = outcome
                else {
                    panic!("{outcome:?}");
                };
                granted = next;
                s.grant.scope = Some(granted.clone());
            } else {
                assert_eq!(outcome.unwrap_err().code(), "insufficient_scope");
            }
        }
        assert_eq!(granted, "a b c");
    }

    #[test]
    fn a_403_without_insufficient_scope_and_other_statuses_go_to_the_caller() {
        let s = session("https://mcp.example.com/mcp", None, true);
        let sent = Credentials::bearer(Secret::new("at-1"));
        for response in [
            answer(403, None),
            answer(403, Some("Bearer error=\"invalid_token\"")),
            answer(200, None),
            answer(500, None),
        ] {
            assert_eq!(
                ResourceExchange::new()
                    .on_response(&s, &sent, &response, NOW)
                    .unwrap(),
                ResourceAnswer::Use
            );
        }
    }

    #[test]
    fn challenge_text_from_the_server_is_cleaned() {
        let s = session("https://mcp.example.com/mcp", None, true);
        let sent = Credentials::bearer(Secret::new("at-1"));
        let hostile = format!(
            "Bearer error=\"insufficient_scope\", scope=\"x\", error_description=\"\u{202e}{}\"",
            "A".repeat(5000)
        );
        let ResourceAnswer::StepUp { challenge, .. } = ResourceExchange::new()
            .on_response(&s, &sent, &answer(403, Some(&hostile)), NOW)
            .unwrap()
        else {
            panic!("step-up expected");
        };
        let description = challenge.error_description.unwrap();
        assert!(!description.contains('\u{202e}'));
        assert!(description.chars().count() <= 301);
    }
}

//! The authorization request URL
//! ([RFC 6749 §4.1.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1), PKCE
//! per [RFC 7636 §4.3](https://www.rfc-editor.org/rfc/rfc7636#section-4.3), `resource`
//! per [RFC 8707 §2](https://www.rfc-editor.org/rfc/rfc8707#section-2)) and the
//! validation of the callback that comes back (`state`, `iss` per
//! [RFC 9207 §2.4](https://www.rfc-editor.org/rfc/rfc9207#section-2.4), `error` per
//! [RFC 6749 §4.1.2.1](https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1)).

use crate::http::read_unique_params;
use crate::secret::Secret;
use crate::text::server_text;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use url::Url;

/// The parameters this module appends to the authorization endpoint.
const REQUEST_PARAMS: [&str; 8] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "resource",
];

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
    ///
    /// Parameters already in the endpoint's query are kept, in front (RFC 6749
    /// §3.1), except any that this request sets itself, which would otherwise be
    /// repeated. Values are form-encoded (`application/x-www-form-urlencoded`, so a
    /// space becomes `+`), which authorization servers decode like `%20`. A
    /// fragment on the endpoint is dropped: it is never sent to the server.
    pub fn to_url(&self) -> Url {
        let mut url = without_request_params(self.endpoint);
        url.set_fragment(None);
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", self.client_id)
                .append_pair("redirect_uri", self.redirect_uri);
            if let Some(scope) = self.scope.filter(|s| !s.is_empty()) {
                query.append_pair("scope", scope);
            }
            query
                .append_pair("state", self.state)
                .append_pair("code_challenge", self.code_challenge)
                .append_pair("code_challenge_method", "S256");
            if let Some(resource) = self.resource {
                query.append_pair("resource", resource);
            }
        }
        url
    }
}

/// The endpoint with any of [`REQUEST_PARAMS`] removed from its query. The query
/// is only rewritten when one is present, so an endpoint's own parameters keep
/// their exact spelling otherwise.
fn without_request_params(endpoint: &Url) -> Url {
    let mut url = endpoint.clone();
    let collides = url
        .query_pairs()
        .any(|(name, _)| REQUEST_PARAMS.contains(&name.as_ref()));
    if collides {
        let kept: Vec<(String, String)> = endpoint
            .query_pairs()
            .filter(|(name, _)| !REQUEST_PARAMS.contains(&name.as_ref()))
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        url.set_query(None);
        if !kept.is_empty() {
            url.query_pairs_mut().extend_pairs(kept);
        }
    }
    url
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

/// Validates a callback URL: `state` first (before anything else in the query,
/// even a repeated parameter, is looked at), then `iss` per RFC 9207 (before the
/// code or any error field is looked at), then `error`, then `code`. Server-written
/// values that end up in errors (`iss`, `error`, `error_description`) go through
/// [`crate::text::server_text`].
///
/// The `iss` rules (RFC 9207 §2.4, MCP 2026-07-28), compared as plain strings:
///
/// | AS advertised `iss` | `iss` in callback | expected issuer | outcome |
/// | --- | --- | --- | --- |
/// | yes | absent | any | [`CallbackError::IssuerMissing`] |
/// | yes or no | equal | known | continue |
/// | yes or no | different | known | [`CallbackError::IssuerMismatch`] |
/// | no | absent | any | continue |
/// | yes or no | present | unknown | continue: nothing to compare with |
///
/// The expected issuer is unknown only for a manual preset without one; such a
/// client cannot tell authorization servers apart, and refusing every callback
/// that carries `iss` would only break it against servers that follow RFC 9207.
///
/// A parameter with an empty value counts as omitted (RFC 6749 §3.1), except
/// `iss`: an empty `iss` is present and, against a known issuer, a mismatch.
pub fn validate_callback(
    callback_url: &str,
    expected: &CallbackExpectation,
) -> Result<Secret, CallbackError> {
    let url = parse_callback_url(callback_url)?;
    // State first: until the callback proves it belongs to this sign-in, nothing
    // else in it counts. Any local process or web page can request the redirect
    // URI, and a repeated `code` or a forged `error` from one of them must not end
    // the sign-in; only a caller that knows the state can.
    check_state(first_state(&url).as_deref(), &expected.state)?;
    let params = CallbackParams::parse(&url)?;
    check_issuer(params.iss.as_deref(), expected)?;
    if let Some(error) = params.error {
        return Err(CallbackError::Denied {
            error: server_text(&error),
            description: params.error_description.as_deref().map(server_text),
        });
    }
    params
        .code
        .map(Secret::new)
        .ok_or(CallbackError::CodeMissing)
}

/// The `state` a callback carries, read before anything else in it is looked at:
/// a web backend finds the pending sign-in by it, then validates the whole
/// callback against that sign-in with [`validate_callback`].
///
/// Like [`validate_callback`], it reads nothing but `state`: a callback that
/// repeats other parameters still finds its sign-in, which then refuses it.
pub fn callback_state(callback_url: &str) -> Result<String, CallbackError> {
    let url = parse_callback_url(callback_url)?;
    first_state(&url).ok_or(CallbackError::StateMissing)
}

/// A callback URL with a query; anything else is not a callback.
fn parse_callback_url(callback_url: &str) -> Result<Url, CallbackError> {
    let url = Url::parse(callback_url).map_err(|e| CallbackError::Malformed(e.to_string()))?;
    if url.query().is_none() {
        return Err(CallbackError::Malformed("it has no query".into()));
    }
    Ok(url)
}

/// The first non-empty `state` of a callback (an empty one counts as omitted,
/// RFC 6749 §3.1).
fn first_state(url: &Url) -> Option<String> {
    url.query_pairs()
        .find(|(name, _)| name == "state")
        .map(|(_, value)| value.into_owned())
        .filter(|value| !value.is_empty())
}

/// The callback parameters this module reads; others are ignored.
#[derive(Default)]
struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

impl CallbackParams {
    /// Reads the query of `url`, refusing a repeated known parameter.
    fn parse(url: &Url) -> Result<Self, CallbackError> {
        let mut params = Self::default();
        read_unique_params(url.query_pairs(), |name, value| match params.slot(name) {
            Some((name, slot)) => {
                // Only `iss` keeps an empty value: its mere presence is meaningful.
                if !value.is_empty() || name == "iss" {
                    *slot = Some(value);
                }
                true
            }
            None => false,
        })
        .map_err(CallbackError::DuplicateParameter)?;
        Ok(params)
    }

    /// The canonical name and field of a known parameter.
    fn slot(&mut self, name: &str) -> Option<(&'static str, &mut Option<String>)> {
        Some(match name {
            "code" => ("code", &mut self.code),
            "state" => ("state", &mut self.state),
            "iss" => ("iss", &mut self.iss),
            "error" => ("error", &mut self.error),
            "error_description" => ("error_description", &mut self.error_description),
            _ => return None,
        })
    }
}

/// The callback must carry the `state` this sign-in sent. Compared in constant
/// time: the state is a CSRF token, and a timing oracle would help forge it.
fn check_state(found: Option<&str>, expected: &str) -> Result<(), CallbackError> {
    let found = found.ok_or(CallbackError::StateMissing)?;
    let equal =
        found.len() == expected.len() && bool::from(found.as_bytes().ct_eq(expected.as_bytes()));
    if equal {
        Ok(())
    } else {
        Err(CallbackError::StateMismatch)
    }
}

/// RFC 9207 §2.4, as tabulated on [`validate_callback`].
fn check_issuer(found: Option<&str>, expected: &CallbackExpectation) -> Result<(), CallbackError> {
    match (found, expected.issuer.as_deref()) {
        (Some(found), Some(issuer)) if found != issuer => Err(CallbackError::IssuerMismatch {
            expected: issuer.to_owned(),
            found: server_text(found),
        }),
        (None, issuer) if expected.iss_required => Err(CallbackError::IssuerMissing {
            expected: issuer.unwrap_or_default().to_owned(),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ISSUER: &str = "https://auth.example.com";
    const STATE: &str = "s-123";
    const CALLBACK: &str = "http://127.0.0.1:33418/callback";

    fn pairs(url: &Url) -> Vec<(String, String)> {
        url.query_pairs().into_owned().collect()
    }

    fn owned(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn request(endpoint: &Url) -> AuthorizationRequest<'_> {
        AuthorizationRequest {
            endpoint,
            client_id: "client-1",
            redirect_uri: CALLBACK,
            scope: Some("mcp:read mcp:write"),
            state: STATE,
            code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            resource: Some("https://mcp.example.com/mcp"),
        }
    }

    #[test]
    fn authorization_url_carries_every_parameter_in_order() {
        let endpoint = Url::parse("https://auth.example.com/authorize").unwrap();
        let url = request(&endpoint).to_url();
        assert_eq!(
            url.as_str(),
            "https://auth.example.com/authorize?response_type=code&client_id=client-1\
             &redirect_uri=http%3A%2F%2F127.0.0.1%3A33418%2Fcallback&scope=mcp%3Aread+mcp%3Awrite\
             &state=s-123&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
             &code_challenge_method=S256&resource=https%3A%2F%2Fmcp.example.com%2Fmcp"
        );
    }

    #[test]
    fn authorization_url_keeps_the_endpoints_own_query_in_front() {
        let endpoint = Url::parse("https://auth.example.com/authorize?tenant=a%20b&x").unwrap();
        let url = request(&endpoint).to_url();
        assert!(
            url.as_str().starts_with(
                "https://auth.example.com/authorize?tenant=a%20b&x&response_type=code&"
            ),
            "{url}"
        );
        let names: Vec<String> = pairs(&url).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "tenant",
                "x",
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "code_challenge",
                "code_challenge_method",
                "resource"
            ]
        );
    }

    #[test]
    fn authorization_url_replaces_colliding_endpoint_params_and_drops_fragments() {
        let endpoint =
            Url::parse("https://auth.example.com/authorize?scope=evil&keep=1&state=old#frag")
                .unwrap();
        let url = AuthorizationRequest {
            scope: None,
            resource: None,
            ..request(&endpoint)
        }
        .to_url();
        assert_eq!(url.fragment(), None);
        assert_eq!(
            pairs(&url),
            owned(&[
                ("keep", "1"),
                ("response_type", "code"),
                ("client_id", "client-1"),
                ("redirect_uri", CALLBACK),
                ("state", STATE),
                (
                    "code_challenge",
                    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
                ),
                ("code_challenge_method", "S256"),
            ])
        );
    }

    #[test]
    fn authorization_url_omits_absent_or_empty_scope_and_absent_resource() {
        let endpoint = Url::parse("https://auth.example.com/authorize").unwrap();
        for scope in [None, Some("")] {
            let url = AuthorizationRequest {
                scope,
                resource: None,
                ..request(&endpoint)
            }
            .to_url();
            let names: Vec<String> = pairs(&url).into_iter().map(|(n, _)| n).collect();
            assert!(
                !names.iter().any(|n| n == "scope" || n == "resource"),
                "{url}"
            );
        }
    }

    #[test]
    fn authorization_url_encodes_special_characters() {
        let endpoint = Url::parse("https://auth.example.com/authorize").unwrap();
        let url = AuthorizationRequest {
            client_id: "https://app.example.com/client.json?v=1&x=é",
            scope: Some("a+b c&d=e #f"),
            state: "%41/?",
            ..request(&endpoint)
        }
        .to_url();
        let query = url.query().unwrap();
        assert!(!query.contains('#') && !query.contains(' ') && !query.contains('é'));
        assert!(query.contains("scope=a%2Bb+c%26d%3De+%23f"), "{query}");
        let got = pairs(&url);
        assert_eq!(got[1].1, "https://app.example.com/client.json?v=1&x=é");
        assert_eq!(got[3].1, "a+b c&d=e #f");
        assert_eq!(got[4].1, "%41/?");
    }

    fn expect(issuer: Option<&str>, iss_required: bool) -> CallbackExpectation {
        CallbackExpectation {
            state: STATE.into(),
            issuer: issuer.map(Into::into),
            iss_required,
        }
    }

    fn callback(query: &str) -> String {
        format!("{CALLBACK}?{query}")
    }

    fn code_of(result: Result<Secret, CallbackError>) -> Result<String, CallbackError> {
        result.map(|code| code.expose().to_owned())
    }

    #[test]
    fn a_good_callback_yields_the_code() {
        let result = validate_callback(&callback("code=abc&state=s-123"), &expect(None, false));
        assert_eq!(code_of(result), Ok("abc".into()));
        let encoded = validate_callback(
            &callback("state=s-123&code=a%2Bb+c&extra=1"),
            &expect(Some(ISSUER), false),
        );
        assert_eq!(code_of(encoded), Ok("a+b c".into()));
    }

    #[test]
    fn callback_error_paths() {
        use CallbackError::*;
        let e = expect(Some(ISSUER), false);
        let denied = |error: &str, description: Option<&str>| Denied {
            error: error.into(),
            description: description.map(Into::into),
        };
        let table: Vec<(String, CallbackError)> = vec![
            (CALLBACK.into(), Malformed("it has no query".into())),
            (
                "not a url".into(),
                Malformed(url::ParseError::RelativeUrlWithoutBase.to_string()),
            ),
            (
                "".into(),
                Malformed(url::ParseError::RelativeUrlWithoutBase.to_string()),
            ),
            (
                callback("code=a&code=b&state=s-123"),
                DuplicateParameter("code".into()),
            ),
            (
                callback("state=s-123&state=s-123&code=a"),
                DuplicateParameter("state".into()),
            ),
            (
                callback("state=s-123&iss=a&iss=a&code=a"),
                DuplicateParameter("iss".into()),
            ),
            (
                callback("state=s-123&error=a&error=b"),
                DuplicateParameter("error".into()),
            ),
            (
                callback("state=s-123&error=a&error_description=x&error_description=y"),
                DuplicateParameter("error_description".into()),
            ),
            (
                callback("code=a&code=&state=s-123"),
                DuplicateParameter("code".into()),
            ),
            (callback("code=a"), StateMissing),
            // State first: repeats from a caller without the state end nothing.
            (callback("code=a&code=b"), StateMissing),
            (callback("code=a&code=b&state=wrong"), StateMismatch),
            (callback("error=a&error=b&state=wrong"), StateMismatch),
            (callback("state=wrong&state=s-123&code=a"), StateMismatch),
            (
                callback("state=s-123&error=x%1B%5B2J&error_description=%1B%5D0%3Bpwned%07"),
                denied("x [2J", Some(" ]0;pwned ")),
            ),
            (callback("code=a&state="), StateMissing),
            (callback("error=access_denied"), StateMissing),
            (callback("code=a&state=s-124"), StateMismatch),
            (callback("code=a&state=s-12"), StateMismatch),
            (callback("code=a&state=S-123"), StateMismatch),
            (
                callback("state=s-123&error=access_denied"),
                denied("access_denied", None),
            ),
            (
                callback("state=s-123&error=server_error&error_description=try+later"),
                denied("server_error", Some("try later")),
            ),
            // An error wins over a code sent alongside it.
            (
                callback("state=s-123&code=a&error=access_denied"),
                denied("access_denied", None),
            ),
            (callback("state=s-123"), CodeMissing),
            (callback("state=s-123&code="), CodeMissing),
            (callback("state=s-123&error="), CodeMissing),
        ];
        for (url, expected) in table {
            assert_eq!(code_of(validate_callback(&url, &e)), Err(expected), "{url}");
        }
    }

    /// AS advertised `iss`, expected issuer, `iss` in the callback, outcome.
    type IssRow<'a> = (
        bool,
        Option<&'a str>,
        Option<&'a str>,
        Result<(), CallbackError>,
    );

    #[test]
    fn rfc9207_table() {
        use CallbackError::*;
        let mismatch = |found: &str| IssuerMismatch {
            expected: ISSUER.into(),
            found: found.into(),
        };
        let table: [IssRow; 16] = [
            (true, Some(ISSUER), Some(ISSUER), Ok(())),
            (
                true,
                Some(ISSUER),
                None,
                Err(IssuerMissing {
                    expected: ISSUER.into(),
                }),
            ),
            (
                true,
                Some(ISSUER),
                Some("https://evil.example.com"),
                Err(mismatch("https://evil.example.com")),
            ),
            (false, Some(ISSUER), Some(ISSUER), Ok(())),
            (false, Some(ISSUER), None, Ok(())),
            (
                false,
                Some(ISSUER),
                Some("https://evil.example.com"),
                Err(mismatch("https://evil.example.com")),
            ),
            // Plain string comparison: no normalisation of any kind.
            (
                true,
                Some(ISSUER),
                Some("https://auth.example.com/"),
                Err(mismatch("https://auth.example.com/")),
            ),
            (
                true,
                Some(ISSUER),
                Some("https://AUTH.example.com"),
                Err(mismatch("https://AUTH.example.com")),
            ),
            (
                false,
                Some(ISSUER),
                Some("https://auth.example.com:443"),
                Err(mismatch("https://auth.example.com:443")),
            ),
            (
                false,
                Some(ISSUER),
                Some(" https://auth.example.com"),
                Err(mismatch(" https://auth.example.com")),
            ),
            // An empty iss is present, and different.
            (false, Some(ISSUER), Some(""), Err(mismatch(""))),
            (true, Some(ISSUER), Some(""), Err(mismatch(""))),
            // No recorded issuer: nothing to compare with.
            (false, None, Some("https://anything.example.com"), Ok(())),
            (true, None, Some("https://anything.example.com"), Ok(())),
            (false, None, None, Ok(())),
            (
                true,
                None,
                None,
                Err(IssuerMissing {
                    expected: String::new(),
                }),
            ),
        ];
        for (advertised, issuer, iss, expected) in table {
            let mut url = Url::parse(&callback("code=the-code&state=s-123")).unwrap();
            if let Some(iss) = iss {
                url.query_pairs_mut().append_pair("iss", iss);
            }
            let result = validate_callback(url.as_str(), &expect(issuer, advertised));
            assert_eq!(
                result.map(|code| assert_eq!(code.expose(), "the-code")),
                expected,
                "{url}"
            );
        }
    }

    #[test]
    fn an_issuer_mismatch_withholds_the_servers_error() {
        let url = callback(
            "state=s-123&iss=https%3A%2F%2Fevil.example.com&error=access_denied\
             &error_description=call+0800-SCAM",
        );
        let err = validate_callback(&url, &expect(Some(ISSUER), false)).unwrap_err();
        assert!(matches!(err, CallbackError::IssuerMismatch { .. }));
        assert!(!err.to_string().contains("SCAM"));
        let missing = validate_callback(
            &callback("state=s-123&error=access_denied&error_description=SCAM"),
            &expect(Some(ISSUER), true),
        )
        .unwrap_err();
        assert!(matches!(missing, CallbackError::IssuerMissing { .. }));
    }

    #[test]
    fn state_is_checked_before_iss() {
        let url = callback("state=forged&iss=https%3A%2F%2Fevil.example.com&code=a");
        assert_eq!(
            code_of(validate_callback(&url, &expect(Some(ISSUER), true))),
            Err(CallbackError::StateMismatch)
        );
    }

    #[test]
    fn an_authorization_url_round_trips_through_a_callback() {
        let endpoint = Url::parse("https://auth.example.com/authorize").unwrap();
        let url = request(&endpoint).to_url();
        let sent: std::collections::HashMap<String, String> = pairs(&url).into_iter().collect();
        let mut cb = Url::parse(&sent["redirect_uri"]).unwrap();
        cb.query_pairs_mut()
            .append_pair("code", "c")
            .append_pair("state", &sent["state"])
            .append_pair("iss", ISSUER);
        let code = validate_callback(cb.as_str(), &expect(Some(ISSUER), true)).unwrap();
        assert_eq!(code.expose(), "c");
    }

    /// A tiny xorshift generator: deterministic, so a failure reproduces.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[(self.next() % items.len() as u64) as usize]
        }
    }

    #[test]
    fn validate_callback_never_panics_on_generated_callbacks() {
        let pieces = [
            "http://127.0.0.1:1/cb",
            "https://h",
            "?",
            "&",
            "=",
            "#",
            "%",
            "%zz",
            "%E2%82",
            "+",
            "code",
            "state",
            "s-123",
            "iss",
            "error",
            "error_description",
            ISSUER,
            "é",
            "\u{0}",
            "\n",
            " ",
            "[::1]",
            "@",
            ":",
            "//",
            "\\",
            "javascript:",
            "",
            "💥",
        ];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let len = (rng.next() % 16) as usize;
            let url: String = (0..len).map(|_| rng.pick(&pieces)).collect();
            for expectation in [expect(Some(ISSUER), true), expect(None, false)] {
                if let Ok(code) = validate_callback(&url, &expectation) {
                    // Success needs the right state and a code.
                    assert!(!code.expose().is_empty(), "{url:?}");
                    assert!(url.contains("s-123"), "{url:?}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn validate_callback_never_panics_on_arbitrary_strings(url in "\\PC*") {
            let _ = validate_callback(&url, &expect(Some(ISSUER), true));
            let _ = validate_callback(&url, &expect(None, false));
        }

        #[test]
        fn any_state_and_code_round_trip(state in "\\PC+", code in "\\PC+") {
            let mut url = Url::parse(CALLBACK).unwrap();
            url.query_pairs_mut().append_pair("state", &state).append_pair("code", &code);
            let expectation = CallbackExpectation { state: state.clone(), issuer: None, iss_required: false };
            let got = validate_callback(url.as_str(), &expectation).unwrap();
            prop_assert_eq!(got.expose(), code.as_str());
        }
    }
}

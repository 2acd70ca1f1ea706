//! Which redirect URIs a client may use: the per-client [`RedirectPolicy`], with
//! simple string comparison for registered URIs
//! ([RFC 6749 §3.1.2.3](https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2.3)),
//! any port for registered loopback URIs
//! ([RFC 8252 §7.3](https://www.rfc-editor.org/rfc/rfc8252#section-7.3)), and "any
//! port and path on these loopback origins" for hard-coded public clients.
//!
//! Before any policy applies, a redirect URI must be spelled so that every party
//! reads it the same way: an absolute `http`/`https` URL, no fragment
//! (RFC 6749 §3.1.2), no user information, no whitespace or backslashes, and a
//! loopback host written canonically. Only `127.0.0.1`, `[::1]` and `localhost`
//! count as loopback; other `127.0.0.0/8` addresses and spellings a URL parser
//! would normalise to a loopback address (`http://0x7f.1/`, `http://127.1/`,
//! `http://[0:0:0:0:0:0:0:1]/`, `http://127.0.0.1./`) are refused, because the
//! client and the browser may not parse them the way this server does.
//! Private-use schemes (RFC 8252 §7.1) are refused: MCP redirect URIs are loopback
//! or https.
//!
//! A registered loopback URI matches a requested one that is identical except for
//! the port: `http://127.0.0.1/callback` registered accepts
//! `http://127.0.0.1:49152/callback`, never `http://127.0.0.1:49152/other` nor
//! `http://localhost:49152/callback`. A client that registered no loopback URI gets
//! no loopback redirect at all.

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Which redirect URIs one client may use.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectPolicy {
    /// The client's registered redirect URIs. A requested URI must equal one of
    /// them as a string; for a registered loopback URI the port may differ
    /// (RFC 8252 §7.3), nothing else.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Loopback origins without a port, such as `http://127.0.0.1` and
    /// `http://localhost`, on which this client may use any port and any path:
    /// for hard-coded public clients that register nothing. Empty for every
    /// other client.
    #[serde(default)]
    pub any_loopback: Vec<String>,
}

impl RedirectPolicy {
    /// Exactly these registered URIs (loopback ones on any port).
    pub fn registered<S: Into<String>>(redirect_uris: impl IntoIterator<Item = S>) -> Self {
        RedirectPolicy {
            redirect_uris: redirect_uris.into_iter().map(Into::into).collect(),
            any_loopback: Vec::new(),
        }
    }

    /// Any port and path on these loopback origins, e.g.
    /// `["http://localhost", "http://127.0.0.1"]`.
    pub fn any_loopback<S: Into<String>>(origins: impl IntoIterator<Item = S>) -> Self {
        RedirectPolicy {
            redirect_uris: Vec::new(),
            any_loopback: origins.into_iter().map(Into::into).collect(),
        }
    }

    /// Checks the policy itself: every registered URI is well formed (loopback or
    /// https, see [`check_registrable`]) and every loopback origin is one of
    /// [`LOOPBACK_ORIGINS`].
    pub fn validate(&self) -> Result<(), RedirectPolicyError> {
        for uri in &self.redirect_uris {
            check_registrable(uri).map_err(|reason| RedirectPolicyError::RedirectUri {
                uri: uri.clone(),
                reason,
            })?;
        }
        for origin in &self.any_loopback {
            if !LOOPBACK_ORIGINS
                .iter()
                .any(|o| o.eq_ignore_ascii_case(origin))
            {
                return Err(RedirectPolicyError::LoopbackOrigin(origin.clone()));
            }
        }
        Ok(())
    }

    /// Whether `redirect_uri` may be used by the client this policy belongs to.
    pub fn check(&self, redirect_uri: &str) -> Result<(), RedirectUriError> {
        let parsed = RedirectUri::parse(redirect_uri)?;
        if let Some(loopback) = &parsed.loopback {
            let origin = format!("{}://{}", parsed.url.scheme(), loopback.host);
            if self
                .any_loopback
                .iter()
                .any(|o| o.eq_ignore_ascii_case(&origin))
            {
                return Ok(());
            }
        }
        let matches = |registered: &String| {
            if registered == redirect_uri {
                return true;
            }
            // RFC 8252 §7.3: a registered loopback URI matches on any port.
            match (&parsed.loopback, RedirectUri::parse(registered)) {
                (
                    Some(_),
                    Ok(
                        registered @ RedirectUri {
                            loopback: Some(_), ..
                        },
                    ),
                ) => registered.without_port() == parsed.without_port(),
                _ => false,
            }
        };
        if self.redirect_uris.iter().any(matches) {
            Ok(())
        } else {
            Err(RedirectUriError::NotRegistered)
        }
    }
}

/// Every loopback origin [`RedirectPolicy::any_loopback`] may name. Servers
/// commonly allow only `http://localhost` and `http://127.0.0.1`.
pub const LOOPBACK_ORIGINS: [&str; 6] = [
    "http://127.0.0.1",
    "http://[::1]",
    "http://localhost",
    "https://127.0.0.1",
    "https://[::1]",
    "https://localhost",
];

/// A redirect policy that can never be satisfied as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectPolicyError {
    /// A registered redirect URI is malformed or neither loopback nor https.
    #[error("registered redirect URI {uri:?} is unusable: {reason}")]
    RedirectUri {
        /// The URI as registered.
        uri: String,
        /// What is wrong with it.
        reason: RedirectUriError,
    },
    /// An `any_loopback` entry is not one of [`LOOPBACK_ORIGINS`].
    #[error("{0:?} is not a loopback origin; use http://127.0.0.1, http://[::1] or http://localhost (or https)")]
    LoopbackOrigin(String),
}

/// Why a redirect URI is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    /// Not an absolute URL, or spelled in a way parsers may disagree on
    /// (whitespace, backslashes, a non-canonical loopback host).
    #[error("redirect_uri is not a valid absolute URL")]
    Malformed,
    /// Carries a fragment (RFC 6749 §3.1.2).
    #[error("redirect_uri must not contain a fragment")]
    Fragment,
    /// Carries userinfo (`user@host`), a classic host-confusion trick.
    #[error("redirect_uri must not contain user information")]
    UserInfo,
    /// Neither loopback (`127.0.0.1`, `[::1]`, `localhost`) nor https.
    #[error("redirect_uri must be a loopback or an https URI")]
    Scheme,
    /// Well formed, but not registered for this client.
    #[error("redirect_uri is not registered for this client")]
    NotRegistered,
}

/// Whether `redirect_uri` may be registered at all: well formed, and loopback
/// (`http` or `https`) or `https`. Registration endpoints and client metadata
/// documents check each URI with this.
pub fn check_registrable(redirect_uri: &str) -> Result<(), RedirectUriError> {
    let parsed = RedirectUri::parse(redirect_uri)?;
    if parsed.loopback.is_some() || parsed.url.scheme() == "https" {
        Ok(())
    } else {
        Err(RedirectUriError::Scheme)
    }
}

/// Whether `redirect_uri` is a well-formed loopback redirect URI.
pub fn is_loopback(redirect_uri: &str) -> bool {
    RedirectUri::parse(redirect_uri).is_ok_and(|p| p.loopback.is_some())
}

/// A redirect URI that passed the spelling checks.
struct RedirectUri<'a> {
    raw: &'a str,
    url: Url,
    /// Set when the host is one of the three loopback hosts.
    loopback: Option<LoopbackAuthority<'a>>,
}

/// The raw authority of a loopback URI, split.
struct LoopbackAuthority<'a> {
    /// `127.0.0.1`, `[::1]` or `localhost` (any case), as written.
    host: &'a str,
    /// Byte range of `:port` in the raw URI, if a port was written.
    port_span: Option<(usize, usize)>,
}

impl<'a> RedirectUri<'a> {
    fn parse(raw: &'a str) -> Result<Self, RedirectUriError> {
        let url = Url::parse(raw).map_err(|_| RedirectUriError::Malformed)?;
        if url.fragment().is_some() {
            return Err(RedirectUriError::Fragment);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectUriError::UserInfo);
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(RedirectUriError::Scheme);
        }
        // The parser silently drops whitespace and treats `\` as `/`; the client or
        // the browser may not, so such a URI could mean different hosts to each.
        if !raw.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
            return Err(RedirectUriError::Malformed);
        }
        let (start, authority) =
            raw_authority(raw, url.scheme()).ok_or(RedirectUriError::Malformed)?;
        // `http://@127.0.0.1/` has an empty userinfo the parser does not report.
        if authority.contains('@') {
            return Err(RedirectUriError::UserInfo);
        }
        let loopback = if is_loopback_host(&url) {
            // The parsed host is loopback; insist it was also written canonically
            // so that every party reading the raw string agrees.
            Some(canonical_loopback(authority, start).ok_or(RedirectUriError::Malformed)?)
        } else {
            None
        };
        Ok(RedirectUri { raw, url, loopback })
    }

    /// The raw URI with its `:port` cut out (loopback URIs only).
    fn without_port(&self) -> Option<String> {
        let loopback = self.loopback.as_ref()?;
        Some(match loopback.port_span {
            Some((from, to)) => format!("{}{}", &self.raw[..from], &self.raw[to..]),
            None => self.raw.to_owned(),
        })
    }
}

/// The authority exactly as written, with its byte offset: between `scheme://`
/// and the first `/`, `?` or `#`. `None` when the URI does not start with
/// `scheme://` followed by a non-empty authority (`http:127.0.0.1`, `http:///x`
/// parse, but are not canonical).
fn raw_authority<'a>(raw: &'a str, scheme: &str) -> Option<(usize, &'a str)> {
    let head = raw.get(..scheme.len() + 3)?;
    if !head.eq_ignore_ascii_case(&format!("{scheme}://")) {
        return None;
    }
    let rest = &raw[head.len()..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some((head.len(), &rest[..end])).filter(|(_, a)| !a.is_empty())
}

/// Whether the parsed host is one of the three loopback hosts RFC 8252 names.
/// Other `127.0.0.0/8` addresses are not: clients are told to use `127.0.0.1`.
fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip == Ipv4Addr::LOCALHOST,
        Some(Host::Ipv6(ip)) => ip == Ipv6Addr::LOCALHOST,
        Some(Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

/// Splits a raw authority written as `127.0.0.1`, `[::1]` or `localhost` (any
/// case), optionally followed by `:` and one to five digits; `None` for any other
/// spelling. `offset` is where the authority starts in the raw URI.
fn canonical_loopback(authority: &str, offset: usize) -> Option<LoopbackAuthority<'_>> {
    let (host, port) = match authority.rsplit_once(':') {
        // `[::1]` alone contains colons; only a colon after `]` starts a port.
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = host == "127.0.0.1" || host == "[::1]" || host.eq_ignore_ascii_case("localhost");
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    (host_ok && port_ok).then(|| LoopbackAuthority {
        host,
        port_span: port.map(|_| (offset + host.len(), offset + authority.len())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WEB: &str = "https://app.example.com/oauth/callback";

    /// A hard-coded public client: any loopback origin, plus one https URI.
    fn open_loopback() -> RedirectPolicy {
        RedirectPolicy {
            redirect_uris: vec![WEB.into()],
            any_loopback: LOOPBACK_ORIGINS.iter().map(|o| o.to_string()).collect(),
        }
    }

    #[test]
    fn any_loopback_accepts_every_port_and_path_on_its_origins() {
        let accepted = [
            "http://127.0.0.1/callback",
            "http://127.0.0.1:33418/callback",
            "http://127.0.0.1",
            "http://127.0.0.1/",
            "http://127.0.0.1:1/a/b/c?x=1&y=2",
            "http://[::1]/callback",
            "http://[::1]:8080/callback",
            "http://localhost/callback",
            "http://localhost:65535/cb?client=desktop",
            "http://LOCALHOST:3000/cb",
            "HTTP://127.0.0.1:3000/cb",
            "https://127.0.0.1:8443/callback",
            "https://localhost/callback",
            WEB,
        ];
        for uri in accepted {
            assert_eq!(open_loopback().check(uri), Ok(()), "{uri}");
        }
    }

    #[test]
    fn malformed_and_foreign_redirect_uris_are_refused_whatever_the_policy() {
        use RedirectUriError::*;
        let rejected = [
            ("http://127.0.0.1/cb#frag", Fragment),
            ("http://127.0.0.1/cb#", Fragment),
            ("https://app.example.com/oauth/callback#x", Fragment),
            ("http://user@127.0.0.1/cb", UserInfo),
            ("http://user:pw@localhost/cb", UserInfo),
            ("http://127.0.0.1:80@evil.com/", UserInfo),
            ("http://@127.0.0.1/cb", UserInfo),
            ("http://127.0.0.1.evil.com/cb", NotRegistered),
            ("http://localhost.evil.com", NotRegistered),
            ("http://localhost.evil.com/", NotRegistered),
            ("http://127.0.0.2/", NotRegistered),
            ("http://127.255.255.254/cb", NotRegistered),
            ("http://10.0.0.1/cb", NotRegistered),
            ("http://0.0.0.0/cb", NotRegistered),
            ("http://[::2]/cb", NotRegistered),
            ("http://[::ffff:127.0.0.1]/cb", NotRegistered),
            ("http://app.example.com/oauth/callback", NotRegistered),
            ("https://app.example.com/oauth/callback/", NotRegistered),
            ("https://app.example.com/oauth/callback?x=1", NotRegistered),
            ("https://APP.example.com/oauth/callback", NotRegistered),
            ("https://evil.example/cb", NotRegistered),
            ("javascript:alert(1)", Scheme),
            ("data:text/html,hi", Scheme),
            ("com.example.app:/oauth2redirect", Scheme),
            ("ftp://127.0.0.1/cb", Scheme),
            ("file:///etc/passwd", Scheme),
            ("/callback", Malformed),
            ("127.0.0.1/callback", Malformed),
            ("", Malformed),
            ("not a url", Malformed),
            ("http://", Malformed),
            ("http://[::1/cb", Malformed),
            // Parser normalisation tricks: each parses to a loopback host.
            ("http://0x7f.1/cb", Malformed),
            ("http://127.1/cb", Malformed),
            ("http://2130706433/cb", Malformed),
            ("http://0177.0.0.1/cb", Malformed),
            ("http://127.0.0.1./cb", Malformed),
            ("http://%31%32%37.0.0.1/cb", Malformed),
            ("http://[0:0:0:0:0:0:0:1]/cb", Malformed),
            ("http:127.0.0.1/cb", Malformed),
            ("http:/127.0.0.1/cb", Malformed),
            ("http:///127.0.0.1/cb", Malformed),
            ("http:\\\\127.0.0.1\\cb", Malformed),
            ("http://127.0.0.1\\@evil.com/", Malformed),
            ("http://127.0.0.1:/cb", Malformed),
            ("http://127.0.0.1:000080/cb", Malformed),
            (" http://127.0.0.1/cb", Malformed),
            ("http://127.0.0.1/cb\n", Malformed),
            ("http://127.0.0.1/c\tb", Malformed),
        ];
        for (uri, expected) in rejected {
            assert_eq!(open_loopback().check(uri), Err(expected), "{uri:?}");
        }
    }

    #[test]
    fn any_loopback_origins_are_a_policy() {
        // Some servers allow exactly http://localhost and http://127.0.0.1.
        let policy = RedirectPolicy::any_loopback(["http://localhost", "http://127.0.0.1"]);
        for ok in [
            "http://localhost:1234/cb",
            "http://127.0.0.1:80/x",
            "http://localhost/",
        ] {
            assert_eq!(policy.check(ok), Ok(()), "{ok}");
        }
        for refused in [
            "http://[::1]:1234/cb",
            "https://localhost:1234/cb",
            "https://127.0.0.1/cb",
        ] {
            assert_eq!(
                policy.check(refused),
                Err(RedirectUriError::NotRegistered),
                "{refused}"
            );
        }
    }

    /// Issue 10, item 9: a client registered only with an https URI used to be
    /// handed codes on any loopback URI.
    #[test]
    fn a_client_without_a_registered_loopback_uri_gets_no_loopback_redirect() {
        let web_only = RedirectPolicy::registered([WEB]);
        for uri in [
            "http://127.0.0.1:40000/callback",
            "http://localhost/callback",
            "http://[::1]:1/",
        ] {
            assert_eq!(
                web_only.check(uri),
                Err(RedirectUriError::NotRegistered),
                "{uri}"
            );
        }
        assert_eq!(web_only.check(WEB), Ok(()));
    }

    /// RFC 8252 §7.3: only the port may vary.
    #[test]
    fn a_registered_loopback_uri_matches_exactly_except_for_the_port() {
        let policy = RedirectPolicy::registered(["http://127.0.0.1/callback"]);
        // (requested, accepted)
        let table = [
            ("http://127.0.0.1/callback", true),
            ("http://127.0.0.1:1/callback", true),
            ("http://127.0.0.1:49152/callback", true),
            ("http://127.0.0.1:65535/callback", true),
            ("http://127.0.0.1:49152/callback/", false),
            ("http://127.0.0.1:49152/other", false),
            ("http://127.0.0.1:49152/callback?x=1", false),
            ("http://127.0.0.1:49152/Callback", false),
            ("http://localhost:49152/callback", false),
            ("http://[::1]:49152/callback", false),
            ("https://127.0.0.1:49152/callback", false),
            ("http://127.0.0.2:49152/callback", false),
        ];
        for (uri, accepted) in table {
            assert_eq!(policy.check(uri).is_ok(), accepted, "{uri}");
        }
        // A registered port is no more binding than none.
        let with_port = RedirectPolicy::registered(["http://[::1]:3000/cb?app=1"]);
        assert_eq!(with_port.check("http://[::1]:4000/cb?app=1"), Ok(()));
        assert_eq!(with_port.check("http://[::1]/cb?app=1"), Ok(()));
        assert!(with_port.check("http://[::1]:4000/cb?app=2").is_err());
    }

    #[test]
    fn registered_https_uris_compare_as_strings() {
        let policy = RedirectPolicy::registered([WEB]);
        assert_eq!(policy.check(WEB), Ok(()));
        for uri in [
            "https://app.example.com:443/oauth/callback",
            "https://app.example.com/oauth/callback/",
            "https://app.example.com:8443/oauth/callback",
        ] {
            assert_eq!(
                policy.check(uri),
                Err(RedirectUriError::NotRegistered),
                "{uri}"
            );
        }
    }

    #[test]
    fn policies_validate_their_own_entries() {
        assert_eq!(open_loopback().validate(), Ok(()));
        assert!(matches!(
            RedirectPolicy::registered(["http://app.example/cb"]).validate(),
            Err(RedirectPolicyError::RedirectUri {
                reason: RedirectUriError::Scheme,
                ..
            })
        ));
        for origin in [
            "http://127.0.0.2",
            "http://localhost:3000",
            "http://localhost/",
            "localhost",
        ] {
            assert_eq!(
                RedirectPolicy::any_loopback([origin]).validate(),
                Err(RedirectPolicyError::LoopbackOrigin(origin.into())),
                "{origin}"
            );
        }
    }

    #[test]
    fn registrable_uris_are_loopback_or_https() {
        assert_eq!(check_registrable("http://127.0.0.1/cb"), Ok(()));
        assert_eq!(check_registrable("https://localhost:1/cb"), Ok(()));
        assert_eq!(check_registrable(WEB), Ok(()));
        assert_eq!(
            check_registrable("http://app.example/cb"),
            Err(RedirectUriError::Scheme)
        );
        assert_eq!(
            check_registrable("http://127.1/cb"),
            Err(RedirectUriError::Malformed)
        );
        assert!(is_loopback("http://[::1]:9/x"));
        assert!(!is_loopback(WEB));
    }
}

//! Which hosts a sign-in may send requests to: the defence against a hostile MCP
//! server steering the client at internal services (server-side request forgery)
//! through the URLs it controls — the challenge's `resource_metadata`, the
//! metadata's `authorization_servers` and endpoints, and redirects.
//!
//! Every outgoing OAuth request is https, or plain http to loopback (MCP
//! "Communication Security", [`crate::loopback`]). On top of that:
//!
//! | policy | MCP server on loopback | MCP server elsewhere |
//! | --- | --- | --- |
//! | [`NetworkPolicy::Desktop`] (default) | any https host, loopback | any https host; **no loopback or unspecified host** (`127.0.0.0/8`, `[::1]`, `localhost`, `0.0.0.0`, `[::]`, IPv4-mapped forms) |
//! | [`NetworkPolicy::PublicOnly`] (web backends) | refused | https to public addresses only: no loopback, private (RFC 1918, `fc00::/7`), link-local (`169.254/16`, `fe80::/10`), shared (`100.64/10`), unspecified, multicast, broadcast or documentation addresses |
//!
//! A redirect is followed only when [`redirect_allowed`] says so: never from
//! https to http, and never from a remote host to a local one.
//!
//! Core sees host names, not addresses: [`NetworkPolicy::PublicOnly`] checks IP
//! literals and `localhost` here, and hosts that resolve names (the native
//! executor) check every resolved address with [`is_public_ip`] before connecting.

use crate::loopback::{is_loopback, is_secure_or_loopback};
use crate::text::server_text;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Which hosts a sign-in may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NetworkPolicy {
    /// Desktop apps and CLIs: any https host; loopback only when the MCP server
    /// itself is on loopback.
    #[default]
    Desktop,
    /// Server-side hosts that take server URLs from their users (web backends):
    /// public addresses only, whatever the MCP server is.
    PublicOnly,
}

/// A URL a sign-in must not send a request to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refusing to send a request to {url}: {reason}")]
pub struct EndpointRefused {
    /// The URL refused (cleaned, without query).
    pub url: String,
    /// Why.
    pub reason: &'static str,
}

impl NetworkPolicy {
    /// Whether a sign-in with the MCP server at `server` may send a request to `url`.
    pub fn check(self, server: &Url, url: &Url) -> Result<(), EndpointRefused> {
        let refuse = |reason| {
            Err(EndpointRefused {
                url: shown(url),
                reason,
            })
        };
        if !is_secure_or_loopback(url) {
            return refuse("only https (or http on loopback) is allowed");
        }
        match self {
            NetworkPolicy::Desktop if is_local(url) && !is_local(server) => {
                refuse("a remote server named a loopback address (allowed only when the MCP server itself is on loopback)")
            }
            NetworkPolicy::Desktop => Ok(()),
            NetworkPolicy::PublicOnly if !is_public_host(url) => {
                refuse("the address is not public (this client allows public addresses only)")
            }
            NetworkPolicy::PublicOnly if url.scheme() != "https" => {
                refuse("only https is allowed")
            }
            NetworkPolicy::PublicOnly => Ok(()),
        }
    }
}

/// Whether a redirect to `next` may be followed, for a request first sent to
/// `original` and last answered by `previous`: `next` must be https (or http on
/// loopback), not a step down from https to http, and not a local host when the
/// request did not start on one.
pub fn redirect_allowed(original: &Url, previous: &Url, next: &Url) -> Result<(), EndpointRefused> {
    let refuse = |reason| {
        Err(EndpointRefused {
            url: shown(next),
            reason,
        })
    };
    if !is_secure_or_loopback(next) {
        return refuse("a redirect to a non-https URL");
    }
    if previous.scheme() == "https" && next.scheme() != "https" {
        return refuse("a redirect from https to http");
    }
    if is_local(next) && !is_local(original) {
        return refuse("a redirect from a remote host to a loopback address");
    }
    Ok(())
}

/// Whether the URL's host is this machine: loopback (`127.0.0.0/8`, `[::1]`,
/// `localhost`), unspecified (`0.0.0.0`, `[::]`, which connect locally), or an
/// IPv4-mapped form of either.
pub fn is_local(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(Host::Ipv6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => v4.is_loopback() || v4.is_unspecified(),
            None => ip.is_loopback() || ip.is_unspecified(),
        },
        Some(Host::Domain(_)) => is_loopback(url),
        None => false,
    }
}

/// Whether the URL's host may be public: a public IP literal, or a name other
/// than `localhost` / `*.localhost` (its addresses are checked when resolved).
pub fn is_public_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => is_public_ip(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => is_public_ip(IpAddr::V6(ip)),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name != "localhost" && !name.ends_with(".localhost")
        }
        None => false,
    }
}

/// Whether an address is publicly routable: not loopback, private, link-local,
/// shared (CGNAT), unspecified, multicast, broadcast, documentation or reserved
/// (IPv4-mapped and NAT64 forms judged by the IPv4 address).
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b {
                // 64:ff9b::/96 (NAT64) reaches the embedded IPv4 address.
                let [.., a, b, c, d] = v6.octets();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            is_public_v6(v6)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        || (first & 0xffc0) == 0xfec0
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        || ip.to_ipv4().is_some_and(|v4| !is_public_v4(v4)))
}

/// A URL as shown in an error: without user info, query or fragment, cleaned.
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

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn desktop_policy_table() {
        let remote = url("https://mcp.example.com/mcp");
        let local = url("http://127.0.0.1:3000/mcp");
        let table = [
            (&remote, "https://auth.example.com/token", true),
            (&remote, "https://10.0.0.5/token", true),
            (&remote, "http://127.0.0.1:6379/admin?x=1", false),
            (&remote, "https://127.0.0.1/admin", false),
            (&remote, "http://localhost:6379/", false),
            (&remote, "https://[::1]/", false),
            (&remote, "https://0.0.0.0/", false),
            (&remote, "https://[::ffff:127.0.0.1]/", false),
            (&remote, "http://auth.example.com/token", false),
            (&local, "http://127.0.0.1:4000/token", true),
            (&local, "http://localhost:4000/token", true),
            (&local, "https://auth.example.com/token", true),
            (&local, "http://0.0.0.0:4000/token", false),
        ];
        for (server, target, allowed) in table {
            let outcome = NetworkPolicy::Desktop.check(server, &url(target));
            assert_eq!(
                outcome.is_ok(),
                allowed,
                "{server} -> {target}: {outcome:?}"
            );
        }
    }

    #[test]
    fn public_only_policy_table() {
        let server = url("https://mcp.example.com/mcp");
        let table = [
            ("https://auth.example.com/token", true),
            ("https://93.184.215.14/token", true),
            ("https://[2606:4700::1111]/", true),
            ("https://10.1.2.3/", false),
            ("https://172.16.0.1/", false),
            ("https://192.168.1.1/", false),
            ("https://169.254.169.254/latest/meta-data", false),
            ("https://100.64.0.1/", false),
            ("https://127.0.0.1/", false),
            ("https://0.0.0.0/", false),
            ("https://[::1]/", false),
            ("https://[fd00::1]/", false),
            ("https://[fe80::1]/", false),
            ("https://[::ffff:10.0.0.1]/", false),
            ("https://[64:ff9b::a9fe:a9fe]/", false),
            ("https://localhost/", false),
            ("https://api.localhost/", false),
            ("http://localhost:3000/", false),
        ];
        for (target, allowed) in table {
            let outcome = NetworkPolicy::PublicOnly.check(&server, &url(target));
            assert_eq!(outcome.is_ok(), allowed, "{target}: {outcome:?}");
        }
    }

    #[test]
    fn redirect_table() {
        let table = [
            (
                "https://a.example/x",
                "https://a.example/x",
                "https://b.example/y",
                true,
            ),
            (
                "https://a.example/x",
                "https://a.example/x",
                "http://127.0.0.1/y",
                false,
            ),
            (
                "https://a.example/x",
                "https://a.example/x",
                "https://127.0.0.1/y",
                false,
            ),
            (
                "https://a.example/x",
                "https://a.example/x",
                "http://b.example/y",
                false,
            ),
            (
                "http://127.0.0.1:1/x",
                "http://127.0.0.1:1/x",
                "http://127.0.0.1:2/y",
                true,
            ),
            (
                "http://127.0.0.1:1/x",
                "https://a.example/x",
                "http://127.0.0.1:2/y",
                false,
            ),
        ];
        for (original, previous, next, allowed) in table {
            let outcome = redirect_allowed(&url(original), &url(previous), &url(next));
            assert_eq!(outcome.is_ok(), allowed, "{original} {previous} -> {next}");
        }
    }

    #[test]
    fn refusals_do_not_echo_the_query() {
        let error = NetworkPolicy::Desktop
            .check(
                &url("https://mcp.example.com/"),
                &url("http://127.0.0.1:6379/admin?x=secret"),
            )
            .unwrap_err();
        assert!(!error.to_string().contains("secret"), "{error}");
    }
}

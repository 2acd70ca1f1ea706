//! Which URLs count as loopback, and the "https, or http on loopback" rule that
//! every authorization-server endpoint and redirect URI must satisfy
//! (MCP authorization, "Communication Security"; RFC 8252 §7.3 and §8.3).

use url::{Host, Url};

/// Whether the URL's host is `127.0.0.0/8`, `[::1]` or `localhost` (as a host name,
/// not a prefix: `127.0.0.1.evil.com` is not loopback).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Whether the URL may carry OAuth traffic: `https`, or plain `http` to a loopback host.
pub fn is_secure_or_loopback(url: &Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => is_loopback(url),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_table() {
        let table = [
            ("http://127.0.0.1:8080/cb", true),
            ("http://127.5.6.7/", true),
            ("http://[::1]:9/", true),
            ("http://localhost/", true),
            ("http://LOCALHOST:1/", true),
            ("http://127.0.0.1.evil.com/", false),
            ("http://localhost.evil.com/", false),
            ("http://evil.com@127.0.0.1/", true),
            ("http://127.0.0.1@evil.com/", false),
            ("http://10.0.0.1/", false),
            ("https://example.com/", false),
        ];
        for (url, expected) in table {
            assert_eq!(is_loopback(&Url::parse(url).unwrap()), expected, "{url}");
        }
    }

    #[test]
    fn secure_or_loopback_table() {
        let table = [
            ("https://as.example.com/token", true),
            ("http://127.0.0.1:3000/token", true),
            ("http://localhost:3000/token", true),
            ("http://as.example.com/token", false),
            ("ftp://127.0.0.1/", false),
            ("javascript:alert(1)", false),
        ];
        for (url, expected) in table {
            assert_eq!(
                is_secure_or_loopback(&Url::parse(url).unwrap()),
                expected,
                "{url}"
            );
        }
    }
}

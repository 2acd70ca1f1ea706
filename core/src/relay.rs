//! The page a web backend answers on its own callback URL when the sign-in ran
//! in a popup: it tells the window that opened the popup how the sign-in ended,
//! then closes itself.
//!
//! The page posts one message to `window.opener`, with the app's exact origin as
//! the target origin (HTML, "Cross-document messaging": a message posted to a
//! specific origin is dropped if the opener has navigated elsewhere, so nothing
//! leaks to another site):
//!
//! ```json
//! { "type": "mcp-oauth:sign-in", "ok": false, "connectionId": "user-1/linear",
//!   "error": { "code": "access_denied", "message": "authorization failed: access_denied" } }
//! ```
//!
//! `error` is absent when `ok` is true. The outcome travels as an inert JSON data
//! block, so the page's only script is a constant, allowed by its SHA-256 hash in
//! the Content-Security-Policy ([`RelayPage::headers`]); nothing the
//! authorization server or an attacker put in the callback can run. The headers
//! also keep the callback URL (it carries the code) out of `Referer` and caches.

use crate::error::Error;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Serialize;
use sha2::{Digest, Sha256};
use url::Url;

/// The `type` of the relayed message.
pub const MESSAGE_TYPE: &str = "mcp-oauth:sign-in";

/// The page's only script: read the outcome, post it to the opener, close.
/// Without an opener (the popup was blocked and the sign-in ran in the main
/// window), the page stays and says how it went.
const SCRIPT: &str = r#"(function(){var d=JSON.parse(document.getElementById("mcp-oauth-outcome").textContent);var o=window.opener;if(o&&o!==window){o.postMessage(d.message,d.targetOrigin);window.close();}})();"#;

/// How a sign-in ended, as the opener learns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Signed in: tokens are stored under `connection_id`.
    Connected {
        /// The connection the app asked for.
        connection_id: String,
    },
    /// The sign-in failed.
    Failed {
        /// The connection, when the callback could be tied to one.
        connection_id: Option<String>,
        /// The stable error code (`access_denied`, `state_mismatch`, ...).
        code: String,
        /// A message for a person (never a secret).
        message: String,
    },
}

/// The callback page and the headers to send it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayPage {
    /// The whole HTML document.
    pub html: String,
    /// `Content-Type`, `Content-Security-Policy` (the script's hash),
    /// `Cache-Control`, `Referrer-Policy`, `X-Content-Type-Options`.
    pub headers: Vec<(String, String)>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Message<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody<'a>>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Embedded<'a> {
    message: Message<'a>,
    target_origin: &'a str,
}

/// The page that relays `outcome` to an opener on `target_origin`: an exact
/// origin (`https://app.example.com`, `http://localhost:3000`), never `*`.
pub fn relay_page(outcome: &Outcome, target_origin: &str) -> Result<RelayPage, Error> {
    check_origin(target_origin)?;
    let (message, text) = match outcome {
        Outcome::Connected { connection_id } => (
            Message {
                kind: MESSAGE_TYPE,
                ok: true,
                connection_id: Some(connection_id),
                error: None,
            },
            "Connected. You can close this window.".to_owned(),
        ),
        Outcome::Failed {
            connection_id,
            code,
            message,
        } => (
            Message {
                kind: MESSAGE_TYPE,
                ok: false,
                connection_id: connection_id.as_deref(),
                error: Some(ErrorBody { code, message }),
            },
            format!("Sign-in failed: {message}"),
        ),
    };
    let embedded = serde_json::to_string(&Embedded {
        message,
        target_origin,
    })
    .map_err(|e| Error::Config(e.to_string()))?;
    let html = format!(
        concat!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<meta name=\"referrer\" content=\"no-referrer\">",
            "<title>Sign-in</title></head>\n<body><p>{text}</p>\n",
            "<script type=\"application/json\" id=\"mcp-oauth-outcome\">{data}</script>\n",
            "<script>{script}</script>\n</body></html>\n"
        ),
        text = escape_html(&text),
        data = escape_script_data(&embedded),
        script = SCRIPT,
    );
    Ok(RelayPage {
        html,
        headers: headers(),
    })
}

fn headers() -> Vec<(String, String)> {
    let hash = STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
    let csp = format!(
        "default-src 'none'; script-src 'sha256-{hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    [
        ("Content-Type", "text/html; charset=utf-8".to_owned()),
        ("Content-Security-Policy", csp),
        ("Cache-Control", "no-store".to_owned()),
        ("Referrer-Policy", "no-referrer".to_owned()),
        ("X-Content-Type-Options", "nosniff".to_owned()),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect()
}

/// An http(s) origin exactly as `location.origin` spells it.
fn check_origin(origin: &str) -> Result<(), Error> {
    let refuse = |why: &str| {
        Err(Error::Config(format!(
            "the relay's target origin {origin:?} {why}; give the app's exact origin, like https://app.example.com"
        )))
    };
    let Ok(url) = Url::parse(origin) else {
        return refuse("is not an origin");
    };
    if !matches!(url.scheme(), "https" | "http") {
        return refuse("is not http or https");
    }
    if url.origin().ascii_serialization() != origin {
        return refuse("is not an origin alone (no path, no trailing slash, lowercase)");
    }
    Ok(())
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON inside a `<script>` data block: `<`, `>` and `&` only occur in strings
/// there, and as `\u` escapes they cannot end the block or open a comment.
fn escape_script_data(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

#[cfg(test)]
mod tests {
    use super::*;

    const APP: &str = "https://app.example.com";

    fn embedded(page: &RelayPage) -> serde_json::Value {
        let start = page.html.find("id=\"mcp-oauth-outcome\">").unwrap() + 23;
        let end = start + page.html[start..].find("</script>").unwrap();
        serde_json::from_str(&page.html[start..end]).unwrap()
    }

    fn header<'a>(page: &'a RelayPage, name: &str) -> &'a str {
        &page.headers.iter().find(|(n, _)| n == name).unwrap().1
    }

    #[test]
    fn success_posts_ok_and_the_connection_id_to_the_exact_origin() {
        let page = relay_page(
            &Outcome::Connected {
                connection_id: "user-1/linear".into(),
            },
            APP,
        )
        .unwrap();
        let data = embedded(&page);
        assert_eq!(data["targetOrigin"], APP);
        assert_eq!(
            data["message"],
            serde_json::json!({"type": MESSAGE_TYPE, "ok": true, "connectionId": "user-1/linear"})
        );
        assert!(page.html.contains("Connected."));
    }

    #[test]
    fn failure_posts_the_code_and_message() {
        let page = relay_page(
            &Outcome::Failed {
                connection_id: None,
                code: "state_mismatch".into(),
                message: "no pending sign-in matches".into(),
            },
            "http://127.0.0.1:3000",
        )
        .unwrap();
        let message = &embedded(&page)["message"];
        assert_eq!(message["ok"], false);
        assert_eq!(message["error"]["code"], "state_mismatch");
        assert!(message.get("connectionId").is_none());
    }

    #[test]
    fn the_only_script_is_the_constant_one_allowed_by_its_hash() {
        let page = relay_page(
            &Outcome::Connected {
                connection_id: "c".into(),
            },
            APP,
        )
        .unwrap();
        let csp = header(&page, "Content-Security-Policy");
        let hash = STANDARD.encode(Sha256::digest(SCRIPT.as_bytes()));
        assert!(
            csp.contains(&format!("script-src 'sha256-{hash}'")),
            "{csp}"
        );
        assert!(csp.starts_with("default-src 'none'"));
        assert!(page.html.contains(&format!("<script>{SCRIPT}</script>")));
        assert_eq!(page.html.matches("<script").count(), 2);
        assert_eq!(header(&page, "Referrer-Policy"), "no-referrer");
        assert_eq!(header(&page, "Cache-Control"), "no-store");
    }

    #[test]
    fn hostile_text_cannot_leave_the_data_block_or_the_paragraph() {
        let hostile = "</script><script>alert(1)</script><!-- & \u{2028}";
        let page = relay_page(
            &Outcome::Failed {
                connection_id: Some(hostile.into()),
                code: "authorization_error".into(),
                message: hostile.into(),
            },
            APP,
        )
        .unwrap();
        assert_eq!(page.html.matches("<script").count(), 2, "{}", page.html);
        assert_eq!(page.html.matches("</script>").count(), 2);
        assert!(!page.html.contains("<!--"));
        assert_eq!(embedded(&page)["message"]["error"]["message"], hostile);
        assert!(page.html.contains("&lt;/script&gt;"));
    }

    #[test]
    fn the_target_origin_must_be_exact() {
        let connected = Outcome::Connected {
            connection_id: "c".into(),
        };
        for bad in [
            "*",
            "null",
            "",
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/page",
            "HTTPS://APP.example.com",
            "javascript:alert(1)",
            "file:///tmp",
        ] {
            let error = relay_page(&connected, bad).unwrap_err();
            assert_eq!(error.code(), "invalid_config", "{bad:?}");
        }
        for good in [
            APP,
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "http://[::1]:9",
        ] {
            assert!(relay_page(&connected, good).is_ok(), "{good}");
        }
    }
}

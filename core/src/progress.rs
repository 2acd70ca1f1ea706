//! Progress events as the JavaScript hosts hand them to `onProgress`: what a
//! sign-in or a token refresh is doing, step by step, without secrets.
//!
//! The Node addon (from the native client's progress) and the browser package
//! (from its own `fetch` loop) both emit these, so the vocabulary and the shape
//! are defined once, here: serialized, an event is an object whose `step` is
//! `probe`, `discovery`, `registration`, `token`, `authorize`, `callback`,
//! `signed_in`, `refresh`, `revocation` or `store_moved_aside`, with camelCase fields and times in milliseconds
//! since the epoch (what a JavaScript `Date` takes).

use crate::http::Purpose;
use serde::Serialize;

/// One step of a sign-in or token refresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "step",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
#[non_exhaustive]
pub enum ProgressEvent {
    /// The request that provokes the server's `401` challenge got its answer.
    Probe(Answered),
    /// A protected-resource or authorization-server metadata request got its answer.
    Discovery(Answered),
    /// A dynamic client registration got its answer.
    Registration(Answered),
    /// A token request of the sign-in (the code exchange) got its answer.
    Token(Answered),
    /// A token revocation (RFC 7009, on sign-out) got its answer.
    Revocation(Answered),
    /// The authorization URL goes to the user: opened by the host (Node), or
    /// ready for the page to open (browser).
    Authorize {
        /// The authorization URL.
        url: String,
    },
    /// A callback arrived at the redirect URI.
    Callback {
        /// Whether it belongs to this sign-in; an ignored one leaves the sign-in
        /// waiting for the right one.
        accepted: bool,
        /// Why it was ignored.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Signed in.
    SignedIn {
        /// The authorization server.
        issuer: String,
        /// The client used.
        client_id: String,
        /// The scope requested.
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// When the access token expires, in milliseconds since the epoch.
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_at: Option<u64>,
    },
    /// A token refresh finished.
    Refresh {
        /// Whether it succeeded; when not, the connection's status is expired.
        ok: bool,
        /// When the new access token expires, in milliseconds since the epoch.
        #[serde(skip_serializing_if = "Option::is_none")]
        expires_at: Option<u64>,
        /// The stable error code of a failed refresh.
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<&'static str>,
    },
    /// The token store file could not be read: it was moved aside and the store
    /// started empty, so every connection must sign in again (Node, `storePath`).
    /// Tell the user: the old file is kept for them to inspect.
    StoreMovedAside {
        /// The store file.
        path: String,
        /// Where the unreadable file is now (`<name>.broken-<UTC time>`).
        moved_to: String,
        /// Why it could not be read.
        reason: String,
    },
}

/// An OAuth request and the status it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answered {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Where it went.
    pub url: String,
    /// The HTTP status received.
    pub status: u16,
}

impl ProgressEvent {
    /// A request core asked for, sent with `method` ([`crate::http::Method::as_str`]) and
    /// answered with `status`; the step is its purpose's.
    pub fn answered(purpose: Purpose, method: &'static str, url: String, status: u16) -> Self {
        let answered = Answered {
            method,
            url,
            status,
        };
        match purpose {
            Purpose::Probe => ProgressEvent::Probe(answered),
            Purpose::ResourceMetadata | Purpose::AuthorizationServerMetadata => {
                ProgressEvent::Discovery(answered)
            }
            Purpose::Registration => ProgressEvent::Registration(answered),
            Purpose::Token => ProgressEvent::Token(answered),
            Purpose::Revocation => ProgressEvent::Revocation(answered),
        }
    }

    /// A callback was accepted.
    pub fn callback_accepted() -> Self {
        ProgressEvent::Callback {
            accepted: true,
            reason: None,
        }
    }

    /// A callback was ignored, for `reason`.
    pub fn callback_ignored(reason: String) -> Self {
        ProgressEvent::Callback {
            accepted: false,
            reason: Some(reason),
        }
    }

    /// Signed in; `expires_at` in seconds since the epoch, as sessions keep it.
    pub fn signed_in(
        issuer: String,
        client_id: String,
        scope: Option<String>,
        expires_at: Option<u64>,
    ) -> Self {
        ProgressEvent::SignedIn {
            issuer,
            client_id,
            scope,
            expires_at: expires_at.map(millis),
        }
    }

    /// A refresh succeeded; `expires_at` in seconds since the epoch.
    pub fn refreshed(expires_at: Option<u64>) -> Self {
        ProgressEvent::Refresh {
            ok: true,
            expires_at: expires_at.map(millis),
            code: None,
        }
    }

    /// A refresh failed with the error `code`.
    pub fn refresh_failed(code: &'static str) -> Self {
        ProgressEvent::Refresh {
            ok: false,
            expires_at: None,
            code: Some(code),
        }
    }
}

fn millis(secs: u64) -> u64 {
    secs.saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;
    use serde_json::json;

    #[test]
    fn events_serialize_to_the_shape_the_js_hosts_document() {
        let url = || "https://as.example/x".to_owned();
        let table = [
            (
                ProgressEvent::answered(Purpose::Probe, Method::Post.as_str(), url(), 401),
                json!({ "step": "probe", "method": "POST", "url": "https://as.example/x", "status": 401 }),
            ),
            (
                ProgressEvent::answered(
                    Purpose::ResourceMetadata,
                    Method::Get.as_str(),
                    url(),
                    200,
                ),
                json!({ "step": "discovery", "method": "GET", "url": "https://as.example/x", "status": 200 }),
            ),
            (
                ProgressEvent::answered(
                    Purpose::AuthorizationServerMetadata,
                    Method::Get.as_str(),
                    url(),
                    404,
                ),
                json!({ "step": "discovery", "method": "GET", "url": "https://as.example/x", "status": 404 }),
            ),
            (
                ProgressEvent::answered(Purpose::Registration, Method::Post.as_str(), url(), 201),
                json!({ "step": "registration", "method": "POST", "url": "https://as.example/x", "status": 201 }),
            ),
            (
                ProgressEvent::answered(Purpose::Token, Method::Post.as_str(), url(), 200),
                json!({ "step": "token", "method": "POST", "url": "https://as.example/x", "status": 200 }),
            ),
            (
                ProgressEvent::answered(Purpose::Revocation, Method::Post.as_str(), url(), 200),
                json!({ "step": "revocation", "method": "POST", "url": "https://as.example/x", "status": 200 }),
            ),
            (
                ProgressEvent::Authorize { url: url() },
                json!({ "step": "authorize", "url": "https://as.example/x" }),
            ),
            (
                ProgressEvent::callback_accepted(),
                json!({ "step": "callback", "accepted": true }),
            ),
            (
                ProgressEvent::callback_ignored("wrong state".into()),
                json!({ "step": "callback", "accepted": false, "reason": "wrong state" }),
            ),
            (
                ProgressEvent::signed_in(
                    "https://as.example".into(),
                    "c1".into(),
                    Some("mcp".into()),
                    Some(1_700_000_000),
                ),
                json!({ "step": "signed_in", "issuer": "https://as.example", "clientId": "c1",
                        "scope": "mcp", "expiresAt": 1_700_000_000_000u64 }),
            ),
            (
                ProgressEvent::signed_in("https://as.example".into(), "c1".into(), None, None),
                json!({ "step": "signed_in", "issuer": "https://as.example", "clientId": "c1" }),
            ),
            (
                ProgressEvent::refreshed(Some(5)),
                json!({ "step": "refresh", "ok": true, "expiresAt": 5000 }),
            ),
            (
                ProgressEvent::refresh_failed("invalid_grant"),
                json!({ "step": "refresh", "ok": false, "code": "invalid_grant" }),
            ),
            (
                ProgressEvent::StoreMovedAside {
                    path: "/home/u/tokens.json".into(),
                    moved_to: "/home/u/tokens.json.broken-20261202T051500Z".into(),
                    reason: "expected value at line 1 column 1".into(),
                },
                json!({ "step": "store_moved_aside", "path": "/home/u/tokens.json",
                        "movedTo": "/home/u/tokens.json.broken-20261202T051500Z",
                        "reason": "expected value at line 1 column 1" }),
            ),
        ];
        for (event, want) in table {
            assert_eq!(serde_json::to_value(&event).unwrap(), want, "{event:?}");
        }
    }
}

//! Clients identified by a URL: Client ID Metadata Documents
//! ([draft-ietf-oauth-client-id-metadata-document](https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/)).
//! The `client_id` is an https URL; the host fetches it (GET, no redirects, `200`
//! only, at most [`MAX_CLIENT_METADATA_BYTES`], §4) and core decides whether the
//! document describes a usable [`Client`]: its `client_id` equals the URL exactly,
//! its `redirect_uris` are registrable, and it claims no shared secret (a document
//! is public, so only `none` is accepted, §4.1).
//!
//! Fetching a URL a stranger chose is a server-side request forgery risk
//! (§8.6): the host must refuse private, link-local and loopback addresses in
//! production. Plain-http loopback ids are accepted only when the server enables
//! them, for tests.

use super::client::Client;
use super::redirect::{check_registrable, RedirectPolicy};
use super::scope::ScopePolicy;
use crate::http::{BodyError, HttpResponse};
use crate::registration::is_client_id_metadata_url;
use serde_json::Value;
use url::{Host, Url};

/// The largest document read: the draft's recommended cap (§8.7).
pub const MAX_CLIENT_METADATA_BYTES: usize = 5 * 1024;

/// Why a client metadata document does not yield a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientMetadataError {
    /// The `client_id` is not a URL this server fetches.
    #[error("client_id is not a client metadata document URL")]
    NotAUrl,
    /// The document was not served with `200`.
    #[error("the client metadata document answered {0}, not 200")]
    Status(u16),
    /// The document exceeds [`MAX_CLIENT_METADATA_BYTES`].
    #[error("the client metadata document exceeds {MAX_CLIENT_METADATA_BYTES} bytes")]
    TooLarge,
    /// Not a JSON object.
    #[error("the client metadata document is unreadable: {0}")]
    Body(#[from] BodyError),
    /// A field is missing, malformed, or not allowed.
    #[error("the client metadata document is invalid: {0}")]
    Invalid(String),
}

/// Whether `client_id` names a client metadata document this server fetches: an
/// https URL with a path (draft §3), or with `allow_loopback_http`, the same
/// shape on `http://127.0.0.1`, `http://[::1]` or `http://localhost`.
pub fn is_metadata_client_id(client_id: &str, allow_loopback_http: bool) -> bool {
    if is_client_id_metadata_url(client_id) {
        return true;
    }
    if !allow_loopback_http {
        return false;
    }
    let Some(rest) = client_id.strip_prefix("http://") else {
        return false;
    };
    let loopback = Url::parse(client_id).is_ok_and(|url| match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name == "localhost",
        None => false,
    });
    loopback && is_client_id_metadata_url(&format!("https://{rest}"))
}

/// The client a fetched document describes. Its scopes are the server's
/// `scope_policy`, narrowed to the document's `scope` when it names one.
pub fn client_from_metadata_document(
    client_id: &str,
    response: &HttpResponse,
    scope_policy: &ScopePolicy,
    allow_loopback_http: bool,
) -> Result<Client, ClientMetadataError> {
    if !is_metadata_client_id(client_id, allow_loopback_http) {
        return Err(ClientMetadataError::NotAUrl);
    }
    if response.status != 200 {
        return Err(ClientMetadataError::Status(response.status));
    }
    if response.body.len() > MAX_CLIENT_METADATA_BYTES {
        return Err(ClientMetadataError::TooLarge);
    }
    let doc = response.json_object()?;
    let invalid = |what: &str| ClientMetadataError::Invalid(what.to_owned());
    if doc.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(invalid("client_id must equal the document's URL"));
    }
    if doc.contains_key("client_secret") || doc.contains_key("client_secret_expires_at") {
        return Err(invalid(
            "a client metadata document must not carry a client_secret",
        ));
    }
    match doc.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => {}
        Some(Value::String(m)) if m == "none" => {}
        Some(_) => {
            return Err(invalid(
                "token_endpoint_auth_method must be none (this server accepts only public clients from metadata documents)",
            ))
        }
    }
    let redirect_uris: Vec<String> = match doc.get("redirect_uris") {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid("redirect_uris must hold only strings"))?,
        _ => return Err(invalid("redirect_uris must be a non-empty array")),
    };
    for uri in &redirect_uris {
        check_registrable(uri)
            .map_err(|e| ClientMetadataError::Invalid(format!("redirect URI {uri:?}: {e}")))?;
    }
    let mut scope = scope_policy.clone();
    match doc.get("scope") {
        None | Some(Value::Null) => {}
        Some(Value::String(listed)) => {
            let listed: Vec<String> = listed
                .split(' ')
                .filter(|s| !s.is_empty() && scope.allows_token(s))
                .map(str::to_owned)
                .collect();
            scope.default.retain(|s| listed.contains(s));
            scope.allowed = Some(listed);
        }
        Some(_) => return Err(invalid("scope must be a string")),
    }
    Ok(Client::public(
        client_id,
        RedirectPolicy::registered(redirect_uris),
        scope,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "https://app.example.com/oauth/client.json";

    fn response(doc: Value) -> HttpResponse {
        HttpResponse::json_body(200, &doc)
    }

    fn doc() -> Value {
        json!({
            "client_id": ID,
            "client_name": "Example",
            "redirect_uris": ["http://127.0.0.1/callback", "https://app.example.com/cb"],
            "token_endpoint_auth_method": "none",
        })
    }

    fn server_scopes() -> ScopePolicy {
        ScopePolicy::allow(["mcp:read", "mcp:write"], ["mcp:read"])
    }

    #[test]
    fn a_valid_document_becomes_a_public_client() {
        let client =
            client_from_metadata_document(ID, &response(doc()), &server_scopes(), false).unwrap();
        assert_eq!(client.client_id, ID);
        assert_eq!(client.validate(), Ok(()));
        assert!(client
            .redirect
            .check("http://127.0.0.1:4567/callback")
            .is_ok());
        assert!(client
            .redirect
            .check("http://127.0.0.1:4567/other")
            .is_err());
        assert!(client.redirect.check("https://app.example.com/cb").is_ok());
        assert_eq!(client.scope, server_scopes());
    }

    #[test]
    fn the_documents_scope_narrows_the_servers() {
        let mut narrow = doc();
        narrow["scope"] = json!("mcp:write other");
        let client =
            client_from_metadata_document(ID, &response(narrow), &server_scopes(), false).unwrap();
        assert_eq!(client.scope.allowed, Some(vec!["mcp:write".to_owned()]));
        assert!(client.scope.default.is_empty());
    }

    #[test]
    fn invalid_documents_table() {
        let with = |field: &str, value: Value| {
            let mut d = doc();
            d[field] = value;
            response(d)
        };
        let without_redirects = {
            let mut d = doc();
            d.as_object_mut().unwrap().remove("redirect_uris");
            response(d)
        };
        let cases = [
            (
                with("client_id", json!("https://app.example.com/other.json")),
                "Invalid",
            ),
            (with("client_secret", json!("s")), "Invalid"),
            (with("client_secret_expires_at", json!(0)), "Invalid"),
            (
                with("token_endpoint_auth_method", json!("client_secret_basic")),
                "Invalid",
            ),
            (with("redirect_uris", json!([])), "Invalid"),
            (
                with("redirect_uris", json!(["http://app.example.com/cb"])),
                "Invalid",
            ),
            (with("redirect_uris", json!([1])), "Invalid"),
            (with("scope", json!(["a"])), "Invalid"),
            (without_redirects, "Invalid"),
            (HttpResponse::json_body(404, &doc()), "Status"),
            (
                HttpResponse::new(200, vec![("Content-Type".into(), "text/html".into())], "{}"),
                "Body",
            ),
            (
                HttpResponse::json_body(200, &json!({ "client_id": ID, "pad": "x".repeat(6000) })),
                "TooLarge",
            ),
        ];
        for (response, kind) in cases {
            let error =
                client_from_metadata_document(ID, &response, &server_scopes(), false).unwrap_err();
            assert!(format!("{error:?}").starts_with(kind), "{kind}: {error:?}");
        }
    }

    #[test]
    fn which_client_ids_are_metadata_urls() {
        // (client_id, without loopback http, with it)
        let table = [
            (ID, true, true),
            ("https://app.example.com/", false, false),
            ("mcp-agent", false, false),
            ("http://app.example.com/client.json", false, false),
            ("http://127.0.0.1:5000/client.json", false, true),
            ("http://localhost:5000/client.json", false, true),
            ("http://127.0.0.1:5000/", false, false),
            ("http://127.0.0.1:5000/a/../client.json", false, false),
        ];
        for (id, strict, loose) in table {
            assert_eq!(is_metadata_client_id(id, false), strict, "{id}");
            assert_eq!(is_metadata_client_id(id, true), loose, "{id}");
        }
        let error =
            client_from_metadata_document("mcp-agent", &response(doc()), &server_scopes(), true)
                .unwrap_err();
        assert_eq!(error, ClientMetadataError::NotAUrl);
    }
}

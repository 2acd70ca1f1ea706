//! The authorization server's metadata document
//! ([RFC 8414 §2](https://www.rfc-editor.org/rfc/rfc8414#section-2)), built from
//! the server's configuration so that what it advertises is what it enforces:
//! S256 only, `code` only, the client authentication methods it verifies, RFC 9207
//! `iss`, and Client ID Metadata Document support. The protected resource's
//! document (RFC 9728) is [`ProtectedResource::metadata`](super::ProtectedResource::metadata).

use super::authorization_server::ServerConfig;
use serde_json::{json, Value};

/// The RFC 8414 document for `config`. A host serves it at
/// `/.well-known/oauth-authorization-server` with the issuer's path appended
/// (RFC 8414 §3.1), and may add fields of its own before sending it.
pub fn authorization_server_metadata(config: &ServerConfig) -> Value {
    let mut grant_types = vec!["authorization_code"];
    if config.issue_refresh_tokens {
        grant_types.push("refresh_token");
    }
    let mut doc = json!({
        "issuer": config.issuer,
        "authorization_endpoint": config.authorization_endpoint,
        "token_endpoint": config.token_endpoint,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grant_types,
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": config
            .auth_methods
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>(),
        "authorization_response_iss_parameter_supported": config.iss_parameter,
        "client_id_metadata_document_supported": config.client_id_metadata_documents,
    });
    if !config.scopes_supported.is_empty() {
        doc["scopes_supported"] = json!(config.scopes_supported);
    }
    if let Some(registration) = &config.registration_endpoint {
        doc["registration_endpoint"] = json!(registration);
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discovery::AuthorizationServerMetadata;

    #[test]
    fn the_document_advertises_what_the_server_enforces_and_core_reads_it() {
        let mut config = ServerConfig::new(
            "https://as.example/t1",
            "https://as.example/t1/authorize",
            "https://as.example/t1/token",
        );
        config.scopes_supported = vec!["mcp".into()];
        config.client_id_metadata_documents = true;
        let doc = authorization_server_metadata(&config);
        assert_eq!(doc["issuer"], "https://as.example/t1");
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            doc["grant_types_supported"],
            json!(["authorization_code", "refresh_token"])
        );
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            json!(["none", "client_secret_basic", "client_secret_post"])
        );
        assert_eq!(doc["client_id_metadata_document_supported"], json!(true));
        assert_eq!(
            doc["authorization_response_iss_parameter_supported"],
            json!(true)
        );
        assert!(doc.get("registration_endpoint").is_none());
        let parsed: AuthorizationServerMetadata = serde_json::from_value(doc).unwrap();
        assert!(parsed.client_id_metadata_document_supported);

        config.issue_refresh_tokens = false;
        config.registration_endpoint = Some("https://as.example/t1/register".into());
        let doc = authorization_server_metadata(&config);
        assert_eq!(doc["grant_types_supported"], json!(["authorization_code"]));
        assert_eq!(
            doc["registration_endpoint"],
            "https://as.example/t1/register"
        );
    }
}

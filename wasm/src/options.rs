//! The JS option objects of `startDynamic` / `startManual`, and their translation
//! into core's configurations. Field names are camelCase as JS users write them;
//! functions (the storage callbacks) are taken out before this point.

use crate::error::Failure;
use crate::idn::{ascii_url, ascii_url_opt};
use mcp_oauth_core::client_auth::AuthMethod;
use mcp_oauth_core::flow::{DynamicConfig, ManualConfig};
use mcp_oauth_core::registration::PreRegisteredClient;
use mcp_oauth_core::Secret;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// `startDynamic` options.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DynamicOptions {
    server_url: String,
    redirect_uri: String,
    client_name: String,
    #[serde(default)]
    client_metadata_url: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    /// Whether to bind the tokens to a WebCrypto key where the server offers DPoP.
    #[serde(default = "yes")]
    dpop: bool,
    #[serde(default)]
    pre_registered: Vec<PreRegistered>,
    /// The storage callbacks, read separately (functions do not survive JSON).
    #[serde(default)]
    storage: Option<IgnoredAny>,
}

fn yes() -> bool {
    true
}

/// A client registered beforehand with the authorization server `issuer`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PreRegistered {
    issuer: String,
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    auth_method: Option<String>,
}

impl PreRegistered {
    fn into_client(self) -> Result<PreRegisteredClient, Failure> {
        let auth_method = match self.auth_method.as_deref() {
            None => None,
            Some(name) => Some(AuthMethod::from_name(name).ok_or_else(|| {
                Failure::config(format!(
                    "preRegistered authMethod {name:?}: use none, client_secret_basic or client_secret_post"
                ))
            })?),
        };
        Ok(PreRegisteredClient {
            issuer: Some(ascii_url("preRegistered issuer", self.issuer)?),
            client_id: self.client_id,
            client_secret: self
                .client_secret
                .filter(|s| !s.is_empty())
                .map(Secret::new),
            auth_method,
            private_key: None,
        })
    }
}

/// `scopes` as a space-separated string or a list, joined with single spaces.
///
/// Read with a visitor rather than `#[serde(untagged)]`: an untagged enum buffers
/// the value first, and that buffering code (with its error formatting) would
/// cost the browser package about 18 kB.
#[derive(Debug)]
pub(crate) struct Scopes(String);

impl<'de> Deserialize<'de> for Scopes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScopesVisitor;
        impl<'de> serde::de::Visitor<'de> for ScopesVisitor {
            type Value = Scopes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a space-separated string or a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, joined: &str) -> Result<Scopes, E> {
                Ok(Scopes(
                    joined.split_whitespace().collect::<Vec<_>>().join(" "),
                ))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut list: A,
            ) -> Result<Scopes, A::Error> {
                let mut scopes = Vec::new();
                while let Some(scope) = list.next_element::<String>()? {
                    scopes.push(scope);
                }
                Ok(Scopes(scopes.join(" ")))
            }
        }
        deserializer.deserialize_any(ScopesVisitor)
    }
}

/// `startManual` options.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ManualOptions {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    authorization_url: String,
    token_url: String,
    #[serde(default)]
    scopes: Option<Scopes>,
    redirect_uri: String,
    #[serde(default)]
    server_url: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    /// The storage callbacks, read separately (functions do not survive JSON).
    #[serde(default)]
    storage: Option<IgnoredAny>,
}

/// Reads options from their JSON form (the object minus its functions).
pub(crate) fn parse<T: for<'de> Deserialize<'de>>(json: &str, what: &str) -> Result<T, Failure> {
    serde_json::from_slice(json.as_bytes()).map_err(|e| Failure::config(format!("{what}: {e}")))
}

impl DynamicOptions {
    /// Whether the sign-in should offer a DPoP key.
    pub(crate) fn wants_dpop(&self) -> bool {
        self.dpop
    }

    pub(crate) fn into_config(self) -> Result<DynamicConfig, Failure> {
        let _ = self.storage;
        let mut config = DynamicConfig::new(
            ascii_url("serverUrl", self.server_url)?,
            ascii_url("redirectUri", self.redirect_uri)?,
            self.client_name,
        );
        config.client_metadata_url = ascii_url_opt(
            "clientMetadataUrl",
            self.client_metadata_url.filter(|s| !s.is_empty()),
        )?;
        config.scope = self.scope.filter(|s| !s.trim().is_empty());
        config.clients = self
            .pre_registered
            .into_iter()
            .map(PreRegistered::into_client)
            .collect::<Result<_, _>>()?;
        Ok(config)
    }
}

impl ManualOptions {
    pub(crate) fn into_config(self) -> Result<ManualConfig, Failure> {
        let _ = self.storage;
        let scopes = self.scopes.map(|s| s.0).filter(|s| !s.is_empty());
        Ok(ManualConfig {
            client_id: self.client_id,
            client_secret: self
                .client_secret
                .filter(|s| !s.is_empty())
                .map(Secret::new),
            authorization_endpoint: ascii_url("authorizationUrl", self.authorization_url)?,
            token_endpoint: ascii_url("tokenUrl", self.token_url)?,
            scopes,
            redirect_uri: ascii_url("redirectUri", self.redirect_uri)?,
            server_url: ascii_url_opt("serverUrl", self.server_url.filter(|s| !s.is_empty()))?,
            auth_method: None,
            issuer: ascii_url_opt("issuer", self.issuer.filter(|s| !s.is_empty()))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_scopes_may_be_a_list_or_a_string() {
        for scopes in [r#"["mcp:read","mcp:write"]"#, r#"" mcp:read   mcp:write ""#] {
            let json = format!(
                r#"{{"clientId":"c","authorizationUrl":"https://as/a","tokenUrl":"https://as/t",
                    "redirectUri":"https://app/cb","scopes":{scopes}}}"#
            );
            let config = parse::<ManualOptions>(&json, "options")
                .unwrap()
                .into_config()
                .unwrap();
            assert_eq!(
                config.scopes.as_deref(),
                Some("mcp:read mcp:write"),
                "{scopes}"
            );
        }
    }

    #[test]
    fn scopes_of_another_type_are_a_config_error() {
        let json = r#"{"clientId":"c","authorizationUrl":"https://as/a","tokenUrl":"https://as/t",
            "redirectUri":"https://app/cb","scopes":7}"#;
        let err = parse::<ManualOptions>(json, "options").unwrap_err();
        assert_eq!(err.code, "invalid_config");
        assert!(err.message.contains("space-separated"), "{}", err.message);
    }

    #[test]
    fn empty_optional_strings_count_as_absent() {
        let json = r#"{"clientId":"c","clientSecret":"","authorizationUrl":"https://as/a",
            "tokenUrl":"https://as/t","redirectUri":"https://app/cb","serverUrl":"","issuer":""}"#;
        let config = parse::<ManualOptions>(json, "options")
            .unwrap()
            .into_config()
            .unwrap();
        assert!(config.client_secret.is_none() && config.server_url.is_none());
        assert!(config.issuer.is_none() && config.scopes.is_none());
    }

    #[test]
    fn pre_registered_clients_are_bound_to_their_issuer() {
        let json = r#"{"serverUrl":"https://m/mcp","redirectUri":"https://app/cb","clientName":"n",
            "preRegistered":[{"issuer":"https://as","clientId":"c","clientSecret":"s","authMethod":"client_secret_post"}]}"#;
        let config = parse::<DynamicOptions>(json, "options")
            .unwrap()
            .into_config()
            .unwrap();
        assert_eq!(config.clients.len(), 1);
        assert_eq!(config.clients[0].issuer.as_deref(), Some("https://as"));
        assert_eq!(
            config.clients[0].auth_method,
            Some(AuthMethod::ClientSecretPost)
        );
        let unbound = r#"{"serverUrl":"s","redirectUri":"r","clientName":"n","preRegistered":[{"clientId":"c"}]}"#;
        let error = parse::<DynamicOptions>(unbound, "options").unwrap_err();
        assert!(error.message.contains("issuer"), "{}", error.message);
        let bad = r#"{"serverUrl":"s","redirectUri":"r","clientName":"n","preRegistered":[{"issuer":"i","clientId":"c","authMethod":"magic"}]}"#;
        let error = parse::<DynamicOptions>(bad, "options")
            .unwrap()
            .into_config()
            .unwrap_err();
        assert_eq!(error.code, "invalid_config");
    }

    #[test]
    fn missing_and_misspelled_options_are_config_errors_naming_the_field() {
        let err = parse::<DynamicOptions>(r#"{"serverUrl":"https://m/mcp"}"#, "startDynamic")
            .unwrap_err();
        assert_eq!(err.code, "invalid_config");
        assert!(err.message.contains("redirectUri"), "{}", err.message);
        let err = parse::<DynamicOptions>(
            r#"{"serverUrl":"s","redirectUri":"r","clientName":"n","redirectUrl":"x"}"#,
            "startDynamic",
        )
        .unwrap_err();
        assert!(err.message.contains("redirectUrl"), "{}", err.message);
    }
}

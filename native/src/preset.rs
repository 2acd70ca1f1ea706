//! What the user chose to connect to: a server that supports discovery and
//! registration ("dynamic"), or an OAuth app they registered by hand ("manual").

use mcp_oauth_core::client_auth::AuthMethod;
use mcp_oauth_core::flow::Probe;
use mcp_oauth_core::Secret;
use serde::{Deserialize, Serialize};

/// How to sign in to one server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Preset {
    /// Discovery (RFC 9728, RFC 8414) and registration (CIMD or RFC 7591).
    Dynamic(DynamicPreset),
    /// A client the user registered with the authorization server.
    Manual(ManualPreset),
}

/// A server that tells clients how to sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicPreset {
    /// The MCP server URL.
    pub server_url: String,
    /// The scope to request instead of the one discovery would choose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// How to provoke the server's 401 (JSON-RPC `initialize` by default).
    #[serde(default)]
    pub probe: Probe,
    /// The name tokens are stored under; defaults to the server URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
}

/// An OAuth app the user registered themselves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManualPreset {
    /// The app's client id.
    pub client_id: String,
    /// The app's secret, for confidential clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// The authorization endpoint.
    pub authorization_url: String,
    /// The token endpoint.
    pub token_url: String,
    /// Space-separated scopes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    /// The server the tokens are for (sent as RFC 8707 `resource`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_url: Option<String>,
    /// The token-endpoint authentication method, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<AuthMethod>,
    /// The authorization server's issuer, if known (enables metadata lookup and `iss` checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The name tokens are stored under; defaults to the server URL, else the token URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_id: Option<String>,
}

impl Preset {
    /// A dynamic preset for `server_url` with defaults.
    pub fn dynamic(server_url: impl Into<String>) -> Self {
        Preset::Dynamic(DynamicPreset {
            server_url: server_url.into(),
            scope: None,
            probe: Probe::default(),
            connection_id: None,
        })
    }

    /// A manual preset with the fields every manual registration has.
    pub fn manual(
        client_id: impl Into<String>,
        client_secret: Option<Secret>,
        authorization_url: impl Into<String>,
        token_url: impl Into<String>,
    ) -> ManualPreset {
        ManualPreset {
            client_id: client_id.into(),
            client_secret,
            authorization_url: authorization_url.into(),
            token_url: token_url.into(),
            scopes: None,
            server_url: None,
            auth_method: None,
            issuer: None,
            connection_id: None,
        }
    }

    /// The key the connection's tokens are stored under.
    pub fn connection_id(&self) -> &str {
        match self {
            Preset::Dynamic(p) => p.connection_id.as_deref().unwrap_or(&p.server_url),
            Preset::Manual(p) => p
                .connection_id
                .as_deref()
                .or(p.server_url.as_deref())
                .unwrap_or(&p.token_url),
        }
    }

    /// The same preset stored under `connection_id` (a web backend names one
    /// connection per user and server).
    pub fn with_connection_id(mut self, connection_id: impl Into<String>) -> Self {
        let id = Some(connection_id.into());
        match &mut self {
            Preset::Dynamic(p) => p.connection_id = id,
            Preset::Manual(p) => p.connection_id = id,
        }
        self
    }

    /// Whether the preset names its connection (rather than defaulting to a URL).
    pub fn has_connection_id(&self) -> bool {
        match self {
            Preset::Dynamic(p) => p.connection_id.is_some(),
            Preset::Manual(p) => p.connection_id.is_some(),
        }
    }

    /// The same preset asking for `scope` (used by step-up authorization).
    pub(crate) fn with_scope(&self, scope: Option<String>) -> Preset {
        let mut preset = self.clone();
        match &mut preset {
            Preset::Dynamic(p) => p.scope = scope,
            Preset::Manual(p) => p.scopes = scope,
        }
        preset
    }
}

impl From<ManualPreset> for Preset {
    fn from(preset: ManualPreset) -> Self {
        Preset::Manual(preset)
    }
}

impl From<DynamicPreset> for Preset {
    fn from(preset: DynamicPreset) -> Self {
        Preset::Dynamic(preset)
    }
}

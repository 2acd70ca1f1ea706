//! `inspect(url)`: how a server signs clients in, before sign-in, for a connect
//! form. Core's [`Inspection`] decides; this module only runs its requests with
//! the browser's `fetch` and converts the answer.

use crate::error::Failure;
use crate::fetch;
use js_sys::Promise;
use mcp_oauth_core::inspect::{InspectAction, Inspection, RegistrationAvailability, ServerInfo};
use serde::Serialize;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen_futures::future_to_promise;

/// [`ServerInfo`] with the field names of the JavaScript packages.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ServerInfoJs {
    issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<String>,
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    client_secret_required: bool,
    registration: RegistrationAvailability,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_scopes_supported: Option<Vec<String>>,
    client_id_metadata_document_supported: bool,
    revocation_supported: bool,
}

impl From<ServerInfo> for ServerInfoJs {
    fn from(info: ServerInfo) -> Self {
        Self {
            issuer: info.issuer,
            resource: info.resource,
            authorization_endpoint: info.authorization_endpoint.into(),
            token_endpoint: info.token_endpoint.into(),
            token_endpoint_auth_methods_supported: info.token_endpoint_auth_methods_supported,
            client_secret_required: info.client_secret_required,
            registration: info.registration,
            scopes_supported: info.scopes_supported,
            resource_scopes_supported: info.resource_scopes_supported,
            client_id_metadata_document_supported: info.client_id_metadata_document_supported,
            revocation_supported: info.revocation_supported,
        }
    }
}

/// How the server at `url` (an MCP server URL, an issuer or an authorization
/// endpoint) signs clients in: `{ issuer, tokenEndpointAuthMethodsSupported,
/// clientSecretRequired, registration: "open" | "closed" | "absent" | "unknown",
/// scopesSupported, ... }`. Rejects with `code: "metadata_not_found"` when the URL
/// leads to no OAuth metadata.
#[wasm_bindgen(unchecked_return_type = "Promise<ServerInfo>")]
pub fn inspect(url: String) -> Promise {
    future_to_promise(async move {
        let mut inspection = Inspection::new(&url).map_err(Failure::from)?;
        loop {
            match inspection.next_action() {
                InspectAction::Send(request) => {
                    let response = fetch::execute(&request).await?;
                    // A failure is the inspection's next action.
                    let _ = inspection.on_response(&response);
                }
                InspectAction::Done(info) => {
                    return Ok(crate::connection::to_json_value(&ServerInfoJs::from(
                        *info,
                    ))?)
                }
                InspectAction::Failed(error) => return Err(Failure::from(error).into()),
            }
        }
    })
}

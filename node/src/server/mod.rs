//! The `server` export: the authorization-server toolkit of
//! `mcp_oauth::core::server` for Node apps that add an MCP client path to their
//! own OAuth server. It makes the decisions; the app's routes (Express or any
//! other) parse HTTP, keep clients and records, and send what it returns.
//!
//! - [`AuthorizationServer`](authorization_server::AuthorizationServer): the
//!   authorization endpoint's checks, codes, the token endpoint's checks,
//!   refresh rotation, the RFC 8414 document.
//! - [`ProtectedResource`](protected_resource::ProtectedResource): the RFC 9728
//!   document and bearer checks for the MCP endpoint.
//! - [`types`]: the JavaScript shapes of core's values.
//! - [`error`]: refusals as `Error`s with the OAuth `code`, `redirectable` and
//!   the response to send.

pub mod authorization_server;
pub mod error;
pub mod protected_resource;
pub mod types;

//! `mcp-oauth-node`: the Node and Electron face of [`mcp_oauth`].
//!
//! A thin N-API layer: it converts options in, runs `mcp_oauth` on the addon's
//! tokio runtime, and converts results and errors out. It makes no OAuth
//! decision of its own; every rule lives in `mcp-oauth-core`.
//!
//! - [`client::OAuthClient`]: signs users in (`connect`) and restores stored
//!   connections.
//! - [`connection::Connection`]: a signed-in server: `accessToken()`, `status()`,
//!   `disconnect()`, and `send()`, on which the JavaScript `fetch` wrapper
//!   (`index.js`) is built.
//! - [`store::JsStore`] and [`opener::JsOpener`]: JavaScript callbacks (a token
//!   store, `shell.openExternal`) called through thread-safe functions.
//! - [`progress`]: `onProgress`, the sign-in and refresh steps as JavaScript events.
//! - [`web`]: web backends: `begin` / `complete` on the backend's own callback
//!   URL, `callbackPage()` for the popup, `generateSealKey()`.
//! - [`error`]: every rejection is a JavaScript `Error` with a stable `code`.
//! - [`server`]: the authorization-server toolkit (the `server` export), for
//!   apps that run their own OAuth server.

pub mod cancel;
pub mod client;
pub mod connection;
pub mod error;
pub mod opener;
pub mod progress;
pub mod server;
pub mod store;
pub mod web;

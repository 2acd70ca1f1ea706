//! `mcp-oauth`: sign in to MCP (and REST) servers with OAuth from Rust.
//!
//! This crate is the I/O half of the SDK: it runs the sans-IO flows of
//! [`mcp_oauth_core`] with reqwest, a loopback callback listener and a browser
//! opener, keeps tokens in a [`store::TokenStore`], and hands out
//! [`Connection`]s whose `access_token()` is always valid.
//!
//! ```no_run
//! # async fn run() -> Result<(), mcp_oauth::Error> {
//! use mcp_oauth::{OAuthClient, Preset};
//!
//! let client = OAuthClient::builder("My App").file_store("tokens.json").build()?;
//! let connection = client.connect(Preset::dynamic("https://mcp.example.com/mcp")).await?;
//! let token = connection.access_token().await?;
//! # let _ = token; Ok(()) }
//! ```

pub mod client;
pub mod connection;
pub mod error;
pub mod executor;
pub mod listener;
pub mod opener;
pub mod preset;
pub mod progress;
pub mod store;
pub mod web;

pub use client::{OAuthClient, OAuthClientBuilder, Revocation};
pub use connection::Connection;
pub use error::{Error, StoreError, TransportError};
pub use mcp_oauth_core as core;
pub use preset::{DynamicPreset, ManualPreset, Preset};
pub use progress::Progress;
pub use web::{PendingMode, StartedSignIn};

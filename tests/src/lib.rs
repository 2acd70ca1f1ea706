//! Cross-crate test support for `mcp-oauth`: a local OAuth 2.1 authorization server
//! and MCP resource server ([`TestServer`]) that the end-to-end tests, the CLI's
//! `demo` and manual experiments run against, with knobs ([`TestServerConfig`]) for
//! the server behaviours a client must cope with, and a request log to assert on.
//!
//! The binary `mcp-oauth-test-server` runs the same server from the command line.

pub mod server;

pub use server::{LoggedRequest, TestServer, TestServerConfig};

//! `mcp-oauth-core`: the OAuth 2.1 client engine behind `mcp-oauth`, as pure
//! functions and state machines.
//!
//! It performs no I/O. HTTP requests come out as [`http::HttpRequest`] values and
//! responses go back in as [`http::HttpResponse`]; time is passed in as `now`
//! (seconds since the Unix epoch); randomness comes from an injectable
//! [`entropy::Entropy`]. That is what lets the same engine run natively under tokio,
//! inside Node through N-API, and in browsers as WebAssembly, and what lets its
//! tests replay recorded server responses deterministically.
//!
//! Start with [`flow::DynamicFlow`] (discovery + registration, for MCP servers) or
//! [`flow::ManualFlow`] (user-supplied client and endpoints), then keep the
//! resulting [`session::Session`] to refresh tokens.

#[cfg(feature = "assertion-grants")]
pub mod assertion;
pub mod authorize;
pub mod client_auth;
pub mod discovery;
pub mod dpop;
pub mod entropy;
pub mod error;
pub mod flow;
pub mod http;
pub mod inspect;
pub mod loopback;
pub mod network;
pub mod pending;
pub mod pkce;
pub mod progress;
pub mod registration;
pub mod relay;
pub mod resource;
pub mod revocation;
pub mod scope;
pub mod seal;
pub mod secret;
pub mod server;
pub mod session;
pub mod text;
pub mod token;
pub mod www_authenticate;

pub use error::Error;
pub use secret::Secret;

//! The shipped browser package: `mcp-oauth-wasm`'s exports, linked into a
//! `cdylib` under this workspace's lock file (see `Cargo.toml`).

pub use mcp_oauth_wasm::*;

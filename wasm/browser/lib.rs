//! The shipped browser package: `mcp-oauth-wasm`'s exports, linked into a
//! `cdylib` under this workspace's lock file (see `Cargo.toml`).

pub use mcp_oauth_wasm::*;

/// The allocator: talc rather than the target's default dlmalloc, which is more
/// than twice its size in the shipped `.wasm` (-2.3 kB gzipped). Declared here,
/// in the shipped crate, not in `mcp-oauth-wasm` (whose tests keep the default).
// SAFETY: `new_global` requires single-threaded WebAssembly, which this target
// (`wasm32-unknown-unknown` without the atomics feature) is.
#[global_allocator]
static ALLOCATOR: talc::TalckWasm = unsafe { talc::TalckWasm::new_global() };

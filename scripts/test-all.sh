#!/usr/bin/env bash
# Runs every check and test of the workspace, installing what it needs first.
# Idempotent: safe to run again on a machine that already has everything.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

step "toolchain"
installed_components=$(rustup component list --installed 2>/dev/null || true)
for component in rustfmt clippy; do
  grep -q "^$component" <<<"$installed_components" || rustup component add "$component"
done
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
# The PostgreSQL store and its tests sit behind the `postgres` features.
cargo clippy -p mcp-oauth -p mcp-oauth-tests --features mcp-oauth/postgres,mcp-oauth-tests/postgres \
  --all-targets --locked -- -D warnings

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet --features mcp-oauth/postgres

step "core builds for wasm32-unknown-unknown"
cargo build -p mcp-oauth-core --target wasm32-unknown-unknown --locked

step "core without default features (as in the browser package: no private-key-jwt)"
cargo clippy -p mcp-oauth-core --no-default-features --all-targets --locked -- -D warnings
cargo test -p mcp-oauth-core --no-default-features --lib --locked --quiet

step "core stays sans-IO"
forbidden=$(cargo tree -p mcp-oauth-core -e normal --prefix none --locked | grep -E '^(tokio|reqwest|hyper|mio) ' || true)
if [ -n "$forbidden" ]; then echo "core depends on I/O crates: $forbidden" >&2; exit 1; fi
if grep -rnE 'SystemTime::now|Instant::now|(Tcp|Udp)(Stream|Listener|Socket)|std::fs::|thread::sleep' core/src; then echo "core must not read clocks or touch sockets" >&2; exit 1; fi

step "tests"
cargo test --workspace --locked

step "Node / Electron addon"
bash scripts/test-node.sh

step "web backends: PostgreSQL store, Express backend in headless Chromium, two instances"
bash scripts/test-web-backend.sh

step "interop: CLI and Node addon against oidc-provider"
bash tests/interop/run.sh

step "browser package (WASM) in headless Chromium"
bash scripts/test-wasm.sh

step "hostile suite (tests/hostile: servers, pages and local processes that attack)"
bash scripts/test-hostile.sh

step "official MCP conformance suite"
bash tests/conformance/run.sh

printf '\nall checks passed in %ss\n' "$((SECONDS - started))"

#!/usr/bin/env bash
# Runs the benchmarks. Each figure has a peer measured in the same run; compare
# ratios, not times.
#   - the native client's criterion benchmarks against the local test server;
#   - Node: `await connection.accessToken()` through N-API beside the native
#     call (node/bench/access-token.mjs);
#   - Node: one dynamic sign-in + one tool call through the addon beside the MCP
#     TypeScript SDK's own auth() + transport, with the requests each sent
#     (node/bench/sign-in.mjs).
# Arguments go to `cargo bench`. SKIP_CRITERION=1 runs only the Node benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

if [ "${SKIP_CRITERION:-0}" != 1 ]; then
  cargo bench -p mcp-oauth-tests --bench client "$@"
fi

printf '\n==> Node addon (release build, as scripts/test-node.sh makes it)\n'
cargo build --release --locked -p mcp-oauth-tests --bin mcp-oauth-test-server
(
  cd node
  if ! cmp -s package-lock.json node_modules/.installed-lock.json; then
    npm ci --no-audit --no-fund
    cp package-lock.json node_modules/.installed-lock.json
  fi
  npx napi build --platform --release --js binding.js --dts index.d.ts
  printf '\n==> accessToken() through N-API vs native\n'
  node bench/access-token.mjs
  printf '\n==> one sign-in + one tool call: mcp-oauth-node vs the MCP TypeScript SDK\n'
  node bench/sign-in.mjs
)

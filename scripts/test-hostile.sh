#!/usr/bin/env bash
# The hostile suite (issue 10, tests/hostile/): a hostile MCP server and
# authorization server on loopback, hostile pages and local processes, against
# the native client, the Node addon and the browser package. Prints the tally
# "hostile inputs tried / handled with a clear error / problems left".
#
# Expects what scripts/test-node.sh and scripts/test-wasm.sh build (the addon,
# the test server, wasm/pkg); scripts/test-all.sh runs it after them.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
started=$SECONDS
log=$(mktemp)
trap 'rm -f "$log"' EXIT

printf '\n==> hostile: native client (Rust)\n'
# --workspace: the same features as the main test step, so nothing is rebuilt.
cargo test --workspace --locked --test hostile --test hostile_policy 2>&1 | tee -a "$log"
printf '\n==> hostile: Node addon\n'
MCP_OAUTH_TEST_SERVER="$CARGO_TARGET_DIR/release/mcp-oauth-test-server" \
  node --test --test-concurrency=1 --test-timeout=60000 tests/hostile/node.test.mjs 2>&1 | tee -a "$log"
printf '\n==> hostile: browser package in headless Chromium\n'
node --test --test-concurrency=1 --test-timeout=60000 tests/hostile/browser.test.mjs 2>&1 | tee -a "$log"

# Each case is one hostile input handled with a clear error; a failing case is a
# problem left.
passed=$(grep -cE '^(test .* \.\.\. ok|ok [0-9]+ - )' "$log" || true)
failed=$(grep -cE '^(test .* \.\.\. FAILED|not ok [0-9]+ - )' "$log" || true)
printf '\nhostile inputs tried: %s, handled with a clear error: %s, problems left: %s (%ss)\n' \
  "$((passed + failed))" "$passed" "$failed" "$((SECONDS - started))"
[ "$failed" -eq 0 ]

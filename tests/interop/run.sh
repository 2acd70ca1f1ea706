#!/usr/bin/env bash
# Interop suite: the mcp-oauth CLI and Node addon against panva's oidc-provider
# (pinned in package-lock.json), one profile per server process, all on
# 127.0.0.1 with ephemeral ports. Installs its npm packages (npm ci, idempotent),
# builds the CLI (debug) and the addon (release, as scripts/test-node.sh does; a
# no-op when it is up to date), then runs `node --test`.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
started=$SECONDS

(
  cd tests/interop
  if ! cmp -s package-lock.json node_modules/.installed-lock.json; then
    npm ci --no-audit --no-fund
    cp package-lock.json node_modules/.installed-lock.json
  fi
)
cargo build --locked -p mcp-oauth-cli --bin mcp-oauth
(
  cd node
  if ! cmp -s package-lock.json node_modules/.installed-lock.json; then
    npm ci --no-audit --no-fund
    cp package-lock.json node_modules/.installed-lock.json
  fi
  npx napi build --platform --release --js binding.js --dts index.d.ts
)

node --test --test-concurrency=1 --test-timeout=120000 tests/interop/*.test.mjs
printf '\ninterop suite passed in %ss\n' "$((SECONDS - started))"

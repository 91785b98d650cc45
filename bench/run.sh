#!/usr/bin/env bash
# Load and start-up benchmarks against a release `cuspid serve` on SQLite and on PostgreSQL.
# Bounded: every load runs for a fixed time against 127.0.0.1 only, then everything stops.
#
#   bench/run.sh                      # both databases (PostgreSQL at $CUSPID_BENCH_PG_URL)
#   CUSPID_BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres bench/run.sh
#
# Needs: wrk (Debian package), curl, a release build (built here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-32}"
PG_ADMIN="${CUSPID_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PORT=18181
BIN=target/release/cuspid
[ -x "$BIN" ] || cargo build --release
WORK=$(mktemp -d)
trap 'kill "${PID:-0}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

now_ms() { date +%s%3N; }

start() { # $1 = extra args; sets PID and STARTUP_MS
  local t0; t0=$(now_ms)
  # shellcheck disable=SC2086
  RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:$PORT --data-dir "$WORK/data" $1 >"$WORK/serve.log" 2>&1 &
  PID=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz"; do sleep 0.005; done
  STARTUP_MS=$(( $(now_ms) - t0 ))
}

stop() { kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=; }

rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }

load() { # $1 = path, $2 = optional cookie; prints "req/s p99"
  local header=()
  [ -n "${2:-}" ] && header=(-H "Cookie: $2")
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "${header[@]}" "http://127.0.0.1:$PORT$1" >"$WORK/wrk.txt"
  local rps p99
  rps=$(awk '/Requests\/sec/ { print $2 }' "$WORK/wrk.txt")
  p99=$(awk '$1 == "99%" { print $2 }' "$WORK/wrk.txt")
  echo "$rps $p99"
}

run_one() { # $1 = label, $2 = serve args
  rm -rf "$WORK/data"
  set -- "$1" "$2 --demo-password benchmark-demo-password-x"
  start "$2"; stop                      # first start: migrations + demo
  local best=999999
  for _ in 1 2 3 4 5; do start "$2"; [ "$STARTUP_MS" -lt "$best" ] && best=$STARTUP_MS; stop; done
  start "$2"
  sleep 3
  local idle; idle=$(rss_mb)
  read -r h_rps h_p99 < <(load /healthz)
  # /dashboard as the demo admin: the session is checked in the database on every request.
  local cookie
  cookie=$(curl -fs -D - -o /dev/null -H 'content-type: application/json' \
    -d '{"email":"admin@demo.cuspid.test","password":"benchmark-demo-password-x"}' \
    "http://127.0.0.1:$PORT/api/v1/session" | awk -F'[:;] *' 'tolower($1) == "set-cookie" { print $2 }')
  read -r d_rps d_p99 < <(load /dashboard "$cookie")
  local loaded; loaded=$(rss_mb)
  stop
  printf '| %s | %s ms | %s MB | %s MB | %s | %s | %s | %s |\n' "$1" "$best" "$idle" "$loaded" "$h_rps" "$h_p99" "$d_rps" "$d_p99"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ { print $2 }') GB; $(date -u +%F); wrk -t2 -c$CONNECTIONS -d$DURATION"
echo
echo '| database | start → first 200 (best of 5) | idle RSS | RSS after load | /healthz req/s | /healthz p99 | /dashboard req/s | /dashboard p99 |'
echo '|---|---|---|---|---|---|---|---|'
run_one SQLite ""
if psql "$PG_ADMIN" -qAtc 'SELECT 1' >/dev/null 2>&1; then
  DB=cuspid_bench_$$
  psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
  PG_URL="${PG_ADMIN%/*}/$DB"
  run_one PostgreSQL "--database-url $PG_URL"
  echo
  echo "generate (dso-slice, 200 clinics) on PostgreSQL:"
  RUST_LOG=warn "$BIN" generate --preset dso-slice --seed 1 --database-url "$PG_URL" | tail -1
  psql "$PG_ADMIN" -qc "DROP DATABASE $DB WITH (FORCE)" >/dev/null
else
  echo "(PostgreSQL not reachable at $PG_ADMIN: skipped)"
fi
echo
echo "generate (dso-slice, 200 clinics) on SQLite:"
RUST_LOG=warn "$BIN" generate --preset dso-slice --seed 1 --data-dir "$WORK/gen" | tail -1

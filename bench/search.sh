#!/usr/bin/env bash
# Patient search at the dso-slice scale (1,000,000 patients, 200 clinics): name search
# (misspelled, prefixes, "family, given", accents dropped) and phone search (numbers typed in
# other formats), each through GET /api/v1/patients?q=… as a signed-in administrator, on
# SQLite and on PostgreSQL. Every search also writes its audit event, as in production.
# Bounded: each load runs for $DURATION against 127.0.0.1 only, then everything stops.
#
#   bench/search.sh                      # both databases
#   DATABASES=sqlite bench/search.sh     # one
#   PATIENTS=100000 bench/search.sh      # a smaller data set
#
# Needs: wrk, curl, sqlite3, psql, python3, a release build (built here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-20s}"
CONNECTIONS="${CONNECTIONS:-8}"
PATIENTS="${PATIENTS:-1000000}"
DATABASES="${DATABASES:-sqlite postgres}"
PG_ADMIN="${CUSPID_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
PORT=18182
PASSWORD=bench-search-secret-42
BIN=target/release/cuspid
[ -x "$BIN" ] || cargo build --release
WORK="${WORK:-$(mktemp -d)}"
trap 'kill "${PID:-0}" 2>/dev/null || true' EXIT

# Query lists from the data itself: 300 patients, each turned into what a front desk types.
make_queries() { # $1 = file of "given|family|phone" lines
  python3 - "$1" "$WORK/names.txt" "$WORK/phones.txt" <<'PY'
import random, sys, unicodedata, urllib.parse
random.seed(7)
rows = [l.rstrip("\n").split("|") for l in open(sys.argv[1], encoding="utf-8") if "|" in l]
def plain(s):
    return "".join(c for c in unicodedata.normalize("NFD", s) if unicodedata.category(c) != "Mn")
def typo(w):
    w = plain(w)
    if len(w) < 5:
        return w
    i = random.randrange(1, len(w) - 2)
    k = random.randrange(3)
    if k == 0:
        return w[:i] + w[i + 1] + w[i] + w[i + 2:]   # swapped letters
    if k == 1:
        return w[:i] + w[i + 1:]                      # a letter dropped
    return w[:i] + w[i] + w[i:]                       # a letter doubled
names, phones = [], []
for given, family, phone in rows:
    shape = random.randrange(5)
    q = [typo(family),                                # "Tremblya"
         f"{given} {typo(family)}",                   # "Marie Tremblya"
         f"{family}, {given[:3]}",                    # "Tremblay, Mar"
         plain(family)[:4],                           # "Trem"
         f"{plain(given)} {plain(family)}"][shape]    # "Helene Cote"
    names.append("/api/v1/patients?limit=20&q=" + urllib.parse.quote(q))
    if phone:
        d = phone[-10:]
        p = random.choice([f"({d[:3]}) {d[3:6]}-{d[6:]}", f"{d[:3]}.{d[3:6]}.{d[6:]}", f"1 {d[:3]} {d[3:6]} {d[6:]}", d])
        phones.append("/api/v1/patients?limit=20&q=" + urllib.parse.quote(p))
open(sys.argv[2], "w").write("\n".join(names) + "\n")
open(sys.argv[3], "w").write("\n".join(phones) + "\n")
PY
}

load() { # $1 = paths file, $2 = cookie; prints "req/s p50 p99"
  PATHS="$1" COOKIE="$2" wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s bench/search.lua \
    "http://127.0.0.1:$PORT/" >"$WORK/wrk.txt"
  if grep -q "Non-2xx" "$WORK/wrk.txt"; then
    echo "errors during the run:" >&2
    cat "$WORK/wrk.txt" >&2
    exit 1
  fi
  awk '/Requests\/sec/ { rps = $2 } $1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 } END { print rps, p50, p99 }' "$WORK/wrk.txt"
}

run_one() { # $1 = label, $2 = db args, $3 = sampler command
  local label=$1 dbargs=$2
  if [ ! -f "$WORK/$label.generated" ]; then
    # shellcheck disable=SC2086
    RUST_LOG=warn "$BIN" generate --preset dso-slice --seed 1 --patients "$PATIENTS" \
      --admin-password "$PASSWORD" $dbargs | tail -2
    touch "$WORK/$label.generated"
  fi
  eval "$3" >"$WORK/sample.txt"
  make_queries "$WORK/sample.txt"
  # shellcheck disable=SC2086
  RUST_LOG=warn "$BIN" serve --listen 127.0.0.1:$PORT --no-demo $dbargs >"$WORK/serve-$label.log" 2>&1 &
  PID=$!
  until curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz"; do sleep 0.05; done
  local cookie
  cookie=$(curl -fs -D - -o /dev/null -H 'content-type: application/json' \
    -d "{\"email\":\"admin@gen-dso-slice-1.cuspid.test\",\"password\":\"$PASSWORD\"}" \
    "http://127.0.0.1:$PORT/api/v1/session" | awk -F'[:;] *' 'tolower($1) == "set-cookie" { print $2 }')
  # Warm the caches the way a day's first searches would.
  PATHS="$WORK/names.txt" COOKIE="$cookie" wrk -t1 -c1 -d3s -s bench/search.lua "http://127.0.0.1:$PORT/" >/dev/null
  read -r n_rps n_p50 n_p99 < <(load "$WORK/names.txt" "$cookie")
  read -r p_rps p_p50 p_p99 < <(load "$WORK/phones.txt" "$cookie")
  kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$PATIENTS" "$n_rps" "$n_p50" "$n_p99" "$p_rps" "$p_p50" "$p_p99"
}

SAMPLE_SQL="SELECT p.given_name || '|' || p.family_name || '|' || COALESCE((SELECT number FROM patient_phones ph WHERE ph.patient_id = p.id ORDER BY position LIMIT 1), '') FROM patients p WHERE p.chart_number % 3331 = 7 LIMIT 300"

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/ { print $2 }') GB; $(date -u +%F); wrk -t2 -c$CONNECTIONS -d$DURATION"
echo
echo '| database | patients | name search req/s | p50 | p99 | phone search req/s | p50 | p99 |'
echo '|---|---|---|---|---|---|---|---|'
for db in $DATABASES; do
  case $db in
    sqlite)
      mkdir -p "$WORK/sqlite"
      run_one SQLite "--data-dir $WORK/sqlite" "sqlite3 '$WORK/sqlite/cuspid.db' \"$SAMPLE_SQL\""
      ;;
    postgres)
      DB=cuspid_search_bench
      if [ ! -f "$WORK/PostgreSQL.generated" ]; then
        psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null
        psql "$PG_ADMIN" -qc "CREATE DATABASE $DB" >/dev/null
      fi
      PG_URL="${PG_ADMIN%/*}/$DB"
      run_one PostgreSQL "--data-dir $WORK/pgdata --database-url $PG_URL" "psql '$PG_URL' -qAtc \"$SAMPLE_SQL\""
      ;;
  esac
done
echo
echo "work directory (generated data kept for re-runs with WORK=…): $WORK"

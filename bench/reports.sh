#!/usr/bin/env bash
# bench/reports.sh [sqlite|postgres|both]: times GET /api/reports/... over a year of a busy
# clinic. Seeds a fresh database with `fila demo seed-history --days $DAYS --per-day $PER_DAY`
# (default 365 days, 300 appointments a weekday), starts `fila serve` on 127.0.0.1, logs in as
# the demo master, asks each report for the whole range once to warm up and then $RUNS times
# (default 5), and prints a Markdown table of the median and slowest answer, in milliseconds,
# as the client sees it (curl's time_total). PostgreSQL runs in a throwaway server
# (scripts/with-postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

which=${1:-both}
DAYS=${DAYS:-365}
PER_DAY=${PER_DAY:-300}
RUNS=${RUNS:-5}
BIN=${FILA_BIN:-target/release/fila}

if [ "$which" = both ]; then
  [ -n "${SKIP_FILA_BUILD:-}" ] || cargo build --release --quiet
  SKIP_FILA_BUILD=1 "$0" sqlite
  SKIP_FILA_BUILD=1 "$0" postgres
  exit 0
fi
if [ "$which" = postgres ] && [ -z "${FILA_TEST_POSTGRES_URL:-}" ]; then
  [ -n "${SKIP_FILA_BUILD:-}" ] || cargo build --release --quiet
  SKIP_FILA_BUILD=1 exec scripts/with-postgres "$0" postgres
fi
[ -n "${SKIP_FILA_BUILD:-}" ] || cargo build --release --quiet

work=$(mktemp -d)
pid=""
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  [ -z "$pid" ] || wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

case "$which" in
  sqlite) url="sqlite://$work/fila.db" ;;
  postgres) url=$FILA_TEST_POSTGRES_URL ;;
  *) echo "usage: bench/reports.sh [sqlite|postgres|both]" >&2; exit 2 ;;
esac

seeded=$("$BIN" demo seed-history --days "$DAYS" --per-day "$PER_DAY" --database-url "$url")
echo "seeded ($which): $seeded" >&2

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
base="http://127.0.0.1:$port"
"$BIN" serve --listen "127.0.0.1:$port" --database-url "$url" --web-dir "$work/none" >"$work/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  curl -sf "$base/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
token=$(curl -sf -X POST "$base/api/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"demo@fila.local","password":"demo1234"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["accessToken"])')

from=$(date -d "-$DAYS days" +%F)
to=$(date -d '-1 day' +%F)
printf '\n| %s, %s days × %s/day | rows | median ms | slowest ms |\n|---|---|---|---|\n' \
  "$which" "$DAYS" "$PER_DAY"
for report in waits attendance doctors arrivals "waits?format=csv"; do
  path="/api/reports/${report%%\?*}?from=$from&to=$to"
  [ "$report" = "${report%%\?*}" ] || path="$path&format=csv"
  rows=$(curl -sf -H "Authorization: Bearer $token" "$base$path" | python3 -c '
import json, sys
text = sys.stdin.read()
try:
    print(len(json.loads(text)))
except ValueError:
    print(len(text.splitlines()) - 1)')
  times=()
  for _ in $(seq 1 "$RUNS"); do
    times+=("$(curl -sf -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "$base$path")")
  done
  printf '%s\n' "${times[@]}" | python3 -c "
import statistics, sys
t = sorted(float(x) * 1000 for x in sys.stdin.read().split())
print('| \`GET /api/reports/$report\` | $rows | %.0f | %.0f |' % (statistics.median(t), t[-1]))"
done

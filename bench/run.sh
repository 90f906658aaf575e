#!/usr/bin/env bash
# The fan-out benchmark, Fila against the Node.js Socket.IO gateway it replaces.
#
#   bench/run.sh                      # N = 1000 and 5000 clients, M = 200 broadcasts
#   N_LIST="500" M=50 bench/run.sh    # a quick one
#
# Builds what is needed (the main crate with `cargo build --release`, the load tool in
# bench/target, the gateway's npm packages), then for each N runs, one server at a time on
# loopback: Fila on a fresh SQLite file, then the Node gateway, with the same N and M. Prints
# the Markdown results table on stdout (progress goes to stderr). Every run is bounded by the
# tool's --time-limit and by `timeout`. Environment: N_LIST, M, FILA_PORT (4100),
# NODE_PORT (4101), TIME_LIMIT (seconds per run, 300), SKIP_FILA_BUILD=1 (use the binary as
# it is, e.g. while the main crate is mid-edit), FILA_BIN (target/release/fila), PROFILE
# (release or debug: how the load tool is built), RATE (broadcasts per second, 0 = the next as
# soon as all have it), FOREIGN (sockets on a second account that must receive nothing, 50),
# PERF=1 (count the server's instructions with perf stat), WRITE_BURST (status changes sent
# from 8 threads before the sockets connect: check-ins per second), TARGETS ("fila node"),
# CALLGRIND=FILE (run Fila under callgrind, instrumented over the broadcasts only, profile to
# FILE), BURST=1 (the M changes all at once: the check-ins as one concurrent wave, then the
# agendado one; BURST_THREADS HTTP threads, 32; latency from the wave's first request).
set -euo pipefail

N_LIST="${N_LIST:-1000 5000}"
M="${M:-200}"
FILA_PORT="${FILA_PORT:-4100}"
NODE_PORT="${NODE_PORT:-4101}"
TIME_LIMIT="${TIME_LIMIT:-300}"
PROFILE="${PROFILE:-release}"
RATE="${RATE:-0}"
FOREIGN="${FOREIGN:-50}"
WRITE_BURST="${WRITE_BURST:-0}"
TARGETS="${TARGETS:-fila node}"
EXTRA=()
[[ "${PERF:-}" == 1 ]] && EXTRA+=(--perf)
[[ "${BURST:-}" == 1 ]] && EXTRA+=(--burst --burst-threads "${BURST_THREADS:-32}")
WRAP=()
if [[ -n "${CALLGRIND:-}" ]]; then
  EXTRA+=(--callgrind)
  WRAP=(valgrind --tool=callgrind --instr-atstart=no "--callgrind-out-file=$CALLGRIND")
fi

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
FILA="${FILA_BIN:-$ROOT/target/release/fila}"
FANOUT="$BENCH/target/$PROFILE/fanout"
log() { echo "[run.sh] $*" >&2; }

# Each client is one socket in this process and one in the server's.
max_n=0
for n in $N_LIST; do ((n + FOREIGN > max_n)) && max_n=$((n + FOREIGN)); done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < max_n + 256)); then
  log "open-file limit $(ulimit -n) is too low for N=$max_n"; exit 1
fi

if [[ "${SKIP_FILA_BUILD:-}" == 1 ]]; then
  log "SKIP_FILA_BUILD=1: using $FILA as built"
  [[ -x "$FILA" ]] || { log "$FILA is missing"; exit 1; }
else
  log "building fila (cargo build --release in $ROOT)"
  (cd "$ROOT" && cargo build --release >&2)
fi
log "building the load tool (bench/target/$PROFILE)"
cargo_profile=()
[[ "$PROFILE" == release ]] && cargo_profile=(--release)
(cd "$BENCH" && CARGO_TARGET_DIR="$BENCH/target" cargo build --quiet "${cargo_profile[@]}" >&2)
if [[ ! -d "$BENCH/node-gateway/node_modules" ]]; then
  log "installing the Node gateway's packages (npm ci)"
  (cd "$BENCH/node-gateway" && npm ci --no-audit --no-fund >&2)
fi

for port in "$FILA_PORT" "$NODE_PORT"; do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "port $port is in use; set FILA_PORT / NODE_PORT"; exit 1
  fi
done

TMP="$(mktemp -d /tmp/fila-bench.XXXXXX)"
SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
trap 'stop_server; rm -rf "$TMP"' EXIT

wait_http() { # url
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  log "server at $1 did not come up"; return 1
}

EMAIL=bench@example.com
PASSWORD=bench-password-123
OTHER_EMAIL=other@example.com
SECRET="node-gateway-bench-secret-$RANDOM$RANDOM"
ROWS=()

run_tool() { # label args...
  local label=$1; shift
  local out="$TMP/$label.out"
  if ! timeout $((TIME_LIMIT + 30)) "$FANOUT" --label "$label" --time-limit "$TIME_LIMIT" "$@" >"$out"; then
    log "$label FAILED"; cat "$out" >&2; exit 1
  fi
  ROWS+=("$(sed -n 's/^ROW //p' "$out")")
  cat "$out" >>"$TMP/all.out"
}

payload=619
common() { # N
  echo --clients "$1" --broadcasts "$M" --rate "$RATE" --foreign-clients "$FOREIGN" "${EXTRA[@]}"
}
for N in $N_LIST; do
  if [[ " $TARGETS " == *" fila "* ]]; then
    # Fila: a fresh database, two accounts (the second one's sockets must hear nothing), then
    # the server.
    db="sqlite://$TMP/fila-$N.db"
    "$FILA" accounts create --name "Clínica Bench" --email "$EMAIL" --password "$PASSWORD" \
      --database-url "$db" >&2
    "$FILA" accounts create --name "Outra Clínica" --email "$OTHER_EMAIL" --password "$PASSWORD" \
      --database-url "$db" >&2
    RUST_LOG=warn "${WRAP[@]}" "$FILA" serve --listen "127.0.0.1:$FILA_PORT" --database-url "$db" \
      --web-dir "$TMP/no-web" 2>"$TMP/fila-$N.log" >&2 &
    SERVER_PID=$!
    wait_http "http://127.0.0.1:$FILA_PORT/healthz"
    # shellcheck disable=SC2046
    run_tool "fila" --target fila --url "http://127.0.0.1:$FILA_PORT" --pid "$SERVER_PID" \
      $(common "$N") --email "$EMAIL" --password "$PASSWORD" \
      --foreign-email "$OTHER_EMAIL" --foreign-password "$PASSWORD" --write-burst "$WRITE_BURST"
    stop_server
    if grep -qi "missed a broadcast\|error" "$TMP/fila-$N.log"; then
      log "fila logged warnings:"; cat "$TMP/fila-$N.log" >&2
    fi
    # The Node gateway gets a payload as large as Fila's appointment payload.
    payload=$(grep -o '"payloadBytes":[0-9]*' "$TMP/fila.out" | cut -d: -f2)
  fi
  if [[ " $TARGETS " == *" node "* ]]; then
    node "$BENCH/node-gateway/server.mjs" --port "$NODE_PORT" --secret "$SECRET" >&2 &
    SERVER_PID=$!
    wait_http "http://127.0.0.1:$NODE_PORT/stats"
    # shellcheck disable=SC2046
    run_tool "node" --target node --url "http://127.0.0.1:$NODE_PORT" --pid "$SERVER_PID" \
      $(common "$N") --secret "$SECRET" --payload-bytes "$payload"
    stop_server
  fi
done

echo
if [[ "${BURST:-}" == 1 ]]; then
  echo "Fan-out in bursts, loopback, $(nproc) cores: the check-ins fired all at once from ${BURST_THREADS:-32} threads, then the agendado changes; latency from the wave's first request to receipt, in ms (p50 / p99 / max; last client: per seq)"
else
  echo "Fan-out, loopback, $(nproc) cores; latency from trigger to receipt, in ms (p50 / p99 / max)"
fi
echo
echo "| target | N clients | M broadcasts | deliveries | last client p50 / p99 / max | all deliveries p50 / p99 / max | server RSS MiB before → connected | RSS bytes per connection | CPU µs per delivery, server / load tool |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
if grep -q '^WAVES ' "$TMP/all.out"; then
  echo
  echo "| target | check-in wave: first request → last delivery (ms) | agendado wave (ms) |"
  echo "|---|---|---|"
  sed -n 's/^WAVES /| /p' "$TMP/all.out" | sed 's/ ms//g'
fi
echo
echo "Payload: $payload bytes (Fila's appointment JSON; the Node gateway sends one as large)."
grep '^JSON ' "$TMP/all.out" | sed 's/^JSON /    /' >&2

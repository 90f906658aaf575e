#!/usr/bin/env bash
# The cluster benchmark: Fila nodes on one PostgreSQL, delivery latency by the node that took
# the change, and recovery after a node is SIGKILLed.
#
#   scripts/with-postgres bench/cluster.sh                  # 100 clients per node, 100 changes
#   PER_NODE=50 CHANGES=40 scripts/with-postgres bench/cluster.sh
#
# Needs FILA_TEST_POSTGRES_URL (scripts/with-postgres starts a throwaway server and sets it).
# Builds target/release/fila (SKIP_FILA_BUILD=1 uses it as built) and installs the tool's npm
# packages. Runs, one after the other, on loopback: one node with PER_NODE clients, then three
# nodes with PER_NODE clients each, changes made through each node in turn, then a SIGKILL of
# the third node under a stream of changes. Prints the Markdown rows on stdout.
set -euo pipefail

PER_NODE="${PER_NODE:-100}"
CHANGES="${CHANGES:-100}"
BASE_PORT="${BASE_PORT:-4110}"
TIME_LIMIT="${TIME_LIMIT:-300}"
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
FILA="$ROOT/target/release/fila"
log() { echo "[cluster.sh] $*" >&2; }

: "${FILA_TEST_POSTGRES_URL:?run under scripts/with-postgres}"
DB="$FILA_TEST_POSTGRES_URL"
if [[ "${SKIP_FILA_BUILD:-}" == 1 ]]; then
  [[ -x "$FILA" ]] || { log "$FILA is missing"; exit 1; }
else
  log "building fila (cargo build --release)"
  (cd "$ROOT" && cargo build --release >&2)
fi
if [[ ! -d "$BENCH/cluster/node_modules" ]]; then
  (cd "$BENCH/cluster" && npm ci --no-audit --no-fund >&2)
fi
ulimit -n 65536 2>/dev/null || true

TMP="$(mktemp -d /tmp/fila-cluster.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

start_node() { # index → prints pid
  local port=$((BASE_PORT + $1))
  RUST_LOG=warn "$FILA" serve --listen "127.0.0.1:$port" --database-url "$DB" \
    --web-dir "$TMP/no-web" 2>"$TMP/node-$1.log" >&2 &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && { NODE_PID=$pid; return 0; }
    sleep 0.1
  done
  log "node $1 did not come up"; cat "$TMP/node-$1.log" >&2; exit 1
}

account() { # email
  "$FILA" accounts create --name "Clínica Bench" --email "$1" --password bench-password-123 \
    --database-url "$DB" >/dev/null 2>&1
}

echo "| nodes | change taken by node | clients (all nodes) | changes | last client p50 / p99 / max (ms) |"
echo "|---|---|---|---|---|"
start_node 0
account one@bench.example
timeout $((TIME_LIMIT + 30)) node "$BENCH/cluster/cluster.mjs" --label "1 node" \
  --urls "http://127.0.0.1:$BASE_PORT" --email one@bench.example --password bench-password-123 \
  --clients-per-node "$((PER_NODE * 3))" --changes "$CHANGES" --time-limit "$TIME_LIMIT"
start_node 1
start_node 2
THIRD=$NODE_PID
account three@bench.example
timeout $((TIME_LIMIT + 30)) node "$BENCH/cluster/cluster.mjs" --label "3 nodes" \
  --urls "http://127.0.0.1:$BASE_PORT,http://127.0.0.1:$((BASE_PORT + 1)),http://127.0.0.1:$((BASE_PORT + 2))" \
  --email three@bench.example --password bench-password-123 \
  --clients-per-node "$PER_NODE" --changes "$CHANGES" --kill-pid "$THIRD" --kill-index 2 \
  --time-limit "$TIME_LIMIT"

#!/usr/bin/env bash
# The cluster fan-out benchmark: tens of thousands of sockets spread over Fila nodes that share
# one PostgreSQL, every change made through the first node.
#
#   scripts/with-postgres bench/cluster-fanout.sh                  # 3 nodes × 10 000 sockets
#   PER_NODE=2000 CHANGES=10 scripts/with-postgres bench/cluster-fanout.sh
#
# Needs FILA_TEST_POSTGRES_URL (scripts/with-postgres starts a throwaway server and sets it).
# Builds target/release/fila (SKIP_FILA_BUILD=1 uses it as built) and the load tool
# (bench/target/release/fanout), starts NODES release nodes (3) on ports BASE_PORT.. (4130),
# creates two accounts, and runs the tool once: NODES × PER_NODE sockets (10 000) of the first
# account plus FOREIGN (300) of the second, round-robin over the nodes, then CHANGES status
# changes (20) at RATE per second (2) through the first node. The tool fails the run on any
# lost, duplicated, out-of-order or foreign event. Prints the Markdown results on stdout: the
# latency row (from the PATCH to receipt) and each node's RSS per socket and CPU per delivery.
# BURST=1 fires the changes in two concurrent waves instead (see bench/run.sh). TIME_LIMIT
# (seconds, 300) bounds the run. Sockets beyond the tool's open-file limit go to worker
# processes of the tool.
set -euo pipefail

NODES="${NODES:-3}"
PER_NODE="${PER_NODE:-10000}"
CHANGES="${CHANGES:-20}"
RATE="${RATE:-2}"
FOREIGN="${FOREIGN:-300}"
BASE_PORT="${BASE_PORT:-4130}"
TIME_LIMIT="${TIME_LIMIT:-300}"
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$BENCH")"
FILA="$ROOT/target/release/fila"
FANOUT="$BENCH/target/release/fanout"
PASSWORD=bench-password-123
log() { echo "[cluster-fanout.sh] $*" >&2; }

: "${FILA_TEST_POSTGRES_URL:?run under scripts/with-postgres}"
DB="$FILA_TEST_POSTGRES_URL"
if [[ "${SKIP_FILA_BUILD:-}" == 1 ]]; then
  [[ -x "$FILA" ]] || { log "$FILA is missing"; exit 1; }
else
  log "building fila (cargo build --release)"
  (cd "$ROOT" && cargo build --release >&2)
fi
log "building the load tool (bench/target/release)"
(cd "$BENCH" && CARGO_TARGET_DIR="$BENCH/target" cargo build --quiet --release >&2)

# Each node holds PER_NODE + FOREIGN / NODES sockets; the tool holds them all, and puts what its
# own limit cannot hold in worker processes. Every socket of a node takes one local port.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
per_node_sockets=$((PER_NODE + (FOREIGN + NODES - 1) / NODES))
if (($(ulimit -n) < per_node_sockets + 512)); then
  log "open-file limit $(ulimit -n) is too low for $per_node_sockets sockets per node"; exit 1
fi
read -r port_lo port_hi </proc/sys/net/ipv4/ip_local_port_range
if ((per_node_sockets > port_hi - port_lo - 1000)); then
  log "local port range $port_lo-$port_hi is too small for $per_node_sockets sockets per node"
  exit 1
fi

TMP="$(mktemp -d /tmp/fila-cluster-fanout.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

for port in $(seq "$BASE_PORT" $((BASE_PORT + NODES - 1))); do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    log "port $port is in use; set BASE_PORT"; exit 1
  fi
done

start_node() { # index
  local port=$((BASE_PORT + $1))
  # A node's default bound is 10 000 connections: room for its sockets and the triggers.
  RUST_LOG=warn FILA_MAX_CONNECTIONS=$((per_node_sockets + 1000)) "$FILA" serve --listen "127.0.0.1:$port" --database-url "$DB" \
    --web-dir "$TMP/no-web" 2>"$TMP/node-$1.log" >&2 &
  PIDS+=("$!")
  for _ in $(seq 1 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && return 0
    sleep 0.1
  done
  log "node $1 did not come up"; cat "$TMP/node-$1.log" >&2; exit 1
}

account() { # name email
  "$FILA" accounts create --name "$1" --email "$2" --password "$PASSWORD" \
    --database-url "$DB" >/dev/null 2>&1
}

URLS=()
for i in $(seq 0 $((NODES - 1))); do
  start_node "$i"
  URLS+=("http://127.0.0.1:$((BASE_PORT + i))")
done
account "Clínica Bench" fanout@bench.example
account "Outra Clínica" other-fanout@bench.example
log "$NODES nodes up (pids ${PIDS[*]}); $((NODES * PER_NODE)) sockets + $FOREIGN foreign"

extra=()
if [[ "${BURST:-}" == 1 ]]; then
  extra+=(--burst --burst-threads "${BURST_THREADS:-32}")
else
  extra+=(--rate "$RATE")
fi
out="$TMP/fanout.out"
if ! timeout $((TIME_LIMIT + 60)) "$FANOUT" --label "$NODES nodes" --target fila \
  --url "${URLS[0]}" --connect-urls "$(IFS=,; echo "${URLS[*]}")" --pid "$(IFS=,; echo "${PIDS[*]}")" \
  --clients $((NODES * PER_NODE)) --foreign-clients "$FOREIGN" --broadcasts "$CHANGES" \
  --email fanout@bench.example --password "$PASSWORD" \
  --foreign-email other-fanout@bench.example --foreign-password "$PASSWORD" \
  --time-limit "$TIME_LIMIT" "${extra[@]}" >"$out"; then
  log "the run FAILED"
  for i in $(seq 0 $((NODES - 1))); do tail -5 "$TMP/node-$i.log" >&2; done
  exit 1
fi
for i in $(seq 0 $((NODES - 1))); do
  if grep -qi "missed a broadcast\|error" "$TMP/node-$i.log"; then
    log "node $i logged warnings:"; tail -20 "$TMP/node-$i.log" >&2
  fi
done

echo
echo "Fan-out over $NODES Fila nodes on one PostgreSQL, loopback, $(nproc) cores: $((NODES * PER_NODE)) sockets ($PER_NODE per node) + $FOREIGN of another account, $CHANGES changes $( [[ "${BURST:-}" == 1 ]] && echo "in two bursts" || echo "at $RATE per second") through the first node; latency from the PATCH to receipt, in ms (p50 / p99 / max)"
echo
echo "| nodes | N clients | M changes | deliveries | last client p50 / p99 / max | all deliveries p50 / p99 / max | RSS MiB before → connected (all nodes) | RSS bytes per socket | CPU µs per delivery, all nodes / load tool |"
echo "|---|---|---|---|---|---|---|---|---|"
sed -n 's/^ROW //p' "$out"
echo
echo "| node | RSS MiB before → connected | RSS bytes per socket | CPU µs per delivery (its sockets' deliveries) |"
echo "|---|---|---|---|"
sed -n "s/^NODE $NODES nodes | /| /p" "$out"
if grep -q '^WAVES ' "$out"; then
  echo
  echo "| nodes | check-in wave: first request → last delivery (ms) | agendado wave (ms) |"
  echo "|---|---|---|"
  sed -n 's/^WAVES /| /p' "$out" | sed 's/ ms//g'
fi
grep '^JSON ' "$out" | sed 's/^JSON /    /' >&2

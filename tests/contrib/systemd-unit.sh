#!/usr/bin/env bash
# Checks contrib/fila.service with `systemd-analyze verify`: a copy whose ExecStart names the
# built binary (verify wants it to exist), in a folder of its own. Any message is a failure,
# not only a non-zero exit: systemd-analyze reports an unknown directive or a bad value on
# stderr and still exits 0. The check first proves it can fail: a copy with a misspelled
# directive must be refused. Usage: FILA_BIN=target/debug/fila tests/contrib/systemd-unit.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

bin="$(realpath "${FILA_BIN:-target/debug/fila}")"
[ -x "$bin" ] || { echo "systemd-unit: no binary at $bin (set FILA_BIN)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# verify UNIT: succeeds when systemd-analyze says nothing and exits 0.
verify() {
  local output
  if ! output="$(SYSTEMD_LOG_COLOR=0 systemd-analyze verify "$1" 2>&1)"; then
    printf '%s\n' "$output"
    return 1
  fi
  if [ -n "$output" ]; then
    printf '%s\n' "$output"
    return 1
  fi
}

mkdir "$work/good" "$work/broken"
sed "s#^ExecStart=/usr/local/bin/fila #ExecStart=$bin #" contrib/fila.service >"$work/good/fila.service"
grep -q "^ExecStart=$bin serve --config /etc/fila/fila.toml$" "$work/good/fila.service" || {
  echo "systemd-unit: contrib/fila.service has no ExecStart=/usr/local/bin/fila serve --config /etc/fila/fila.toml" >&2
  exit 1
}
sed 's/^ProtectSystem=strict/ProtectSystm=strict/' "$work/good/fila.service" >"$work/broken/fila.service"

if verify "$work/broken/fila.service" >/dev/null; then
  echo "systemd-unit: a unit with a misspelled directive passed the check: the check is broken" >&2
  exit 1
fi
if ! verify "$work/good/fila.service"; then
  echo "systemd-unit: contrib/fila.service does not verify (above)" >&2
  exit 1
fi
# The settings the operations guide promises.
for line in DynamicUser=yes StateDirectory=fila ProtectSystem=strict ProtectHome=yes \
  PrivateTmp=yes NoNewPrivileges=yes Restart=on-failure KillSignal=SIGTERM; do
  grep -qx "$line" contrib/fila.service || { echo "systemd-unit: contrib/fila.service lacks $line" >&2; exit 1; }
done
echo "systemd-unit: contrib/fila.service verifies"

#!/usr/bin/env bash
# Runs workload A at 64 clients against a 3-node ringkv and a 3-member etcd
# kept up side by side, alternating the two stores (in both orders) so the
# machine's drift falls on both alike; 100-byte and 1-KiB values. Prints a
# line per run.
#
#   bench/run-head-to-head.sh [PAIRS] [DURATION]     (default 4 pairs, 15s)
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-4}
dur=${2:-15s}
work=$(mktemp -d)
trap 'bin/ringkv dev down --dir "$work/ringkv" --purge >/dev/null 2>&1 || true; scripts/etcd-cluster.sh down "$work/etcd" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o bin/ringkv ./cmd/ringkv
(cd bench/etcd && go build -o "$work/etcdbench" .)
bin/ringkv dev up --dir "$work/ringkv" --base-port 27070 >/dev/null 2>&1
scripts/etcd-cluster.sh up "$work/etcd" >/dev/null
addrs=127.0.0.1:27070,127.0.0.1:27071,127.0.0.1:27072

summary() { # json file
  python3 - "$1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["run"]["total"]
print(f"{t['ops_per_sec']:.0f} ops/s, p50 {t['p50_us']/1000:.1f} ms, p99 {t['p99_us']/1000:.1f} ms, errors {t['errors']}")
PY
}

for value in 100 1024; do
  # Load the records once per value size, outside the measured runs.
  bin/ringkv bench --addr $addrs --value-size "$value" --operations 1 --json >/dev/null 2>&1
  "$work/etcdbench" --value-size "$value" --operations 1 --json >/dev/null 2>&1
  for pair in $(seq "$pairs"); do
    order="ringkv etcd"
    if (( pair % 2 == 0 )); then order="etcd ringkv"; fi
    for store in $order; do
      if [ "$store" = ringkv ]; then
        bin/ringkv bench --addr $addrs --workload a --value-size "$value" --clients 64 --duration "$dur" --skip-load --json >"$work/out.json" 2>/dev/null
      else
        "$work/etcdbench" --workload a --value-size "$value" --clients 64 --duration "$dur" --skip-load --json >"$work/out.json" 2>/dev/null
      fi
      echo "value $value, pair $pair, $store: $(summary "$work/out.json")"
    done
  done
done

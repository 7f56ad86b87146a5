#!/usr/bin/env bash
# Reproduces bench/README.md's side-by-side table: workloads A, B, C and F,
# 100-byte and 1-KiB values, 16 and 64 clients, against a 3-node ringkv
# (N=3, R=W=2, synced writes) and a 3-member etcd (fsync), one after the
# other on this machine. Prints one markdown row per run, with the CPU time
# per operation summed over every server process (from /proc/PID/stat).
#
#   bench/run-matrix.sh [DURATION]     (default 20s per run)
set -euo pipefail
cd "$(dirname "$0")/.."
dur=${1:-20s}
work=$(mktemp -d)
trap 'bin/ringkv dev down --dir "$work/ringkv" --purge >/dev/null 2>&1 || true; scripts/etcd-cluster.sh down "$work/etcd" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o bin/ringkv ./cmd/ringkv
(cd bench/etcd && go build -o "$work/etcdbench" .)
tick=$(getconf CLK_TCK)

cpu_ticks() { # sum of utime+stime over the pids given
  local t=0
  for p in "$@"; do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done
  echo "$t"
}

row() { # store value clients workload json pids...
  local store=$1 value=$2 clients=$3 wl=$4 json=$5; shift 5
  python3 - "$store" "$value" "$clients" "$wl" "$json" "$@" <<'PY'
import json, sys
store, value, clients, wl, path, ticks, tck = sys.argv[1:8]
d = json.load(open(path))
t = d["run"]["total"]
ops = t["count"] + t["errors"]
cpu_us = int(ticks) / int(tck) * 1e6 / max(ops, 1)
print(f"| {store} | {wl.upper()} | {value} | {clients} | {t['ops_per_sec']:.0f} | {t['p50_us']/1000:.1f} | {t['p99_us']/1000:.1f} | {t['errors']} | {cpu_us:.0f} |")
PY
}

echo "| store | workload | value bytes | clients | ops/s | p50 ms | p99 ms | errors | server CPU µs/op |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for value in 100 1024; do
  # ringkv: N=3, R=W=2 (the defaults), every write synced.
  bin/ringkv dev up --dir "$work/ringkv" --base-port 27070 >/dev/null 2>&1
  pids=$(bin/ringkv dev status --dir "$work/ringkv" --json | python3 -c 'import json,sys; print(" ".join(str(n["pid"]) for n in json.load(sys.stdin)["nodes"]))')
  addrs=127.0.0.1:27070,127.0.0.1:27071,127.0.0.1:27072
  # Load the records once, outside the measured runs.
  bin/ringkv bench --addr $addrs --value-size "$value" --operations 1 --json >/dev/null 2>&1
  for clients in 16 64; do
    for wl in a b c f; do
      before=$(cpu_ticks $pids)
      bin/ringkv bench --addr $addrs --workload "$wl" --value-size "$value" \
        --clients "$clients" --duration "$dur" --r 2 --w 2 --skip-load --json >"$work/out.json" 2>/dev/null
      after=$(cpu_ticks $pids)
      row ringkv "$value" "$clients" "$wl" "$work/out.json" $((after - before)) "$tick"
    done
  done
  bin/ringkv dev down --dir "$work/ringkv" --purge >/dev/null

  scripts/etcd-cluster.sh up "$work/etcd" >/dev/null
  pids=$(cat "$work"/etcd/e*.pid | tr '\n' ' ')
  "$work/etcdbench" --value-size "$value" --operations 1 --json >/dev/null 2>&1
  for clients in 16 64; do
    for wl in a b c f; do
      before=$(cpu_ticks $pids)
      "$work/etcdbench" --workload "$wl" --value-size "$value" --clients "$clients" --duration "$dur" --skip-load --json >"$work/out.json" 2>/dev/null
      after=$(cpu_ticks $pids)
      row etcd "$value" "$clients" "$wl" "$work/out.json" $((after - before)) "$tick"
    done
  done
  scripts/etcd-cluster.sh down "$work/etcd" >/dev/null
done

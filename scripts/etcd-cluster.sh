#!/usr/bin/env bash
# A 3-member etcd cluster on loopback, to run `ringkv bench` workloads
# against for comparison (bench/README.md).
#
#   scripts/etcd-cluster.sh up   [DIR]   install etcd-server if missing, start 3 members, wait until healthy
#   scripts/etcd-cluster.sh down [DIR]   stop them (by pid) and delete DIR
#
# Members listen for clients on 127.0.0.1:23791, :23792, :23793 (peers on
# :23801..:23803); data and logs live in DIR (default ./etcd-dev). etcd
# fsyncs its WAL on every commit, as ringkv does with writes.
set -euo pipefail
cmd=${1:-}
dir=${2:-etcd-dev}
members=(e1 e2 e3)
cluster="e1=http://127.0.0.1:23801,e2=http://127.0.0.1:23802,e3=http://127.0.0.1:23803"

up() {
  if ! command -v etcd >/dev/null; then
    echo "installing Debian's etcd-server..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server >/dev/null
  fi
  mkdir -p "$dir"
  for i in 1 2 3; do
    name=e$i
    if [ -f "$dir/$name.pid" ] && kill -0 "$(cat "$dir/$name.pid")" 2>/dev/null; then
      echo "$name already running (pid $(cat "$dir/$name.pid"))" >&2
      continue
    fi
    ETCD_UNSUPPORTED_ARCH= etcd --name "$name" --data-dir "$dir/$name" \
      --listen-client-urls "http://127.0.0.1:2379$i" --advertise-client-urls "http://127.0.0.1:2379$i" \
      --listen-peer-urls "http://127.0.0.1:2380$i" --initial-advertise-peer-urls "http://127.0.0.1:2380$i" \
      --initial-cluster "$cluster" --initial-cluster-state new --initial-cluster-token ringkv-bench \
      >"$dir/$name.log" 2>&1 &
    echo $! >"$dir/$name.pid"
  done
  for i in 1 2 3; do
    for _ in $(seq 1 100); do
      if curl -fsS "http://127.0.0.1:2379$i/health" 2>/dev/null | grep -q '"health":"true"'; then break; fi
      sleep 0.2
    done
    curl -fsS "http://127.0.0.1:2379$i/health" | grep -q '"health":"true"' || { echo "e$i not healthy; see $dir/e$i.log" >&2; exit 1; }
  done
  echo "etcd members up: 127.0.0.1:23791,127.0.0.1:23792,127.0.0.1:23793 (pids $(cat "$dir"/e*.pid | tr '\n' ' '))"
}

down() {
  for name in "${members[@]}"; do
    if [ -f "$dir/$name.pid" ]; then
      pid=$(cat "$dir/$name.pid")
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
  echo "etcd members stopped; removed $dir"
}

case "$cmd" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down [DIR]" >&2; exit 2 ;;
esac

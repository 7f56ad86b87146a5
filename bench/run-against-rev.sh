#!/usr/bin/env bash
# Runs workload A at 64 clients against two 3-node dev clusters kept up side
# by side, one of an earlier revision and one of the working tree,
# alternating them (in both orders) so the machine's drift falls on both
# alike; then one client against each. The bench client is the working
# tree's. Prints a line per run.
#
#   bench/run-against-rev.sh REV [PAIRS] [DURATION]     (default 5 pairs, 10s)
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: bench/run-against-rev.sh REV [PAIRS] [DURATION]}
pairs=${2:-5}
dur=${3:-10s}
work=$(mktemp -d)
trap 'bin/ringkv dev down --dir "$work/old" --purge >/dev/null 2>&1 || true; bin/ringkv dev down --dir "$work/new" --purge >/dev/null 2>&1 || true; git worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o bin/ringkv ./cmd/ringkv
git worktree add --detach "$work/src" "$rev" >/dev/null 2>&1
(cd "$work/src" && go build -o "$work/ringkv-old" ./cmd/ringkv)
"$work/ringkv-old" dev up --dir "$work/old" --base-port 27070 >/dev/null 2>&1
bin/ringkv dev up --dir "$work/new" --base-port 28070 >/dev/null 2>&1
old=127.0.0.1:27070,127.0.0.1:27071,127.0.0.1:27072
new=127.0.0.1:28070,127.0.0.1:28071,127.0.0.1:28072

summary() { # json file
  python3 - "$1" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["run"]["total"]
print(f"{t['ops_per_sec']:.0f} ops/s, p50 {t['p50_us']/1000:.2f} ms, p99 {t['p99_us']/1000:.1f} ms, errors {t['errors']}")
PY
}

run() { # label addrs clients duration
  bin/ringkv bench --addr "$2" --workload a --value-size 100 --clients "$3" --duration "$4" --skip-load --json >"$work/out.json" 2>/dev/null
  echo "$1: $(summary "$work/out.json")"
}

bin/ringkv bench --addr $old --value-size 100 --operations 1 --json >/dev/null 2>&1
bin/ringkv bench --addr $new --value-size 100 --operations 1 --json >/dev/null 2>&1
for pair in $(seq "$pairs"); do
  if (( pair % 2 == 1 )); then
    run "pair $pair, working tree" $new 64 "$dur"; run "pair $pair, $rev" $old 64 "$dur"
  else
    run "pair $pair, $rev" $old 64 "$dur"; run "pair $pair, working tree" $new 64 "$dur"
  fi
done
run "1 client, working tree" $new 1 5s
run "1 client, $rev" $old 1 5s

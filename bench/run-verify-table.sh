#!/usr/bin/env bash
# Runs `ringkv verify --dev` once per seed, one after the other, and prints
# a Markdown table of the runs (the table in bench/README.md came from it).
# Extra flags go to every run; the JSON reports are kept in OUT.
#
#   bench/run-verify-table.sh [SEEDS] [OUT] [-- verify flags...]
#   default: seeds 1..10, OUT a temporary directory, and
#   --nodes 5 --nemesis kill,pause,partition,slow,slow-disk --duration 60s --w 2
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-"1 2 3 4 5 6 7 8 9 10"}
out=${2:-$(mktemp -d)}
shift $(( $# > 2 ? 2 : $# ))
[ "${1:-}" = "--" ] && shift
flags=("$@")
[ ${#flags[@]} -eq 0 ] && flags=(--nodes 5 --nemesis kill,pause,partition,slow,slow-disk --duration 60s --w 2)
mkdir -p "$out"
go build -o bin/ringkv ./cmd/ringkv
for s in $seeds; do
  rc=0
  bin/ringkv verify --dev --seed "$s" --json "${flags[@]}" >"$out/seed-$s.json" 2>"$out/seed-$s.log" || rc=$?
  echo "$rc" >"$out/seed-$s.rc"
done
echo "flags: ${flags[*]} (reports in $out)"
python3 - "$out" $seeds <<'PY'
import json, sys, collections
out, seeds = sys.argv[1], sys.argv[2:]
print("| seed | faults | acknowledged | lost | indeterminate seen / absent | resurrected | replicas differ | converged in | stale r=1 / quorum | exit |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for s in seeds:
    rc = open(f"{out}/seed-{s}.rc").read().strip()
    try:
        r = json.load(open(f"{out}/seed-{s}.json"))
    except Exception:
        print(f"| {s} | (no report: see {out}/seed-{s}.log) | | | | | | | | {rc} |")
        continue
    t, st = r["totals"], r["staleness"]
    kinds = collections.Counter(e["kind"] for e in r["events"])
    faults = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    conv = f"{r['converge_ns']/1e9:.1f} s" if r["converged"] else "not converged"
    print(f"| {s} | {faults} | {t['acknowledged']} | {t['lost']} | {t['indeterminate_seen']} / {t['indeterminate_absent']} | "
          f"{t['resurrected']} | {t['replicas_differ']} | {conv} | {st['r1']['fraction']*100:.1f}% / {st['quorum']['fraction']*100:.1f}% | {rc} |")
PY

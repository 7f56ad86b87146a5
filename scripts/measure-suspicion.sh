#!/usr/bin/env bash
# measure-suspicion.sh measures ringkv's failure detection with the real
# binary on a local dev cluster (default settings: phi threshold 8, 1 s
# heartbeats):
#
#  1. time to suspect: TRIALS times, SIGKILL n3 and poll n1's status every
#     100 ms until n3 is no longer "alive" (suspect or dead), then until it
#     is "dead"; restart n3 and wait until n1 sees it alive again.
#  2. false suspicions: with all nodes up, keep the machine busy for
#     DURATION seconds (CLI put/get loops and CPU hogs on every core), then
#     read ringkv_peer_suspicions_total from every node. No node is stopped
#     in this phase, so every suspicion counted is false.
#
# Usage: scripts/measure-suspicion.sh   (from anywhere in the repo)
# Environment: TRIALS (5), DURATION (600), SETTLE (15: seconds n3 runs
# before each kill, so its detector has learned the heartbeat rhythm),
# LOAD_WORKERS (4), HOGS (2), BASE_PORT (random free one).
#
# Every process it starts is stopped by pid on exit; the cluster is taken
# down and its directory deleted by the EXIT trap.
set -euo pipefail

TRIALS=${TRIALS:-5}
DURATION=${DURATION:-600}
SETTLE=${SETTLE:-15}
LOAD_WORKERS=${LOAD_WORKERS:-4}
HOGS=${HOGS:-2}

cd "$(dirname "$0")/.."
go build -o bin/ringkv ./cmd/ringkv
RINGKV=$PWD/bin/ringkv
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ringkv-suspicion.XXXXXX")
DIR=$WORK/cluster
PIDS=() # background processes this script started

cleanup() {
	touch "$WORK/stop" 2>/dev/null || true
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	"$RINGKV" dev down --purge --dir "$DIR" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# port_free PORT: nothing listens on PORT over TCP or UDP.
port_free() {
	! ss -Htuln "( sport = :$1 )" | grep -q .
}

# pick_base_port: a base port P with P..P+2 (API) and P+100..P+102
# (gossip) free. Bounded to 50 tries.
pick_base_port() {
	local p i ok
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		ok=1
		for i in 0 1 2 100 101 102; do
			port_free $((p + i)) || ok=0
		done
		if ((ok)); then
			echo "$p"
			return
		fi
	done
	echo "no free base port found" >&2
	return 1
}

BASE_PORT=${BASE_PORT:-$(pick_base_port)}
ADDRS=("127.0.0.1:$BASE_PORT" "127.0.0.1:$((BASE_PORT + 1))" "127.0.0.1:$((BASE_PORT + 2))")
N1=${ADDRS[0]}

# state_of OBSERVER_ADDR ID: ID's state as the observer reports it
# ("unreachable" if the status call fails).
state_of() {
	"$RINGKV" status --json --timeout 2s --addr "$1" 2>/dev/null |
		jq -r --arg id "$2" '.members[] | select(.id == $id) | "\(.state) \(.phi)"' ||
		echo "unreachable -"
}

# wait_state OBSERVER_ADDR ID STATE LIMIT_S: poll until ID is STATE.
wait_state() {
	local deadline=$((SECONDS + $4))
	until [[ $(state_of "$1" "$2") == "$3 "* ]]; do
		if ((SECONDS > deadline)); then
			echo "$2 not $3 at $1 within $4 s" >&2
			return 1
		fi
		sleep 0.1
	done
}

suspicions_total() {
	curl -sf --max-time 5 "http://$1/metrics" | awk '$1 == "ringkv_peer_suspicions_total" { print $2 }'
}

# state_changes NODE TO: "member state changed" log lines of NODE into TO.
state_changes() {
	grep -c "msg=\"member state changed\".* to=$2" "$DIR/$1/node.log" || true
}

log "cluster in $DIR, base port $BASE_PORT"
"$RINGKV" dev up --dir "$DIR" --base-port "$BASE_PORT" >&2

# ---------------------------------------------------------------- 1
echo "== time to suspect: SIGKILL n3, poll n1's status every 100 ms ($TRIALS trials, n3 up ${SETTLE}s before each)"
printf '%-6s %12s %10s %9s %12s\n' trial suspect_s phi_then dead_s realive_s
SUSPECT=()
DEAD=()
for trial in $(seq "$TRIALS"); do
	sleep "$SETTLE"
	"$RINGKV" dev kill n3 --dir "$DIR" >/dev/null
	t0=$(now)
	suspect="" phi_then="" dead=""
	for _ in $(seq 1200); do # ≥ 2 min at ≥ 100 ms a poll
		read -r st phi <<<"$(state_of "$N1" n3)"
		if [[ -z $suspect && $st != alive && $st != unreachable ]]; then
			suspect=$(since "$t0") phi_then=$phi
		fi
		if [[ $st == dead ]]; then
			dead=$(since "$t0")
			break
		fi
		sleep 0.1
	done
	[[ -n $dead ]] || { echo "trial $trial: n3 never dead at n1" >&2; exit 1; }
	t1=$(now)
	"$RINGKV" dev start n3 --dir "$DIR" >/dev/null
	wait_state "$N1" n3 alive 60
	printf '%-6s %12s %10s %9s %12s\n' "$trial" "$suspect" "$phi_then" "$dead" "$(since "$t1")"
	SUSPECT+=("$suspect")
	DEAD+=("$dead")
done
stats() { printf '%s\n' "$@" | awk '{ s += $1; if (NR == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1 }
	END { printf "mean %.2f s, min %.2f s, max %.2f s (n=%d)", s / NR, lo, hi, NR }'; }
echo "not alive (suspect or dead): $(stats "${SUSPECT[@]}")"
echo "dead:                        $(stats "${DEAD[@]}")"

# ---------------------------------------------------------------- 2
for a in "${ADDRS[@]}"; do wait_state "$a" n1 alive 30; wait_state "$a" n2 alive 30; wait_state "$a" n3 alive 30; done
echo "== false suspicions: ${DURATION}s with $LOAD_WORKERS CLI put/get loops and $HOGS CPU hogs ($(nproc) cores), no node stopped"
declare -A BEFORE SUSP0 DEAD0
for i in 1 2 3; do
	BEFORE[n$i]=$(suspicions_total "${ADDRS[$((i - 1))]}")
	SUSP0[n$i]=$(state_changes "n$i" suspect)
	DEAD0[n$i]=$(state_changes "n$i" dead)
done
END=$((SECONDS + DURATION))

# load_loop W: alternately put a fresh key and get the one before, through
# every node in turn, until END (and at most 100000 requests). Fresh keys:
# a blind put on an existing key would add a sibling each time.
load_loop() {
	local w=$1 i=0 ok=0 fail=0 addr
	while ((SECONDS < END && i < 100000)) && [[ ! -e $WORK/stop ]]; do
		addr=${ADDRS[$((i % 3))]}
		if ((i % 2 == 0)); then
			"$RINGKV" put "sus-$w-$i" "value-$i" --addr "$addr" >/dev/null 2>>"$WORK/load-$w.err" && ok=$((ok + 1)) || fail=$((fail + 1))
		else
			"$RINGKV" get "sus-$w-$((i - 1))" --addr "$addr" >/dev/null 2>>"$WORK/load-$w.err" && ok=$((ok + 1)) || fail=$((fail + 1))
		fi
		i=$((i + 1))
	done
	echo "$ok $fail" >"$WORK/load-$w.count"
}

# monitor: every 2 s until END, each node's view of the others: the
# highest phi seen and any state other than alive.
monitor() {
	local i
	while ((SECONDS < END)) && [[ ! -e $WORK/stop ]]; do
		for i in 0 1 2; do
			"$RINGKV" status --json --timeout 2s --addr "${ADDRS[$i]}" 2>/dev/null |
				jq -r --arg obs "n$((i + 1))" '.members[] | select(.id != $obs) | "\($obs) \(.id) \(.state) \(.phi)"' \
					>>"$WORK/monitor" || echo "n$((i + 1)) - unreachable 0" >>"$WORK/monitor"
		done
		sleep 2
	done
}

for w in $(seq "$LOAD_WORKERS"); do
	load_loop "$w" &
	PIDS+=($!)
done
HOG_PIDS=()
for _ in $(seq "$HOGS"); do
	sh -c 'while :; do :; done' &
	PIDS+=($!) HOG_PIDS+=($!)
done
monitor &
PIDS+=($!)

while ((SECONDS < END)); do
	sleep 1
done
for pid in "${HOG_PIDS[@]}"; do kill "$pid"; done
for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
PIDS=()

total_ok=0 total_fail=0
for w in $(seq "$LOAD_WORKERS"); do
	read -r ok fail <"$WORK/load-$w.count"
	total_ok=$((total_ok + ok)) total_fail=$((total_fail + fail))
done
echo "client load: $total_ok requests succeeded, $total_fail failed"
if ((total_fail > 0)); then
	echo "first errors:"
	cat "$WORK"/load-*.err | head -5 | sed 's/^/  /'
fi
sum=0
for i in 1 2 3; do
	after=$(suspicions_total "${ADDRS[$((i - 1))]}")
	d=$((after - BEFORE[n$i]))
	sum=$((sum + d))
	echo "n$i: ringkv_peer_suspicions_total $after (was ${BEFORE[n$i]}): +$d during the run;" \
		"log: +$(($(state_changes "n$i" suspect) - SUSP0[n$i])) to=suspect, +$(($(state_changes "n$i" dead) - DEAD0[n$i])) to=dead"
done
echo "false suspicions in ${DURATION}s: $sum"
awk '{ k = $1 ">" $2; if ($4 > max[k]) max[k] = $4; n++; if ($3 != "alive") bad[$1 ">" $2 " " $3]++ }
	END {
		printf "monitor (%d samples every ~2 s): max phi", n / 6
		for (k in max) printf " %s=%.2f", k, max[k]
		print ""
		for (k in bad) printf "  seen %s %d times\n", k, bad[k]
	}' "$WORK/monitor"

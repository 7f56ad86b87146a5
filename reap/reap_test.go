package reap_test

import (
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/internal/puretest"
	"github.com/ringkv/ringkv/reap"
)

func TestImportsOnlyPureStandardLibrary(t *testing.T) {
	puretest.Imports(t, "time")
}

var (
	epoch = time.Unix(1_000_000, 0)
	peers = []string{"a", "b", "c"}
)

func at(ms int) time.Time { return epoch.Add(time.Duration(ms) * time.Millisecond) }

func genOutcome(t *rapid.T, label string) reap.Outcome {
	return reap.Outcome{
		Peer:     rapid.SampledFrom(peers).Draw(t, label+" peer"),
		Start:    at(rapid.IntRange(0, 100).Draw(t, label+" start")),
		Complete: rapid.Bool().Draw(t, label+" complete"),
		Repairs:  rapid.IntRange(0, 2).Draw(t, label+" repairs"),
	}
}

// bruteMayReap is the rule read straight off the package documentation,
// over the whole history of outcomes.
func bruteMayReap(grace time.Duration, history []reap.Outcome, ps []string, since, now time.Time) bool {
	if now.Sub(since) < grace {
		return false
	}
	for _, p := range ps {
		if !slices.ContainsFunc(history, func(o reap.Outcome) bool {
			return o.Peer == p && o.Complete && o.Repairs == 0 && !o.Start.Before(since.Add(grace))
		}) {
			return false
		}
	}
	return true
}

// The ledger, fed outcomes one by one in any order, decides exactly as the
// rule applied by brute force to the whole history.
func TestPropertyMayReapMatchesBruteForce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rule := reap.Rule{Grace: time.Duration(rapid.IntRange(0, 50).Draw(t, "grace")) * time.Millisecond}
		var history []reap.Outcome
		var l reap.Ledger
		for i := range rapid.IntRange(0, 12).Draw(t, "outcomes") {
			o := genOutcome(t, string(rune('0'+i)))
			history = append(history, o)
			l.Record(o)
		}
		var ps []string
		for _, p := range peers {
			if rapid.Bool().Draw(t, "primary "+p) {
				ps = append(ps, p)
			}
		}
		since := at(rapid.IntRange(0, 100).Draw(t, "since"))
		now := at(rapid.IntRange(0, 200).Draw(t, "now"))
		got, want := rule.MayReap(&l, ps, since, now), bruteMayReap(rule.Grace, history, ps, since, now)
		if got != want {
			t.Fatalf("MayReap = %v, brute force %v, history %+v", got, want, history)
		}
		if rule.MayReap(nil, ps, since, now) != (len(ps) == 0 && !now.Before(since.Add(rule.Grace))) {
			t.Fatal("a nil ledger verifies nobody")
		}
	})
}

// peerState is what a peer holds of the deleted key in the resurrection
// model.
type peerState int

const (
	absent peerState = iota
	tombstone
	live // a value the delete covers
)

// event is a hint delivery or an exchange, at a time in milliseconds.
type event struct {
	at       int
	peer     string
	hint     bool
	complete bool // exchanges only
	fixed    bool // an incomplete exchange's repair of this key went through
	others   int  // repairs of other keys in the same exchange
}

// primaries are the other primaries in the resurrection model: two, so
// that random histories often verify both.
var primaries = []string{"a", "b"}

// The rule never lets a tombstone be reaped while a peer holds, or can
// still be handed, a value the tombstone covers. The model: this replica
// holds the tombstone from time 0; each peer starts live, tombstoned or
// empty; hints written before the delete reach empty peers (making them
// live) only within the hint window, shorter than the grace; an exchange
// sees the peer's state when it runs, needs a repair if the peer is live,
// and a complete one pushes the tombstone. Exchanges may be cut short at
// any point, and repair other keys too.
func TestPropertyNoResurrection(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		window := rapid.IntRange(0, 40).Draw(t, "hint window")
		grace := window + rapid.IntRange(1, 40).Draw(t, "grace over window")
		rule := reap.Rule{Grace: time.Duration(grace) * time.Millisecond}
		state := map[string]peerState{}
		for _, p := range primaries {
			state[p] = peerState(rapid.IntRange(0, 2).Draw(t, "initial "+p))
		}
		var events []event
		for _, p := range primaries {
			events = append(events, genPeerEvents(t, p, window, grace)...)
		}
		slices.SortStableFunc(events, func(x, y event) int { return x.at - y.at })
		var l reap.Ledger
		check := func(now int) {
			if !rule.MayReap(&l, primaries, epoch, at(now)) {
				return
			}
			for _, p := range primaries {
				if state[p] == live {
					t.Fatalf("reaped at %dms while %s holds a live pre-delete value", now, p)
				}
			}
		}
		for _, e := range events {
			apply(&l, state, e)
			check(e.at)
		}
		check(rapid.IntRange(0, 3*grace).Draw(t, "now"))
	})
}

// genPeerEvents draws what happens to peer: perhaps a hint within the
// window, and a few exchanges, at times drawn mostly from where the rule's
// edges lie.
func genPeerEvents(t *rapid.T, peer string, window, grace int) []event {
	var out []event
	h := -1
	if window > 0 && rapid.Bool().Draw(t, peer+" hinted") {
		h = rapid.IntRange(0, window-1).Draw(t, peer+" hint at")
		out = append(out, event{at: h, peer: peer, hint: true})
	}
	edges := []int{0, max(0, h-1), max(0, h+1), window, grace - 1, grace, grace + 1}
	for range rapid.IntRange(1, 3).Draw(t, peer+" exchanges") {
		out = append(out, event{
			at:       rapid.OneOf(rapid.SampledFrom(edges), rapid.IntRange(0, 2*grace)).Draw(t, peer+" exchange at"),
			peer:     peer,
			complete: rapid.IntRange(0, 3).Draw(t, peer+" complete") > 0, // mostly
			fixed:    rapid.Bool().Draw(t, peer+" fixed"),
			others:   rapid.SampledFrom([]int{0, 0, 0, 1}).Draw(t, peer+" other repairs"),
		})
	}
	return out
}

// apply runs one event of the model on state and records an exchange's
// outcome in l.
func apply(l *reap.Ledger, state map[string]peerState, e event) {
	if e.hint {
		if state[e.peer] == absent {
			state[e.peer] = live
		}
		return
	}
	o := reap.Outcome{Peer: e.peer, Start: at(e.at), Complete: e.complete, Repairs: e.others}
	if state[e.peer] == live {
		if e.complete || e.fixed {
			o.Repairs++
			state[e.peer] = tombstone
		}
		// An exchange cut short before the key reports no repair of it.
	}
	l.Record(o)
}

// The scenarios of issue 10, by hand.
func TestIncompleteExchangeVerifiesNothing(t *testing.T) {
	rule := reap.Rule{Grace: time.Second}
	var l reap.Ledger
	l.Record(reap.Outcome{Peer: "a", Start: at(2000), Complete: false})
	l.Record(reap.Outcome{Peer: "b", Start: at(2000), Complete: true})
	if rule.MayReap(&l, []string{"a", "b"}, at(0), at(3000)) {
		t.Fatal("an exchange cut short verified its peer")
	}
	l.Record(reap.Outcome{Peer: "a", Start: at(2500), Complete: true, Repairs: 1})
	if rule.MayReap(&l, []string{"a", "b"}, at(0), at(3000)) {
		t.Fatal("an exchange that repaired a key verified its peer")
	}
	l.Record(reap.Outcome{Peer: "a", Start: at(2600), Complete: true})
	if !rule.MayReap(&l, []string{"a", "b"}, at(0), at(3000)) {
		t.Fatal("two clean exchanges after the grace did not allow the reap")
	}
}

// A peer seen empty before the grace ran out may still be handed a
// pre-delete value by a hint; only a later exchange counts.
func TestVerificationMustFollowTheGrace(t *testing.T) {
	rule := reap.Rule{Grace: time.Second}
	var l reap.Ledger
	l.Record(reap.Outcome{Peer: "a", Start: at(10), Complete: true})
	if rule.MayReap(&l, []string{"a"}, at(0), at(5000)) {
		t.Fatal("an exchange within the grace verified its peer")
	}
	l.Record(reap.Outcome{Peer: "a", Start: at(1000), Complete: true})
	if !rule.MayReap(&l, []string{"a"}, at(0), at(1000)) {
		t.Fatal("a clean exchange at the end of the grace did not allow the reap")
	}
}

package verify

import (
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func at(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func add(key string, e uint64, o Outcome, start, end float64) Op {
	return Op{Kind: OpAdd, Key: key, Wrote: e, Outcome: o, Start: at(start), End: at(end)}
}

func del(key string, o Outcome, saw ...uint64) Op {
	return Op{Kind: OpDelete, Key: key, Read: saw, Outcome: o, Start: at(5), End: at(6)}
}

func finalOf(values map[string][]uint64) Final {
	return Final{Values: values, Unread: map[string]bool{}, Differ: map[string]bool{}}
}

func TestAnAcknowledgedElementMissingFromTheFinalReadIsLost(t *testing.T) {
	ops := []Op{add("k", 1, OK, 0, 1), add("k", 2, OK, 1, 2)}
	v := Check(ops, nil, finalOf(map[string][]uint64{"k": {1}}))
	if v.Totals.Acknowledged != 2 || v.Totals.Lost != 1 || !v.Failed() {
		t.Fatalf("totals %+v, want 2 acknowledged, 1 lost, failed", v.Totals)
	}
	if !slices.Equal(v.Keys[0].LostElements, []uint64{2}) {
		t.Fatalf("lost elements %v, want [2]", v.Keys[0].LostElements)
	}
}

func TestIndeterminateElementsAreCountedSeenOrAbsentAndNeverLost(t *testing.T) {
	ops := []Op{add("k", 1, Info, 0, 1), add("k", 2, Info, 1, 2), add("k", 3, Fail, 2, 3)}
	v := Check(ops, nil, finalOf(map[string][]uint64{"k": {1}}))
	want := Totals{Keys: 1, IndeterminateSeen: 1, IndeterminateAbsent: 1}
	if v.Totals != want || v.Failed() {
		t.Fatalf("totals %+v, want %+v and not failed", v.Totals, want)
	}
}

func TestAnElementAnAcknowledgedDeleteSawAndThatIsSeenAgainIsResurrected(t *testing.T) {
	ops := []Op{add("k", 1, OK, 0, 1), add("k", 2, OK, 1, 2), del("k", OK, 1)}
	v := Check(ops, nil, finalOf(map[string][]uint64{"k": {1, 2}}))
	if v.Totals.Resurrected != 1 || v.Totals.Lost != 0 || !v.Failed() {
		t.Fatalf("totals %+v, want 1 resurrected, 0 lost", v.Totals)
	}
	// Gone, as the delete asked: neither lost nor resurrected.
	v = Check(ops, nil, finalOf(map[string][]uint64{"k": {2}}))
	if v.Totals.Resurrected != 0 || v.Totals.Lost != 0 || v.Failed() {
		t.Fatalf("totals %+v, want nothing wrong", v.Totals)
	}
}

func TestADeleteThatMayHaveHappenedExcusesAnAbsentElement(t *testing.T) {
	ops := []Op{add("k", 1, OK, 0, 1), del("k", Info, 1)}
	for _, final := range [][]uint64{nil, {1}} {
		if v := Check(ops, nil, finalOf(map[string][]uint64{"k": final})); v.Failed() {
			t.Fatalf("final %v: totals %+v, want nothing wrong", final, v.Totals)
		}
	}
	// A refused delete excuses nothing.
	ops[1].Outcome = Fail
	if v := Check(ops, nil, finalOf(map[string][]uint64{"k": nil})); v.Totals.Lost != 1 {
		t.Fatalf("totals %+v, want 1 lost after a refused delete", v.Totals)
	}
}

func TestUnreadAndDivergingKeysFailTheRun(t *testing.T) {
	ops := []Op{add("a", 1, OK, 0, 1), add("b", 2, OK, 0, 1)}
	f := finalOf(map[string][]uint64{"b": {2}})
	f.Unread["a"], f.Differ["b"] = true, true
	v := Check(ops, nil, f)
	if v.Totals.Unread != 1 || v.Totals.ReplicasDiffer != 1 || v.Totals.Lost != 0 || !v.Failed() {
		t.Fatalf("totals %+v, want 1 unread (not lost), 1 differing", v.Totals)
	}
}

func TestStalenessCountsHealthyProbesThatMissedAnEarlierAcknowledgement(t *testing.T) {
	probe := func(r int, start, end float64, read ...uint64) Op {
		return Op{Kind: OpProbe, Key: "k", R: r, Read: read, Outcome: OK, Start: at(start), End: at(end)}
	}
	ops := []Op{
		add("k", 1, OK, 0, 1),
		add("k", 2, OK, 2, 3),
		probe(1, 1.5, 1.6),    // saw nothing: 1 was acknowledged before: stale
		probe(1, 2.5, 2.6, 1), // 2 not yet acknowledged: fresh
		probe(0, 4, 4.1, 1),   // missed 2: stale
		probe(0, 5, 5.1, 1, 2),
		probe(0, 10.5, 10.6), // inside a fault: not counted
		{Kind: OpProbe, Key: "k", R: 1, Outcome: Fail, Start: at(7), End: at(8)}, // failed: not counted
	}
	events := []Event{{Kind: Kill, Nodes: []string{"n1"}, Start: at(10), End: at(11)}}
	s := Check(ops, events, finalOf(map[string][]uint64{"k": {1, 2}})).Staleness
	if s.R1 != (StaleCount{Reads: 2, Missed: 1, Fraction: 0.5}) || s.Quorum.Reads != 2 || s.Quorum.Missed != 1 {
		t.Fatalf("staleness %+v, want r1 1 of 2, quorum 1 of 2", s)
	}
}

// Property: taking any acknowledged, never-deleted element out of the
// final read makes exactly one more lost element; putting back every
// element written makes nothing lost.
func TestPropertyRemovingAnAcknowledgedElementLosesExactlyIt(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 40).Draw(t, "elements")
		var ops []Op
		var all []uint64
		for e := uint64(1); e <= uint64(n); e++ {
			o := rapid.SampledFrom([]Outcome{OK, Info, Fail}).Draw(t, "outcome")
			ops = append(ops, add("k", e, o, float64(e), float64(e)+0.5))
			all = append(all, e)
		}
		full := Check(ops, nil, finalOf(map[string][]uint64{"k": all}))
		if full.Totals.Lost != 0 || full.Totals.Resurrected != 0 {
			t.Fatalf("everything present: %+v", full.Totals)
		}
		drop := rapid.IntRange(0, n-1).Draw(t, "drop")
		rest := slices.Delete(slices.Clone(all), drop, drop+1)
		v := Check(ops, nil, finalOf(map[string][]uint64{"k": rest}))
		want := 0
		if ops[drop].Outcome == OK {
			want = 1
		}
		if v.Totals.Lost != want || v.Totals.Acknowledged != full.Totals.Acknowledged {
			t.Fatalf("dropped element %d (%s): lost %d, want %d", drop+1, ops[drop].Outcome, v.Totals.Lost, want)
		}
	})
}

// An element whose own add was indeterminate is acknowledged all the same
// once a later acknowledged add read it and wrote it back: that write's
// value held it.
func TestAnIndeterminateElementWrittenBackByAnAcknowledgedAddIsAcknowledged(t *testing.T) {
	back := add("k", 2, OK, 2, 3)
	back.Read = []uint64{1}
	ops := []Op{add("k", 1, Info, 0, 1), back}
	v := Check(ops, nil, finalOf(map[string][]uint64{"k": {2}}))
	if v.Totals.Acknowledged != 2 || v.Totals.Lost != 1 || v.Totals.IndeterminateAbsent != 0 {
		t.Fatalf("totals %+v, want 2 acknowledged and element 1 lost", v.Totals)
	}
}

package verify

import (
	"slices"
	"sort"
	"time"
)

// Final is what the end of a run read, after convergence.
type Final struct {
	// Values is, per key, the union of the elements of R=N reads through
	// every node (sorted).
	Values map[string][]uint64
	// Unread are keys no final read could read: nothing is claimed of them.
	Unread map[string]bool
	// Differ are keys whose replicas' local copies still differ.
	Differ map[string]bool
}

// KeyResult is the check of one key.
type KeyResult struct {
	Key                 string   `json:"key"`
	Acknowledged        int      `json:"acknowledged"`
	Lost                int      `json:"lost"`
	IndeterminateSeen   int      `json:"indeterminate_seen"`
	IndeterminateAbsent int      `json:"indeterminate_absent"`
	Resurrected         int      `json:"resurrected"`
	FailedSeen          int      `json:"failed_seen"`
	ReplicasDiffer      bool     `json:"replicas_differ"`
	Unread              bool     `json:"unread"`
	LostElements        []uint64 `json:"lost_elements,omitempty"`
	ResurrectedElements []uint64 `json:"resurrected_elements,omitempty"`
}

// Totals add up the keys.
type Totals struct {
	Keys                int `json:"keys"`
	Acknowledged        int `json:"acknowledged"`
	Lost                int `json:"lost"`
	IndeterminateSeen   int `json:"indeterminate_seen"`
	IndeterminateAbsent int `json:"indeterminate_absent"`
	Resurrected         int `json:"resurrected"`
	FailedSeen          int `json:"failed_seen"`
	ReplicasDiffer      int `json:"replicas_differ"`
	Unread              int `json:"unread"`
}

// StaleCount is how many healthy reads at one level missed an element
// acknowledged before they began.
type StaleCount struct {
	Reads    int     `json:"reads"`
	Missed   int     `json:"missed"`
	Fraction float64 `json:"fraction"`
}

// Staleness is measured on probe reads that overlapped no fault.
type Staleness struct {
	R1     StaleCount `json:"r1"`
	Quorum StaleCount `json:"quorum"`
}

// Verdict is the checker's answer.
type Verdict struct {
	Totals    Totals      `json:"totals"`
	Keys      []KeyResult `json:"keys"`
	Staleness Staleness   `json:"staleness"`
}

// maxListed bounds the elements a key result names.
const maxListed = 10

// Check judges a history against the final reads.
func Check(ops []Op, events []Event, final Final) Verdict {
	var v Verdict
	byKey := groupByKey(ops)
	for _, k := range keysOf(ops) {
		kr := checkKey(k, byKey[k], final)
		v.Keys = append(v.Keys, kr)
		v.Totals.add(kr)
	}
	v.Staleness = staleness(ops, events)
	return v
}

func (t *Totals) add(k KeyResult) {
	t.Keys++
	t.Acknowledged += k.Acknowledged
	t.Lost += k.Lost
	t.IndeterminateSeen += k.IndeterminateSeen
	t.IndeterminateAbsent += k.IndeterminateAbsent
	t.Resurrected += k.Resurrected
	t.FailedSeen += k.FailedSeen
	if k.ReplicasDiffer {
		t.ReplicasDiffer++
	}
	if k.Unread {
		t.Unread++
	}
}

// keysOf lists the keys written to, sorted.
func keysOf(ops []Op) []string {
	seen := map[string]bool{}
	for _, op := range ops {
		if op.Kind != OpProbe && op.Kind != OpRead {
			seen[op.Key] = true
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func groupByKey(ops []Op) map[string][]Op {
	m := map[string][]Op{}
	for _, op := range ops {
		m[op.Key] = append(m[op.Key], op)
	}
	return m
}

// keyHistory is what the operations on one key did to its elements.
type keyHistory struct {
	added   map[uint64]Outcome // element -> outcome of the write that introduced it
	deleted map[uint64]Outcome // element -> strongest outcome of a delete whose read saw it
	order   []uint64           // elements in the order they were introduced
}

// historyOf reads one key's operations.
func historyOf(ops []Op) keyHistory {
	h := keyHistory{added: map[uint64]Outcome{}, deleted: map[uint64]Outcome{}}
	for _, op := range ops {
		switch op.Kind {
		case OpAdd, OpCreate:
			if op.Wrote != 0 {
				h.added[op.Wrote] = op.Outcome
				h.order = append(h.order, op.Wrote)
			}
			h.writtenBack(op)
		case OpDelete:
			for _, e := range op.Read {
				h.deleted[e] = stronger(h.deleted[e], op.Outcome)
			}
		}
	}
	return h
}

// writtenBack acknowledges the elements an acknowledged add read and wrote
// back with its new one, whatever became of the adds that introduced them:
// that write's value held them.
func (h keyHistory) writtenBack(op Op) {
	if op.Kind != OpAdd || op.Outcome != OK {
		return
	}
	for _, e := range op.Read {
		if _, known := h.added[e]; known {
			h.added[e] = OK
		}
	}
}

// stronger prefers ok over info over fail (or nothing).
func stronger(a, b Outcome) Outcome {
	rank := map[Outcome]int{OK: 3, Info: 2, Fail: 1}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func checkKey(key string, ops []Op, final Final) KeyResult {
	kr := KeyResult{Key: key, ReplicasDiffer: final.Differ[key], Unread: final.Unread[key]}
	h := historyOf(ops)
	for _, e := range h.order {
		if h.added[e] == OK {
			kr.Acknowledged++
		}
		if !kr.Unread {
			kr.judge(e, h, has(final.Values[key], e))
		}
	}
	return kr
}

// judge files element e under the figure it belongs to.
func (kr *KeyResult) judge(e uint64, h keyHistory, seen bool) {
	switch del := h.deleted[e]; {
	case del == OK:
		if seen {
			kr.Resurrected++
			kr.ResurrectedElements = appendBounded(kr.ResurrectedElements, e)
		}
	case del == Info:
		// A delete that may have happened: present and absent are both fine.
	case h.added[e] == OK:
		if !seen {
			kr.Lost++
			kr.LostElements = appendBounded(kr.LostElements, e)
		}
	case h.added[e] == Info && seen:
		kr.IndeterminateSeen++
	case h.added[e] == Info:
		kr.IndeterminateAbsent++
	case seen:
		kr.FailedSeen++
	}
}

func appendBounded(s []uint64, e uint64) []uint64 {
	if len(s) < maxListed {
		s = append(s, e)
	}
	return s
}

func has(sorted []uint64, e uint64) bool {
	_, ok := slices.BinarySearch(sorted, e)
	return ok
}

// staleness counts the healthy probes that missed an element acknowledged
// (its write had returned) before the probe began.
func staleness(ops []Op, events []Event) Staleness {
	acks := map[string][]Op{}
	for _, op := range ops {
		if op.Kind == OpAdd && op.Outcome == OK {
			acks[op.Key] = append(acks[op.Key], op)
		}
	}
	var s Staleness
	for _, p := range ops {
		if p.Kind != OpProbe || p.Outcome != OK || faulted(p, events) {
			continue
		}
		c := &s.Quorum
		if p.R == 1 {
			c = &s.R1
		}
		c.Reads++
		if missed(p, acks[p.Key]) {
			c.Missed++
		}
	}
	s.R1.Fraction, s.Quorum.Fraction = fraction(s.R1), fraction(s.Quorum)
	return s
}

func missed(p Op, acks []Op) bool {
	read := slices.Clone(p.Read)
	slices.Sort(read)
	for _, a := range acks {
		if a.End < p.Start && !has(read, a.Wrote) {
			return true
		}
	}
	return false
}

// faulted reports whether op overlapped a fault in force.
func faulted(op Op, events []Event) bool {
	for _, e := range events {
		if overlaps(op.Start, op.End, e.Start, e.End) {
			return true
		}
	}
	return false
}

func overlaps(a0, a1, b0, b1 time.Duration) bool { return a0 <= b1 && b0 <= a1 }

func fraction(c StaleCount) float64 {
	if c.Reads == 0 {
		return 0
	}
	return float64(c.Missed) / float64(c.Reads)
}

// Failed reports whether the verdict breaks a promise.
func (v Verdict) Failed() bool {
	t := v.Totals
	return t.Lost > 0 || t.Resurrected > 0 || t.ReplicasDiffer > 0 || t.Unread > 0
}

package hintwindow_test

import (
	"math/big"
	"slices"
	"sort"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/storage/hintwindow"
)

// The model: writes stored for one key at the given times (unix ns). The
// key's hint is live at now exactly when some write has been kept no
// longer than window, computed without overflow.
func liveByModel(writes []int64, now, window int64) bool {
	for _, w := range writes {
		age := new(big.Int).Sub(big.NewInt(now), big.NewInt(w))
		if age.Cmp(big.NewInt(window)) <= 0 {
			return true
		}
	}
	return false
}

func nanos(t *rapid.T, label string) int64 {
	return rapid.Int64Range(-1<<62, 1<<62).Draw(t, label)
}

// created folds Merged over a key's writes, as a store merging each write
// into the key's hint does.
func created(writes []int64) time.Time {
	c := time.Unix(0, writes[0])
	for _, w := range writes[1:] {
		c = hintwindow.Merged(c, time.Unix(0, w))
	}
	return c
}

// A hint whose writes were merged in any order expires exactly when the
// model says every one of its writes has been kept past the window.
func TestExpiredAgreesWithTheModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		writes := rapid.SliceOfN(rapid.Int64Range(-1<<62, 1<<62), 1, 8).Draw(t, "writes")
		now, window := nanos(t, "now"), rapid.Int64Range(0, 1<<62).Draw(t, "window")
		got := hintwindow.Expired(created(writes), time.Unix(0, now), time.Duration(window))
		if want := !liveByModel(writes, now, window); got != want {
			t.Fatalf("writes %v, now %d, window %d: expired %v, the model says %v", writes, now, window, got, want)
		}
	})
}

// Merged is order-free: commutative, associative, idempotent, and never
// moves a hint's creation earlier.
func TestMergedIsOrderFree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := time.Unix(0, nanos(t, "a")), time.Unix(0, nanos(t, "b")), time.Unix(0, nanos(t, "c"))
		m := hintwindow.Merged
		if !m(a, b).Equal(m(b, a)) || !m(m(a, b), c).Equal(m(a, m(b, c))) || !m(a, a).Equal(a) {
			t.Fatalf("Merged is not commutative, associative and idempotent on %v %v %v", a, b, c)
		}
		if m(a, b).Before(a) || m(a, b).Before(b) {
			t.Fatalf("Merged(%v, %v) = %v is older than a write", a, b, m(a, b))
		}
	})
}

// Ordered by creation time, the expired hints are exactly the prefix
// before Cutoff: what a store's index scan finds equals the brute-force
// set of expired hints.
func TestExpiredHintsAreThePrefixBeforeCutoff(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		hints := rapid.SliceOfN(rapid.Int64Range(-1<<62, 1<<62), 0, 50).Draw(t, "created")
		now, window := nanos(t, "now"), rapid.Int64Range(0, 1<<62).Draw(t, "window")
		var brute []int64
		for _, c := range hints {
			if !liveByModel([]int64{c}, now, window) {
				brute = append(brute, c)
			}
		}
		sorted := slices.Sorted(slices.Values(hints))
		cut := hintwindow.Cutoff(time.Unix(0, now), time.Duration(window))
		n := sort.Search(len(sorted), func(i int) bool { return !time.Unix(0, sorted[i]).Before(cut) })
		slices.Sort(brute)
		if !slices.Equal(sorted[:n], brute) {
			t.Fatalf("prefix before the cutoff %v is %v; the expired hints are %v", cut, sorted[:n], brute)
		}
	})
}

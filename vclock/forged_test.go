package vclock_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/vclock"
)

// genForgedSet draws Sets that keep the structural invariants (Validate
// passes, as for anything Decode accepts) but come from no real history: the
// same dot may carry different values in different Sets, as after disk
// corruption or a buggy peer.
func genForgedSet() *rapid.Generator[vclock.Set] {
	return rapid.Custom(func(t *rapid.T) vclock.Set {
		clock := genVV().Draw(t, "clock")
		var sibs []vclock.Sibling
		for _, e := range clock.Entries() {
			for c := uint64(1); c <= e.Counter; c++ {
				if rapid.Bool().Draw(t, "holds") {
					sibs = append(sibs, forgedSibling(t, vclock.Dot{Actor: e.Actor, Counter: c}))
				}
			}
		}
		return vclock.Set{Clock: clock, Siblings: sibs}
	})
}

func forgedSibling(t *rapid.T, d vclock.Dot) vclock.Sibling {
	if rapid.IntRange(0, 3).Draw(t, "kind") == 0 {
		return vclock.Sibling{Dot: d, Tombstone: true}
	}
	return vclock.Sibling{Dot: d, Value: []byte{rapid.ByteRange('a', 'c').Draw(t, "value")}}
}

func TestPropertySyncLawsHoldEvenForSetsNoHistoryProduced(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a, b, c := genForgedSet().Draw(t, "a"), genForgedSet().Draw(t, "b"), genForgedSet().Draw(t, "c")
		requireEqual(t, "commutative", vclock.Sync(b, a), vclock.Sync(a, b))
		requireEqual(t, "associative", vclock.Sync(a, vclock.Sync(b, c)), vclock.Sync(vclock.Sync(a, b), c))
		requireEqual(t, "idempotent", vclock.Sync(a, a), a)
		if err := vclock.Sync(a, b).Validate(); err != nil {
			t.Fatalf("Sync made an invalid set: %v", err)
		}
	})
}

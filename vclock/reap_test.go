package vclock_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/vclock"
)

// A replica that forgets a key (its tombstone reaped) but keeps one counter
// for all its keys never mints a dot that anything it ever held, or any
// context a client ever read, already covers: so no replica that still
// remembers the key can mistake the new write for an old one.
func TestPropertyAReplicaThatForgetsKeepsDotsFresh(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		a := vclock.Actor(rapid.Uint64Min(1).Draw(t, "actor"))
		var issued uint64
		var cur vclock.Set
		seen := []vclock.VV{{}} // every clock held and every context read
		for range rapid.IntRange(1, 30).Draw(t, "steps") {
			if rapid.Bool().Draw(t, "forget?") && !cur.Found() {
				cur = vclock.Set{} // reaped
				continue
			}
			ctx := rapid.SampledFrom(seen).Draw(t, "context")
			d := vclock.Dot{Actor: a, Counter: vclock.Next(cur, ctx, a, issued)}
			for _, vv := range seen {
				if vv.Covers(d) {
					t.Fatalf("new dot %v is covered by %v, seen earlier", d, vv)
				}
			}
			issued = d.Counter
			cur = vclock.UpdateDot(cur, ctx, d, []byte("v"), rapid.Bool().Draw(t, "delete?"))
			seen = append(seen, cur.Clock)
		}
	})
}

// SyncCounting counts exactly the dots both sides hold with different
// contents, and otherwise merges as Sync does.
func TestPropertySyncCountingCountsDotsWithTwoContents(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := genWorldN(t, 2)
		x, y := w.oldState(t), w.oldState(t)
		if rapid.Bool().Draw(t, "forge?") && len(y.Siblings) > 0 {
			y = forgeFirst(y)
		}
		got, n := vclock.SyncCounting(x, y)
		requireEqual(t, "SyncCounting's set", got, vclock.Sync(x, y))
		want := 0
		for _, s := range x.Siblings {
			for _, o := range y.Siblings {
				if s.Dot == o.Dot && (s.Tombstone != o.Tombstone || string(s.Value) != string(o.Value)) {
					want++
				}
			}
		}
		if n != want {
			t.Fatalf("SyncCounting(%v, %v) counted %d conflicts, want %d", x, y, n, want)
		}
	})
}

// forgeFirst returns s with its first sibling's content changed, as a
// replica that reused a dot would hold it.
func forgeFirst(s vclock.Set) vclock.Set {
	sibs := append([]vclock.Sibling(nil), s.Siblings...)
	sibs[0] = vclock.Sibling{Dot: sibs[0].Dot, Value: append([]byte("forged-"), sibs[0].Value...)}
	return vclock.Set{Clock: s.Clock, Siblings: sibs}
}

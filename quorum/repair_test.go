package quorum_test

import (
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/quorum"
	"github.com/ringkv/ringkv/vclock"
)

// TestStaleRepairConverges: writing Stale's merge to the stale replicas
// leaves every replica equal to the merge, and the replicas not listed
// already held it.
func TestStaleRepairConverges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		nodes := []string{"a", "b", "c"}
		replies := map[string]vclock.Set{}
		for _, n := range nodes {
			replies[n] = vclock.Set{}
		}
		steps := rapid.IntRange(0, 12).Draw(t, "steps")
		for i := range steps {
			n := rapid.SampledFrom(nodes).Draw(t, "node")
			if rapid.Bool().Draw(t, "write") { // a write or delete coordinated at n with a context it read
				s := replies[n]
				del := rapid.Bool().Draw(t, "delete")
				replies[n] = vclock.Update(s, s.Context(), vclock.Actor(slices.Index(nodes, n)+1), []byte{byte(i)}, del)
			} else { // n syncs from another replica
				o := rapid.SampledFrom(nodes).Draw(t, "from")
				replies[n] = vclock.Sync(replies[n], replies[o])
			}
		}
		merged, stale := quorum.Stale(replies)
		deleted := len(merged.Siblings) > 0 && !merged.Found()
		for n, s := range replies {
			if deleted && s.IsEmpty() {
				if slices.Contains(stale, n) {
					t.Fatalf("%s holds nothing but is sent a merge of tombstones", n)
				}
				continue
			}
			if !slices.Contains(stale, n) && !vclock.Equal(s, merged) {
				t.Fatalf("%s is not listed stale but differs from the merge", n)
			}
			if slices.Contains(stale, n) {
				replies[n] = vclock.Sync(s, merged)
			}
			if !vclock.Equal(replies[n], merged) {
				t.Fatalf("%s after repair differs from the merge", n)
			}
		}
	})
}

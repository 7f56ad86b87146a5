package quorum

import (
	"slices"

	"github.com/ringkv/ringkv/vclock"
)

// Stale decides read repair: given what each replica replied (an empty set
// for not found), it returns the sync of every reply and the replicas,
// sorted, whose copy differs from it and so should be sent the merge. A
// replica that holds nothing is not sent a merge made only of tombstones:
// it already reads the same, and it may have reaped that tombstone.
func Stale(replies map[string]vclock.Set) (vclock.Set, []string) {
	var merged vclock.Set
	for _, s := range replies {
		merged = vclock.Sync(merged, s)
	}
	deleted := len(merged.Siblings) > 0 && !merged.Found()
	var stale []string
	for node, s := range replies {
		if !vclock.Equal(s, merged) && !(deleted && s.IsEmpty()) {
			stale = append(stale, node)
		}
	}
	slices.Sort(stale)
	return merged, stale
}

package quorum

import (
	"slices"

	"github.com/ringkv/ringkv/vclock"
)

// Stale decides read repair: given what each replica replied (an empty set
// for not found), it returns the sync of every reply and the replicas,
// sorted, whose copy differs from it and so should be sent the merge.
func Stale(replies map[string]vclock.Set) (vclock.Set, []string) {
	var merged vclock.Set
	for _, s := range replies {
		merged = vclock.Sync(merged, s)
	}
	var stale []string
	for node, s := range replies {
		if !vclock.Equal(s, merged) {
			stale = append(stale, node)
		}
	}
	slices.Sort(stale)
	return merged, stale
}

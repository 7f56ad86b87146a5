//go:build ringkv_lww

package storage

import "github.com/ringkv/ringkv/vclock"

// lastWriteWins makes, in a build made with -tags ringkv_lww and never
// otherwise, a broken store that keeps one version per key instead of
// siblings: a coordinator's write replaces whatever it holds, context or
// not, and merging replicas keeps only the highest dot. Riak with
// last-write-wins lost acknowledged writes this way under Jepsen; this
// build exists so `ringkv verify` can be shown to catch it (make
// check-can-fail).
const lastWriteWins = true

// keepLast leaves s with one sibling: the one with the highest counter,
// then actor, so every replica keeps the same one.
func keepLast(s vclock.Set) vclock.Set {
	if len(s.Siblings) < 2 {
		return s
	}
	last := s.Siblings[0]
	for _, sib := range s.Siblings[1:] {
		if sib.Dot.Counter > last.Dot.Counter || (sib.Dot.Counter == last.Dot.Counter && sib.Dot.Actor > last.Dot.Actor) {
			last = sib
		}
	}
	s.Siblings = []vclock.Sibling{last}
	return s
}

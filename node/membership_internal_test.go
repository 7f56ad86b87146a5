package node

import (
	"slices"
	"testing"

	"github.com/ringkv/ringkv/membership"
	"github.com/ringkv/ringkv/ring"
)

// Every partition's route is its owners and pending owners from the agreed
// ring, and as fallbacks the rest of the ring's walk in order: the three
// never overlap, so a pending owner is never counted as a fallback.
func TestRoutesFollowTheAgreedRing(t *testing.T) {
	s, err := membership.New(ring.Config{Partitions: 64}, "n1", "n2", "n3", "n4")
	if err != nil {
		t.Fatal(err)
	}
	if s, err = s.Join("n5"); err != nil {
		t.Fatal(err)
	}
	if s, err = s.Leave("n2"); err != nil {
		t.Fatal(err)
	}
	routes := routesOf(s)
	for p, rt := range routes {
		if !slices.Equal(rt.Owners, s.Owners(p)) || !slices.Equal(rt.Pending, s.Pending(p)) {
			t.Fatalf("partition %d: route %+v, ring owners %v pending %v", p, rt, s.Owners(p), s.Pending(p))
		}
		var want []string
		for _, id := range s.Ring().Walk(p) {
			if !slices.Contains(rt.Owners, id) && !slices.Contains(rt.Pending, id) {
				want = append(want, id)
			}
		}
		if !slices.Equal(rt.Fallbacks, want) {
			t.Fatalf("partition %d: fallbacks %v, want %v", p, rt.Fallbacks, want)
		}
	}
	if len(s.Transfers()) == 0 {
		t.Fatal("a join and a leave made no pending owner: the test checks nothing about them")
	}
}

package quorum_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/quorum"
)

// placeCase is a random ring walk, coordinator, health and handoff setting.
type placeCase struct {
	walk    []string
	n       int
	self    string
	healthy map[string]bool
	handoff bool
}

func drawPlaceCase(t *rapid.T) placeCase {
	members := rapid.IntRange(1, 8).Draw(t, "members")
	ids := make([]string, members)
	for i := range ids {
		ids[i] = fmt.Sprintf("n%d", i)
	}
	walk := rapid.Permutation(ids).Draw(t, "walk")
	pc := placeCase{walk: walk, n: rapid.IntRange(1, 5).Draw(t, "n"), self: rapid.SampledFrom(ids).Draw(t, "self"),
		healthy: map[string]bool{}, handoff: rapid.Bool().Draw(t, "handoff")}
	for _, id := range ids {
		// The coordinator is always healthy to itself.
		pc.healthy[id] = id == pc.self || rapid.Bool().Draw(t, "healthy "+id)
	}
	return pc
}

// TestPlacementMatchesTheRules checks Place against its rules, stated one
// by one: only a primary coordinates; every other primary gets exactly one
// slot by its health; fallbacks are healthy non-primaries, each designated
// once, in ring order; and the replies counted are the slots that send.
func TestPlacementMatchesTheRules(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pc := drawPlaceCase(t)
		pl, err := quorum.Place(pc.walk, pc.n, pc.self, func(id string) bool { return pc.healthy[id] }, pc.handoff)
		primaries := pc.walk[:min(pc.n, len(pc.walk))]
		if !slices.Contains(primaries, pc.self) {
			if !errors.Is(err, quorum.ErrNotReplica) {
				t.Fatalf("%s coordinates for primaries %v: %+v, %v", pc.self, primaries, pl, err)
			}
			return
		}
		if err != nil || !slices.Equal(pl.Primaries, primaries) {
			t.Fatalf("primaries %v, %v; want %v", pl.Primaries, err, primaries)
		}
		checkSlots(t, pc, pl)
		checkFallbacks(t, pc, pl)
		if pl.Replies() != len(primaries)-len(pl.KeepHere) {
			t.Fatalf("replies %d for %d primaries, %d kept here", pl.Replies(), len(primaries), len(pl.KeepHere))
		}
	})
}

// checkSlots: each primary but the coordinator is in exactly one slot,
// chosen by its health and the handoff setting.
func checkSlots(t *rapid.T, pc placeCase, pl quorum.Placement) {
	slot := map[string]string{}
	put := func(kind string, ids ...string) {
		for _, id := range ids {
			if slot[id] != "" {
				t.Fatalf("%s is both %s and %s", id, slot[id], kind)
			}
			slot[id] = kind
		}
	}
	put("direct", pl.Direct...)
	put("keep-here", pl.KeepHere...)
	put("refused", pl.Refused...)
	for _, h := range pl.Hinted {
		put("hinted", h.Primary)
	}
	for _, p := range pl.Primaries {
		want := "direct"
		switch {
		case p == pc.self:
			want = ""
		case pc.healthy[p]:
		case !pc.handoff:
			want = "refused"
		case slot[p] == "keep-here":
			want = "keep-here" // checked against the fallbacks below
		default:
			want = "hinted"
		}
		if slot[p] != want {
			t.Fatalf("primary %s (healthy %v, handoff %v) is %q, want %q", p, pc.healthy[p], pc.handoff, slot[p], want)
		}
	}
	if len(slot) != len(pl.Primaries)-1 {
		t.Fatalf("slots %v for primaries %v", slot, pl.Primaries)
	}
}

// checkFallbacks: the designated fallbacks and then the spares are exactly
// the healthy nodes past the primaries, in ring order; a primary is kept
// here only when none was left.
func checkFallbacks(t *rapid.T, pc placeCase, pl quorum.Placement) {
	var want []string
	for _, id := range pc.walk[len(pl.Primaries):] {
		if pc.healthy[id] {
			want = append(want, id)
		}
	}
	var got []string
	for _, h := range pl.Hinted {
		got = append(got, h.Fallback)
	}
	got = append(got, pl.Spare...)
	if !slices.Equal(got, want) {
		t.Fatalf("fallbacks %v then spares %v; want the healthy non-primaries %v in ring order", pl.Hinted, pl.Spare, want)
	}
	if len(pl.KeepHere) > 0 && len(pl.Spare) > 0 {
		t.Fatalf("kept %v here with spares %v free", pl.KeepHere, pl.Spare)
	}
	// Fallbacks go to the suspected primaries in ring order: the ones kept
	// here are the last.
	var order []string
	for _, h := range pl.Hinted {
		order = append(order, h.Primary)
	}
	order = append(order, pl.KeepHere...)
	if !slices.IsSortedFunc(order, func(a, b string) int {
		return slices.Index(pl.Primaries, a) - slices.Index(pl.Primaries, b)
	}) {
		t.Fatalf("hinted %v then kept here %v: not in ring order %v", pl.Hinted, pl.KeepHere, pl.Primaries)
	}
}

// TestPlaceRouteKeepsPendingOwnersOutOfTheQuorum checks PlaceRoute against
// a route with pending owners: the primaries are the route's first N
// owners, every pending owner is an extra when healthy and skipped when
// not, and none of them is ever a primary's slot, a fallback or a reply.
// The owners' slots are as Place decides for the walk owners+fallbacks.
func TestPlaceRouteKeepsPendingOwnersOutOfTheQuorum(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		pc := drawPlaceCase(t)
		owners := rapid.IntRange(0, len(pc.walk)).Draw(t, "owners")
		rest := pc.walk[owners:]
		pending := rapid.IntRange(0, len(rest)).Draw(t, "pending")
		rt := quorum.Route{Owners: pc.walk[:owners], Pending: rest[:pending], Fallbacks: rest[pending:]}
		healthy := func(id string) bool { return pc.healthy[id] }
		pl, err := quorum.PlaceRoute(rt, pc.n, pc.self, healthy, pc.handoff)
		if !slices.Contains(rt.Owners[:min(pc.n, owners)], pc.self) {
			if !errors.Is(err, quorum.ErrNotReplica) {
				t.Fatalf("%s coordinates route %+v: %v", pc.self, rt, err)
			}
			return
		}
		// Oracle: the owners' slots are Place's over the walk without the
		// pending owners, whose owners are the route's (N at most).
		want, err2 := quorum.Place(append(slices.Clone(rt.Owners[:min(pc.n, owners)]), rt.Fallbacks...), min(pc.n, owners), pc.self, healthy, pc.handoff)
		if err != nil || err2 != nil {
			t.Fatalf("place %v, oracle %v", err, err2)
		}
		gotExtra, gotSkipped := pl.Extra, pl.Skipped
		pl.Extra, pl.Skipped = nil, nil
		if fmt.Sprint(pl) != fmt.Sprint(want) {
			t.Fatalf("route %+v placed %+v; want %+v", rt, pl, want)
		}
		var wantExtra, wantSkipped []string
		for _, id := range rt.Pending {
			if pc.healthy[id] {
				wantExtra = append(wantExtra, id)
			} else {
				wantSkipped = append(wantSkipped, id)
			}
		}
		if !slices.Equal(gotExtra, wantExtra) || !slices.Equal(gotSkipped, wantSkipped) {
			t.Fatalf("pending %v: extra %v skipped %v; want %v and %v", rt.Pending, gotExtra, gotSkipped, wantExtra, wantSkipped)
		}
	})
}

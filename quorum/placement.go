package quorum

import (
	"fmt"
	"slices"
	"strings"
)

// Placement is where one write goes, decided from the key's route, the
// coordinator's id and who is healthy before any replica is called. Every
// primary other than the coordinator is in exactly one of Direct, Hinted,
// KeepHere or Refused; every pending owner in exactly one of Extra or
// Skipped, and never in the others.
type Placement struct {
	Primaries []string  // the key's replicas: the first min(N, owners) owners
	Direct    []string  // healthy primaries, written on themselves
	Hinted    []Handoff // suspected primaries whose write goes to a designated fallback
	KeepHere  []string  // suspected primaries with no fallback free: the coordinator keeps their hints
	Refused   []string  // suspected primaries with hinted handoff off: failed at once
	Spare     []string  // healthy fallbacks not yet designated, in ring order, for primaries that fail
	Extra     []string  // healthy pending owners: written to, counted for nothing, sent no reply
	Skipped   []string  // suspected pending owners: not contacted, not hinted
}

// Handoff designates Fallback to hold the write as a hint for Primary.
type Handoff struct{ Primary, Fallback string }

// Replies is how many replies the write's fan-out sends, and so how many
// its tracker counts: one for the coordinator's own slot, which carries
// the KeepHere hints, and one for each other primary.
func (p Placement) Replies() int {
	return 1 + len(p.Direct) + len(p.Hinted) + len(p.Refused)
}

// Place decides the placement of a write routed by a ring walk with
// nothing pending (WalkRoute).
func Place(walk []string, n int, self string, healthy func(string) bool, handoff bool) (Placement, error) {
	return PlaceRoute(WalkRoute(walk, n), n, self, healthy, handoff)
}

// PlaceRoute decides a write's placement. self must be one of the key's
// primaries: a node that is not may not coordinate the key's writes, as
// its own copy would count toward W where anti-entropy never looks for
// the key's partition. Fallbacks are the route's healthy fallbacks, each
// designated for one suspected primary at most, in ring order. Healthy
// pending owners are extras; suspected ones are skipped.
func PlaceRoute(rt Route, n int, self string, healthy func(string) bool, handoff bool) (Placement, error) {
	p := Placement{Primaries: rt.Owners[:min(max(n, 0), len(rt.Owners))]}
	if !slices.Contains(p.Primaries, self) {
		return Placement{}, fmt.Errorf("%w: %s is not among its replicas (%s)", ErrNotReplica, self, strings.Join(p.Primaries, ", "))
	}
	for _, f := range rt.Fallbacks {
		if healthy(f) {
			p.Spare = append(p.Spare, f)
		}
	}
	for _, r := range p.Primaries {
		p.place(r, self, healthy(r), handoff)
	}
	for _, r := range rt.Pending {
		if healthy(r) {
			p.Extra = append(p.Extra, r)
		} else {
			p.Skipped = append(p.Skipped, r)
		}
	}
	return p, nil
}

// place puts primary r, other than the coordinator, in its slot.
func (p *Placement) place(r, self string, healthy, handoff bool) {
	switch {
	case r == self:
	case healthy:
		p.Direct = append(p.Direct, r)
	case !handoff:
		p.Refused = append(p.Refused, r)
	case len(p.Spare) > 0:
		p.Hinted = append(p.Hinted, Handoff{Primary: r, Fallback: p.Spare[0]})
		p.Spare = p.Spare[1:]
	default:
		p.KeepHere = append(p.KeepHere, r)
	}
}

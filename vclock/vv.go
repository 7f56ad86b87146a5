package vclock

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// Actor identifies one incarnation of a replica. A node draws a fresh random
// Actor whenever its data directory is new, so counters never restart under an
// old id. Zero is never a valid Actor.
type Actor uint64

// String formats a as lower-case hex, the form debugging output uses.
func (a Actor) String() string { return strconv.FormatUint(uint64(a), 16) }

// Entry is one component of a version vector: Actor's events 1..Counter have
// been seen.
type Entry struct {
	Actor   Actor
	Counter uint64
}

// VV is a version vector. The zero value is the empty vector. A VV is
// immutable; see the package invariants.
type VV struct {
	entries []Entry // sorted by Actor, unique, no zero Actor or Counter
}

// NewVV builds a VV from entries in any order: duplicates of an actor keep the
// largest counter, and entries with a zero Actor or zero Counter are dropped
// (a zero counter says nothing; a zero actor is invalid). entries is not
// retained.
func NewVV(entries ...Entry) VV {
	es := make([]Entry, 0, len(entries))
	for _, e := range entries {
		if e.Actor != 0 && e.Counter != 0 {
			es = append(es, e)
		}
	}
	slices.SortFunc(es, func(x, y Entry) int { return cmp.Compare(x.Actor, y.Actor) })
	return VV{entries: foldDuplicates(es)}
}

// foldDuplicates collapses runs of one actor in sorted es into a single entry
// holding the run's largest counter, in place.
func foldDuplicates(es []Entry) []Entry {
	out := es[:0]
	for _, e := range es {
		if n := len(out); n > 0 && out[n-1].Actor == e.Actor {
			out[n-1].Counter = max(out[n-1].Counter, e.Counter)
			continue
		}
		out = append(out, e)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Get returns a's counter, 0 if v has no entry for a.
func (v VV) Get(a Actor) uint64 {
	if i, ok := find(v.entries, a); ok {
		return v.entries[i].Counter
	}
	return 0
}

// find returns where a's entry is or would be inserted in es. It is written
// out rather than calling slices.BinarySearchFunc because every Covers on the
// Sync path lands here.
func find(es []Entry, a Actor) (int, bool) {
	lo, hi := 0, len(es)
	for lo < hi {
		if m := int(uint(lo+hi) >> 1); es[m].Actor < a {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(es) && es[lo].Actor == a
}

// Covers reports whether v has seen the write d.
func (v VV) Covers(d Dot) bool { return d.Counter <= v.Get(d.Actor) }

// Descends reports whether v has seen everything o has (v >= o pointwise).
func (v VV) Descends(o VV) bool {
	if len(o.entries) > len(v.entries) {
		return false // o names an actor v lacks
	}
	i := 0
	for _, e := range o.entries {
		for i < len(v.entries) && v.entries[i].Actor < e.Actor {
			i++
		}
		if i == len(v.entries) || v.entries[i].Actor != e.Actor || v.entries[i].Counter < e.Counter {
			return false
		}
	}
	return true
}

// Join returns the pointwise maximum of v and o. When one side already
// descends the other it is returned as is, so the common case of replicas
// that agree allocates nothing.
func (v VV) Join(o VV) VV {
	switch {
	case v.Descends(o):
		return v
	case o.Descends(v):
		return o
	}
	es := make([]Entry, 0, unionLen(v.entries, o.entries))
	return VV{entries: appendJoin(es, v.entries, o.entries)}
}

// unionLen counts the distinct actors of x and y, so a join can allocate its
// result exactly.
func unionLen(x, y []Entry) int {
	n, i, j := 0, 0, 0
	for ; i < len(x) && j < len(y); n++ {
		switch c := cmp.Compare(x[i].Actor, y[j].Actor); {
		case c <= 0:
			i++
			if c == 0 {
				j++
			}
		default:
			j++
		}
	}
	return n + len(x) - i + len(y) - j
}

// appendJoin appends the pointwise maximum of sorted x and y to dst.
func appendJoin(dst, x, y []Entry) []Entry {
	i, j := 0, 0
	for i < len(x) && j < len(y) {
		switch c := cmp.Compare(x[i].Actor, y[j].Actor); {
		case c < 0:
			dst = append(dst, x[i])
			i++
		case c > 0:
			dst = append(dst, y[j])
			j++
		default:
			dst = append(dst, Entry{x[i].Actor, max(x[i].Counter, y[j].Counter)})
			i, j = i+1, j+1
		}
	}
	dst = append(dst, x[i:]...)
	return append(dst, y[j:]...)
}

// advance returns v joined with ctx, with a's counter set to n (n must exceed
// both inputs' counters for a), in a single allocation: this is the clock of a
// write a coordinates.
func advance(v, ctx VV, a Actor, n uint64) VV {
	size := unionLen(v.entries, ctx.entries)
	if v.Get(a) == 0 && ctx.Get(a) == 0 {
		size++
	}
	es := appendJoin(make([]Entry, 0, size), v.entries, ctx.entries)
	if i, ok := find(es, a); ok {
		es[i].Counter = n
	} else {
		es = slices.Insert(es, i, Entry{a, n})
	}
	return VV{entries: es}
}

// Equal reports whether v and o hold the same entries.
func (v VV) Equal(o VV) bool { return slices.Equal(v.entries, o.entries) }

// Len returns the number of actors v has an entry for.
func (v VV) Len() int { return len(v.entries) }

// Entries returns v's entries sorted by Actor, in a slice the caller owns.
func (v VV) Entries() []Entry { return slices.Clone(v.entries) }

// String formats v for debugging, e.g. "{91bc:2, 3f2a91c0d4e5b6a7:4}":
// actors in hex, in numeric order.
func (v VV) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, e := range v.entries {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(Dot(e).String())
	}
	b.WriteByte('}')
	return b.String()
}

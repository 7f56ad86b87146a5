package vclock

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Dot names one write: the Counter-th event that Actor coordinated. Counter
// is at least 1.
type Dot struct {
	Actor   Actor
	Counter uint64
}

// Compare orders dots by Actor, then Counter, the order Set.Siblings is kept
// in.
func (d Dot) Compare(o Dot) int {
	if c := cmp.Compare(d.Actor, o.Actor); c != 0 {
		return c
	}
	return cmp.Compare(d.Counter, o.Counter)
}

// String formats d as "actor:counter", actor in hex.
func (d Dot) String() string {
	return d.Actor.String() + ":" + strconv.FormatUint(d.Counter, 10)
}

// Sibling is one live version of a key: a value, or a tombstone left by a
// delete (Value nil).
type Sibling struct {
	Dot       Dot
	Value     []byte
	Tombstone bool
}

// Set is a dotted version vector set: the versions of one key a replica holds
// and the clock of writes it has seen. The zero Set is a key never written.
// See the package invariants.
type Set struct {
	Clock    VV
	Siblings []Sibling
}

// Update applies a client write, coordinated by replica a, to a's current
// state s of the key (it must be a's latest state: minting from an older one
// could reuse a dot). ctx is the context the client read (the empty VV for a
// blind write). The siblings ctx covers were seen by the client and are replaced;
// the others are concurrent and stay. The write gets the dot
// (a, Next(s, ctx, a, 0)), so it is never covered by anything that existed
// before it. A delete is a tombstone: tombstone true, and value is then
// ignored.
//
// Update numbers the write from this key's state alone. A replica that can
// forget a key (reaping its tombstone) or lose its latest writes (a crash
// before they were synced) must not use it: it would number a later write
// like a forgotten one. Such a replica keeps one counter for all its keys
// and calls UpdateDot with Next(s, ctx, a, counter).
//
// value is stored without copying. Update panics if a is zero or a's counter
// would overflow; the latter only a forged context with
// ctx.Get(a) == math.MaxUint64 can cause, so callers taking contexts from
// untrusted clients should reject that first.
func Update(s Set, ctx VV, a Actor, value []byte, tombstone bool) Set {
	return UpdateDot(s, ctx, Dot{a, Next(s, ctx, a, 0)}, value, tombstone)
}

// Next returns the counter of the next write by a to a key whose state is s,
// under context ctx, when a has already issued counters up to issued: one
// above all three, so the new dot is covered by nothing that exists. It
// panics if a is zero or the counter would overflow.
func Next(s Set, ctx VV, a Actor, issued uint64) uint64 {
	n := max(s.Clock.Get(a), ctx.Get(a), issued)
	switch {
	case a == 0:
		panic("vclock: Update by the zero Actor")
	case n == math.MaxUint64:
		panic(fmt.Sprintf("vclock: counter of actor %v exhausted", a))
	}
	return n + 1
}

// UpdateDot is Update with the dot chosen by the caller, who must take it
// from Next: it panics if s or ctx already covers d.
func UpdateDot(s Set, ctx VV, d Dot, value []byte, tombstone bool) Set {
	if d.Actor == 0 || s.Clock.Covers(d) || ctx.Covers(d) {
		panic(fmt.Sprintf("vclock: dot %v is not new for %v under context %v", d, s.Clock, ctx))
	}
	if tombstone {
		value = nil
	}
	fresh := Sibling{Dot: d, Value: value, Tombstone: tombstone}
	return Set{Clock: advance(s.Clock, ctx, d.Actor, d.Counter), Siblings: supersede(s.Siblings, ctx, fresh)}
}

// supersede returns the siblings ctx does not cover plus fresh, in dot order,
// in a slice of exactly that length.
func supersede(sibs []Sibling, ctx VV, fresh Sibling) []Sibling {
	n := 1
	for _, s := range sibs {
		if !ctx.Covers(s.Dot) {
			n++
		}
	}
	out := make([]Sibling, 0, n)
	for _, s := range sibs {
		if !ctx.Covers(s.Dot) {
			out = append(out, s)
		}
	}
	i, _ := slices.BinarySearchFunc(out, fresh.Dot, func(s Sibling, d Dot) int { return s.Dot.Compare(d) })
	return slices.Insert(out, i, fresh) // within capacity: no second allocation
}

// Context returns the clock a read hands the client, to send back with its
// next write to this key.
func (s Set) Context() VV { return s.Clock }

// Values returns the values of the siblings that are not tombstones, in
// sibling order; nil if there are none.
func (s Set) Values() [][]byte {
	n := s.liveCount()
	if n == 0 {
		return nil
	}
	out := make([][]byte, 0, n)
	for _, sib := range s.Siblings {
		if !sib.Tombstone {
			out = append(out, sib.Value)
		}
	}
	return out
}

func (s Set) liveCount() int {
	n := 0
	for _, sib := range s.Siblings {
		if !sib.Tombstone {
			n++
		}
	}
	return n
}

// Found reports whether the key has a value: a key whose siblings are all
// tombstones reads as not found, though it still has a context.
func (s Set) Found() bool { return s.liveCount() > 0 }

// IsEmpty reports whether the key was never written (as far as this replica
// knows): no clock entries and no siblings.
func (s Set) IsEmpty() bool { return s.Clock.Len() == 0 && len(s.Siblings) == 0 }

// Equal reports whether a and b hold the same clock and the same siblings.
// Values compare by content; a nil and an empty value are equal.
func Equal(a, b Set) bool {
	return a.Clock.Equal(b.Clock) && slices.EqualFunc(a.Siblings, b.Siblings, func(x, y Sibling) bool {
		return compareSibling(x, y) == 0
	})
}

// compareSibling is a total order on siblings: by dot, then tombstones before
// values, then by value bytes.
func compareSibling(x, y Sibling) int {
	if c := x.Dot.Compare(y.Dot); c != 0 {
		return c
	}
	if x.Tombstone != y.Tombstone {
		if x.Tombstone {
			return -1
		}
		return 1
	}
	return bytes.Compare(x.Value, y.Value)
}

// Validate reports the first way s breaks the Set invariants, as an error
// wrapping ErrMalformed. Sets built by Update, Sync and Decode are always
// valid; Validate is for Sets assembled by hand.
func (s Set) Validate() error {
	for i, sib := range s.Siblings {
		if err := s.checkSibling(i, sib); err != nil {
			return err
		}
	}
	return nil
}

func (s Set) checkSibling(i int, sib Sibling) error {
	var problem string
	switch {
	case sib.Dot.Actor == 0 || sib.Dot.Counter == 0:
		problem = "has a zero actor or counter"
	case i > 0 && s.Siblings[i-1].Dot.Compare(sib.Dot) >= 0:
		problem = "is out of order or repeats a dot"
	case !s.Clock.Covers(sib.Dot):
		problem = "is not covered by the clock " + s.Clock.String()
	case sib.Tombstone && len(sib.Value) > 0:
		problem = "is a tombstone with a value"
	default:
		return nil
	}
	return fmt.Errorf("%w: sibling %d (dot %v) %s", ErrMalformed, i, sib.Dot, problem)
}

// String formats s for debugging, e.g. `{1:2, 2:1} [1:2="a" 2:1=<tombstone>]`.
func (s Set) String() string {
	var b strings.Builder
	b.WriteString(s.Clock.String())
	b.WriteString(" [")
	for i, sib := range s.Siblings {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(sib.Dot.String())
		b.WriteByte('=')
		if sib.Tombstone {
			b.WriteString("<tombstone>")
		} else {
			b.WriteString(strconv.Quote(string(sib.Value)))
		}
	}
	b.WriteByte(']')
	return b.String()
}

package vclock

// Sync merges two replicas' versions of a key. The clock is the join of both
// clocks. A sibling survives if both sides hold it, or if the other side has
// not seen it (its clock does not cover the dot); a sibling one side holds
// and the other has seen but no longer holds was superseded there, so it is
// dropped.
//
// Sync is commutative, associative and idempotent. When the result's siblings
// or clock equal one input's, that input's slice is reused, so replicas that
// already agree merge without allocating.
func Sync(a, b Set) Set {
	s, _ := SyncCounting(a, b)
	return s
}

// SyncCounting is Sync that also reports how many dots both sides hold with
// different contents. A dot names one write, so that count is zero unless
// a replica numbered two writes alike (or the input is corrupt or forged):
// the one place a merge can silently drop an acknowledged write.
func SyncCounting(a, b Set) (Set, int) {
	sibs, conflicts := syncSiblings(a, b)
	return Set{Clock: a.Clock.Join(b.Clock), Siblings: sibs}, conflicts
}

// syncSiblings counts the surviving siblings first, so the result is either
// an input's slice or a new slice of exactly the right length.
func syncSiblings(a, b Set) ([]Sibling, int) {
	n, sameA, sameB := 0, true, true
	m := merger{a: a, b: b}
	for m.next() {
		sameA = sameA && m.inA == m.keep
		sameB = sameB && m.inB == m.keep
		if m.keep {
			n++
		}
	}
	switch {
	case sameA:
		return a.Siblings, m.conflicts
	case sameB:
		return b.Siblings, m.conflicts
	}
	out := make([]Sibling, 0, n)
	for m := (merger{a: a, b: b}); m.next(); {
		if m.keep {
			out = append(out, *m.cur)
		}
	}
	return out, m.conflicts
}

// merger walks the siblings of two sets in dot order and decides, dot by dot,
// whether Sync keeps it.
type merger struct {
	a, b     Set
	i, j     int      // next unread sibling of a and of b
	cur      *Sibling // the sibling at the current dot
	inA, inB bool     // cur is exactly what a (b) holds at this dot
	keep     bool     // Sync keeps cur

	conflicts int // dots both sides hold with different contents
}

// next moves to the next dot either side holds, reporting false when both
// are exhausted.
func (m *merger) next() bool {
	sa, sb := m.a.Siblings, m.b.Siblings
	if m.i == len(sa) && m.j == len(sb) {
		return false
	}
	switch c := m.order(); {
	case c < 0:
		m.only(&sa[m.i], m.b.Clock, true)
		m.i++
	case c > 0:
		m.only(&sb[m.j], m.a.Clock, false)
		m.j++
	default:
		m.both(&sa[m.i], &sb[m.j])
		m.i, m.j = m.i+1, m.j+1
	}
	return true
}

// order compares the next dots of a and b; an exhausted side sorts last.
func (m *merger) order() int {
	switch {
	case m.j == len(m.b.Siblings):
		return -1
	case m.i == len(m.a.Siblings):
		return 1
	}
	return m.a.Siblings[m.i].Dot.Compare(m.b.Siblings[m.j].Dot)
}

// only handles a dot one side holds: keep it unless the other side saw it.
func (m *merger) only(s *Sibling, other VV, fromA bool) {
	m.cur, m.inA, m.inB = s, fromA, !fromA
	m.keep = !other.Covers(s.Dot)
}

// both handles a dot both sides hold. A dot names one write, so the two
// copies are normally identical; if corrupt or forged input makes them
// differ, the larger under compareSibling wins, which keeps Sync commutative
// and associative.
func (m *merger) both(x, y *Sibling) {
	m.keep = true
	c := compareSibling(*x, *y)
	if c != 0 {
		m.conflicts++
	}
	switch {
	case c == 0:
		m.cur, m.inA, m.inB = x, true, true
	case c > 0:
		m.cur, m.inA, m.inB = x, true, false
	default:
		m.cur, m.inA, m.inB = y, false, true
	}
}

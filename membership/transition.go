package membership

import (
	"errors"
	"fmt"
	"slices"
)

var (
	// ErrUnknownMember is returned for an id that is not in the record.
	ErrUnknownMember = errors.New("membership: unknown member")
	// ErrRetired is returned for a join of an id that left or was removed:
	// ids are never reused, so a returning machine takes a new id.
	ErrRetired = errors.New("membership: member id is retired")
	// ErrNotActive is returned for a leave of a member already leaving or
	// removed.
	ErrNotActive = errors.New("membership: member is not active")
	// ErrTooFewMembers is returned for a leave or remove that would leave
	// fewer active members than min(N, active members now): a change never
	// lowers the replica count of a partition. Add a member first.
	ErrTooFewMembers = errors.New("membership: too few members would remain")
	// ErrNotPending is returned by TransferDone for a member that is not
	// receiving the partition under the current target.
	ErrNotPending = errors.New("membership: not a pending owner")
)

// Join adds id as an Active member. It becomes a pending owner of the
// partitions whose target takes it in, and an owner of each once all of the
// partition's pending copies are done. Joining an Active member again
// changes nothing.
func (s State) Join(id string) (State, error) {
	if err := checkID(id); err != nil {
		return State{}, err
	}
	i, ok := s.find(id)
	if ok {
		if s.members[i].status != Active {
			return State{}, fmt.Errorf("%w: %q is %s", ErrRetired, id, s.members[i].status)
		}
		return s, nil
	}
	if len(s.members) >= MaxMembers {
		return State{}, fmt.Errorf("%w: %d", ErrTooManyMembers, MaxMembers)
	}
	ms := slices.Insert(slices.Clone(s.members), i, member{id: id, status: Active})
	return s.change(ms)
}

// Leave starts id's graceful leave: it drops out of the target ring and
// stays an owner of each partition until the partition's new owners have
// their copies. Once it owns nothing, Gone(id) reports true.
func (s State) Leave(id string) (State, error) {
	i, ok := s.find(id)
	switch {
	case !ok:
		return State{}, fmt.Errorf("%w: %q", ErrUnknownMember, id)
	case s.members[i].status != Active:
		return State{}, fmt.Errorf("%w: %q is %s", ErrNotActive, id, s.members[i].status)
	}
	return s.retire(i, Leaving)
}

// Remove takes id out for good, usually because it is dead: it stops being a
// donor, and its partitions are rebuilt on their new owners from the other
// owners. Removing a leaving member (it died while handing off) is allowed;
// removing a removed one changes nothing.
func (s State) Remove(id string) (State, error) {
	i, ok := s.find(id)
	switch {
	case !ok:
		return State{}, fmt.Errorf("%w: %q", ErrUnknownMember, id)
	case s.members[i].status == Removed:
		return s, nil
	}
	return s.retire(i, Removed)
}

// retire moves member i forward to status st, refusing to shrink the active
// set below min(N, its size).
func (s State) retire(i int, st Status) (State, error) {
	if s.members[i].status == Active {
		active := s.activeCount()
		if active-1 < min(s.cfg.N, active) {
			return State{}, fmt.Errorf("%w: %q would leave %d active members, N is %d",
				ErrTooFewMembers, s.members[i].id, active-1, s.cfg.N)
		}
	}
	ms := slices.Clone(s.members)
	ms[i].status = st
	return s.change(ms)
}

func (s State) activeCount() int {
	n := 0
	for _, m := range s.members {
		if m.status == Active {
			n++
		}
	}
	return n
}

// change installs new member statuses and settles what they make settled
// (a target that only drops members needs no copy).
func (s State) change(ms []member) (State, error) {
	s, err := s.withMembers(ms)
	if err != nil {
		return State{}, err
	}
	return s.Settle(), nil
}

// TransferDone records that to holds a complete copy of partition p and has
// received every write since the copy began: the receiver stayed pending
// throughout, so writes reached it. When every pending owner of p is done,
// p settles: its owners become its target, in one step, so that R and W
// always count one set of N owners, and members that left p's target stop
// owning it. A completion counts only for the target it was made under: if
// p's target changes first, the receiver reports again (if it is still
// pending, its copy is still current). Reporting twice changes nothing.
func (s State) TransferDone(p int, to string) (State, error) {
	if p < 0 || p >= s.cfg.Partitions {
		return State{}, fmt.Errorf("%w: %d not in 0..%d", ErrPartitionRange, p, s.cfg.Partitions-1)
	}
	if !slices.Contains(s.Pending(p), to) {
		return State{}, fmt.Errorf("%w: %q for partition %d", ErrNotPending, to, p)
	}
	if s.done(p, to) {
		return s, nil
	}
	f := fact{p: p, id: to, key: s.v.key[p]}
	i, _ := slices.BinarySearchFunc(s.facts, f, compareFact)
	s.facts = slices.Insert(slices.Clone(s.facts), i, f)
	return s.settle(func(q int) bool { return q == p }), nil
}

// Settle makes every partition whose pending copies are all done owned by
// its target. Transitions settle by themselves; call Settle after Merge, which
// only combines what two states know (completions made on two nodes can
// complete a partition together).
func (s State) Settle() State { return s.settle(func(int) bool { return true }) }

// settle settles the partitions which(p) selects. The new epoch is the
// state's weight, which is larger than every epoch settled under smaller
// member statuses, so a later settlement wins the merge.
func (s State) settle(which func(int) bool) State {
	copied := false
	for p := range s.regs {
		if !which(p) || !s.complete(p) {
			continue
		}
		if !copied {
			s.regs, copied = slices.Clone(s.regs), true
		}
		s.regs[p] = register{epoch: s.v.weight, owners: s.v.target[p]}
	}
	return s
}

// complete reports whether p's target differs from its owners and every
// member it adds has its copy.
func (s State) complete(p int) bool {
	target, owners := s.v.target[p], s.regs[p].owners
	if len(target) == 0 || (len(target) == len(owners) && len(missing(target, owners)) == 0) {
		return false
	}
	for _, id := range missing(target, owners) {
		if !s.done(p, id) {
			return false
		}
	}
	return true
}

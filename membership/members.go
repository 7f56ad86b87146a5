package membership

import "slices"

// Member is one entry of the record, with what it holds.
type Member struct {
	ID     string
	Status Status
	// Owned counts the partitions it currently owns; Pending those it is
	// receiving.
	Owned, Pending int
}

// Phase names where a member is for people: joining (active, still
// receiving), valid, leaving (still owns partitions), left, removed
// (rebuilding: still listed as an owner) and gone (removed, rebuilt).
func (m Member) Phase() string {
	switch {
	case m.Status == Active && m.Pending > 0:
		return "joining"
	case m.Status == Active:
		return "valid"
	case m.Status == Leaving && m.Owned > 0:
		return "leaving"
	case m.Status == Leaving:
		return "left"
	case m.Owned > 0:
		return "removed"
	}
	return "gone"
}

// Members returns every member of the record, retired ones included, in id
// order.
func (s State) Members() []Member {
	out := make([]Member, len(s.members))
	for i, m := range s.members {
		out[i] = Member{ID: m.id, Status: m.status}
	}
	count := func(ids []string, pending bool) {
		for _, id := range ids {
			if i, ok := s.find(id); ok {
				if pending {
					out[i].Pending++
				} else {
					out[i].Owned++
				}
			}
		}
	}
	for p := range s.regs {
		count(s.regs[p].owners, false)
		count(s.Pending(p), true)
	}
	return out
}

// Gone reports whether id is retired (leaving or removed) and owns nothing
// any more: a leaving node may exit, and peers may forget its address.
func (s State) Gone(id string) bool {
	st, ok := s.Status(id)
	if !ok || st == Active {
		return false
	}
	for _, r := range s.regs {
		if slices.Contains(r.owners, id) {
			return false
		}
	}
	return true
}

// Transfer is one pending copy: To is receiving partition Partition.
type Transfer struct {
	Partition int
	To        string
	// From lists the current owners that can send the copy (Removed ones
	// left out), in preference order; empty when no owner is left to copy
	// from, and the receiver then has nothing to wait for.
	From []string
	// Done is set once TransferDone recorded the copy under the current
	// target; To still counts for nothing until the whole partition settles.
	Done bool
}

// Transfers returns every pending copy, by partition and then preference
// order.
func (s State) Transfers() []Transfer {
	var out []Transfer
	for p := range s.regs {
		pending := s.Pending(p)
		if len(pending) == 0 {
			continue
		}
		var from []string
		for _, id := range s.regs[p].owners {
			if st, _ := s.Status(id); st != Removed {
				from = append(from, id)
			}
		}
		for _, to := range pending {
			out = append(out, Transfer{Partition: p, To: to, From: from, Done: s.done(p, to)})
		}
	}
	return out
}

// done reports whether id's copy of p is recorded under p's current target.
func (s State) done(p int, id string) bool {
	_, ok := slices.BinarySearchFunc(s.facts, fact{p: p, id: id}, compareFact)
	return ok
}

func compareFact(a, b fact) int {
	if a.p != b.p {
		return a.p - b.p
	}
	switch {
	case a.id < b.id:
		return -1
	case a.id > b.id:
		return 1
	}
	return 0
}

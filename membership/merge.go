package membership

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Merge returns the join of two states: what both know, by the rule in
// doc.go. It is commutative, associative and idempotent, so gossip may
// deliver states in any order, any number of times. It decides nothing: call
// Settle on the result to settle partitions that the two states' completions
// finish together. States of different ring configurations do not merge.
func Merge(a, b State) (State, error) {
	if a.cfg != b.cfg {
		return State{}, fmt.Errorf("%w: %+v and %+v", ErrConfigMismatch, a.cfg, b.cfg)
	}
	ms, err := mergeMembers(a.members, b.members)
	if err != nil {
		return State{}, err
	}
	out := State{cfg: a.cfg, regs: make([]register, len(a.regs))}
	for p := range out.regs {
		out.regs[p] = maxRegister(a.regs[p], b.regs[p])
	}
	out.facts = mergeFacts(a.facts, b.facts)
	return out.withMembers(ms)
}

// mergeMembers unions two sorted member lists, each member at the later of
// its two statuses.
func mergeMembers(a, b []member) ([]member, error) {
	out := make([]member, 0, max(len(a), len(b)))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch c := cmpNext(a, b, i, j); {
		case c < 0:
			out, i = append(out, a[i]), i+1
		case c > 0:
			out, j = append(out, b[j]), j+1
		default:
			out = append(out, member{id: a[i].id, status: max(a[i].status, b[j].status)})
			i, j = i+1, j+1
		}
	}
	if len(out) > MaxMembers {
		return nil, fmt.Errorf("%w: merge has %d, at most %d", ErrTooManyMembers, len(out), MaxMembers)
	}
	return out, nil
}

// cmpNext compares a[i] and b[j] by id, an exhausted side comparing last.
func cmpNext(a, b []member, i, j int) int {
	switch {
	case i == len(a):
		return 1
	case j == len(b):
		return -1
	}
	return strings.Compare(a[i].id, b[j].id)
}

// maxRegister orders registers by epoch, then by owner list, so that two
// partitions settled concurrently at equal epochs still merge the same way
// everywhere.
func maxRegister(a, b register) register {
	if c := cmp.Compare(a.epoch, b.epoch); c > 0 || (c == 0 && slices.Compare(a.owners, b.owners) >= 0) {
		return a
	}
	return b
}

// mergeFacts unions two sorted fact lists. Facts with equal (partition, id)
// but different keys are both kept for now; withMembers then drops every
// fact whose key is not the merged target's, leaving at most one.
func mergeFacts(a, b []fact) []fact {
	out := append(slices.Clone(a), b...)
	slices.SortFunc(out, func(x, y fact) int {
		return cmp.Or(compareFact(x, y), cmp.Compare(x.key, y.key))
	})
	return slices.Compact(out)
}

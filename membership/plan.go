package membership

import (
	"errors"
	"fmt"

	"github.com/ringkv/ringkv/ring"
)

var (
	// ErrNoTarget is returned by Plan when a ring has no active members.
	ErrNoTarget = errors.New("membership: no active members")
	// ErrUnknownOp is returned for a Change whose Op is not one of the three.
	ErrUnknownOp = errors.New("membership: unknown change")
)

// Op is a kind of membership change.
type Op uint8

const (
	// OpJoin adds a member.
	OpJoin Op = iota + 1
	// OpLeave starts a member's graceful leave.
	OpLeave
	// OpRemove takes a member out.
	OpRemove
)

func (o Op) String() string {
	switch o {
	case OpJoin:
		return "join"
	case OpLeave:
		return "leave"
	case OpRemove:
		return "remove"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Change is one membership change, for Plan.
type Change struct {
	Op Op
	ID string
}

// Apply returns s after the change.
func (c Change) Apply(s State) (State, error) {
	switch c.Op {
	case OpJoin:
		return s.Join(c.ID)
	case OpLeave:
		return s.Leave(c.ID)
	case OpRemove:
		return s.Remove(c.ID)
	}
	return State{}, fmt.Errorf("%w: %s", ErrUnknownOp, c.Op)
}

// Plan is what a set of changes would move: every partition whose replica
// set changes, and partition-replica counts per member and in total.
type Plan struct {
	// Changes lists, in partition order, the members that would gain and
	// lose each partition (ring.Diff of the targets before and after).
	Changes []ring.Change
	// In and Out count partition-replicas each member would receive and
	// hand off.
	In, Out map[string]int
	// Moved is the number of partition-replicas that would be copied.
	Moved int
	// Replicas is the number of partition-replicas in the ring after the
	// changes: Q × min(N, active members).
	Replicas int
}

// Fraction is the share of the ring's partition-replicas that would move.
func (p Plan) Fraction() float64 { return float64(p.Moved) / float64(p.Replicas) }

// Bytes weighs the plan with partition sizes (bytes of one replica of
// partition q), which only storage knows: the bytes each member would
// receive and the total.
func (p Plan) Bytes(size func(partition int) int64) (in map[string]int64, total int64) {
	in = map[string]int64{}
	for _, c := range p.Changes {
		sz := size(c.Partition)
		for _, id := range c.Gained {
			in[id] += sz
			total += sz
		}
	}
	return in, total
}

// Plan returns what applying changes, in order, to s would move between
// targets: it compares where partitions are going now (in-flight changes
// included) with where they would go after. It fails if a change would.
func (s State) Plan(changes ...Change) (Plan, error) {
	after := s
	for _, c := range changes {
		var err error
		if after, err = c.Apply(after); err != nil {
			return Plan{}, err
		}
	}
	if s.v.active == nil || after.v.active == nil {
		return Plan{}, ErrNoTarget
	}
	diff, err := ring.Diff(s.v.active, after.v.active)
	if err != nil {
		return Plan{}, fmt.Errorf("membership: %w", err)
	}
	pl := Plan{Changes: diff, In: map[string]int{}, Out: map[string]int{},
		Replicas: s.cfg.Partitions * min(s.cfg.N, len(after.v.active.Members()))}
	for _, c := range diff {
		for _, id := range c.Gained {
			pl.In[id]++
			pl.Moved++
		}
		for _, id := range c.Lost {
			pl.Out[id]++
		}
	}
	return pl, nil
}

package membership_test

import (
	"fmt"
	"math"
	"testing"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/membership"
	"github.com/ringkv/ringkv/ring"
)

// Plan predicts exactly the transfers the changes then start, member by
// member, on a settled ring.
func TestPlanIsWhatHappens(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := genCluster(t)
		s := c.nodes[0]
		var changes []membership.Change
		after := s
		for i := range rapid.IntRange(1, 3).Draw(t, "changes") {
			ch := membership.Change{Op: membership.OpJoin, ID: fmt.Sprintf("j%d", i)}
			if rapid.Bool().Draw(t, "retire") {
				ch = membership.Change{Op: membership.Op(rapid.IntRange(2, 3).Draw(t, "op")),
					ID: rapid.SampledFrom(ids(after, membership.Active)).Draw(t, "who")}
			}
			next, err := ch.Apply(after)
			if err != nil {
				continue
			}
			after, changes = next, append(changes, ch)
		}
		plan, err := s.Plan(changes...)
		if err != nil {
			t.Fatalf("Plan(%v): %v", changes, err)
		}
		in := map[string]int{}
		for _, x := range after.Transfers() {
			in[x.To]++
		}
		if len(after.Transfers()) != plan.Moved || fmt.Sprint(in) != fmt.Sprint(plan.In) {
			t.Fatalf("plan moves %d %v, the changes start %d %v", plan.Moved, plan.In, len(after.Transfers()), in)
		}
		_, total := plan.Bytes(func(int) int64 { return 10 })
		if total != int64(10*plan.Moved) {
			t.Fatalf("Bytes at 10 per partition: %d for %d moves", total, plan.Moved)
		}
	})
}

// Done-when 3's pure half: the share of partition-replicas a change moves is
// within 10% of what consistent hashing predicts, at the default shape.
func TestPlanMovesWhatConsistentHashingPredicts(t *testing.T) {
	join := func(id string) membership.Change { return membership.Change{Op: membership.OpJoin, ID: id} }
	for _, tc := range []struct {
		name    string
		from    []string
		changes []membership.Change
		predict float64
	}{
		{"3 -> 5, two joins at once", []string{"n1", "n2", "n3"}, []membership.Change{join("n4"), join("n5")}, 2.0 / 5},
		{"5 -> 4, one leave", []string{"n1", "n2", "n3", "n4", "n5"}, []membership.Change{{Op: membership.OpLeave, ID: "n3"}}, 1.0 / 5},
		{"4 -> 3, one remove", []string{"n1", "n2", "n3", "n4"}, []membership.Change{{Op: membership.OpRemove, ID: "n2"}}, 1.0 / 4},
		{"5 -> 6, one join", []string{"n1", "n2", "n3", "n4", "n5"}, []membership.Change{join("n6")}, 1.0 / 6},
	} {
		s := must(membership.New(ring.Config{}, tc.from...))
		plan, err := s.Plan(tc.changes...)
		if err != nil {
			t.Fatal(err)
		}
		// A joiner of an M-member ring takes 1/M of the replicas after; a
		// leaver of one hands off the 1/M it held (Q×N replicas either way).
		got := plan.Fraction()
		t.Logf("%s: %d of %d partition-replicas (%.3f, predicted %.3f)", tc.name, plan.Moved, plan.Replicas, got, tc.predict)
		if math.Abs(got-tc.predict) > 0.1*tc.predict {
			t.Errorf("%s: moves %.3f of the partition-replicas, consistent hashing predicts %.3f", tc.name, got, tc.predict)
		}
	}
}

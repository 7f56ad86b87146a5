package membership_test

import (
	"fmt"

	"github.com/ringkv/ringkv/membership"
	"github.com/ringkv/ringkv/ring"
)

// Two nodes join a three-node cluster at once, each through a different
// node; gossip merges both joins, and about 2/5 of the partition-replicas
// move, all of them to the two new nodes.
func Example_twoJoinsAtOnce() {
	n1, _ := membership.New(ring.Config{}, "n1", "n2", "n3")
	n2 := n1

	plan, _ := n1.Plan(membership.Change{Op: membership.OpJoin, ID: "n4"}, membership.Change{Op: membership.OpJoin, ID: "n5"})
	fmt.Printf("plan: %d of %d partition-replicas move (%.2f): n4 gets %d, n5 gets %d\n",
		plan.Moved, plan.Replicas, plan.Fraction(), plan.In["n4"], plan.In["n5"])

	n1, _ = n1.Join("n4") // through n1
	n2, _ = n2.Join("n5") // through n2, concurrently
	merged, _ := membership.Merge(n1, n2)
	merged = merged.Settle()
	fmt.Println("transfers:", len(merged.Transfers()))

	// Each receiver reports its copies as they finish.
	for _, tr := range merged.Transfers() {
		merged, _ = merged.TransferDone(tr.Partition, tr.To)
	}
	for _, m := range merged.Members() {
		fmt.Printf("%s %s owns %d\n", m.ID, m.Phase(), m.Owned)
	}
	// Output:
	// plan: 302 of 768 partition-replicas move (0.39): n4 gets 156, n5 gets 146
	// transfers: 302
	// n1 valid owns 143
	// n2 valid owns 166
	// n3 valid owns 157
	// n4 valid owns 156
	// n5 valid owns 146
}

// A member leaves: it stays an owner of each partition until the new owner
// has its copy, then it is gone and may exit.
func Example_leave() {
	s, _ := membership.New(ring.Config{}, "n1", "n2", "n3", "n4")
	plan, _ := s.Plan(membership.Change{Op: membership.OpLeave, ID: "n2"})
	fmt.Printf("plan: %d of %d partition-replicas move (%.2f), all from n2: %v\n",
		plan.Moved, plan.Replicas, plan.Fraction(), plan.Out["n2"] == plan.Moved)

	s, _ = s.Leave("n2")
	tr := s.Transfers()
	fmt.Println("transfers:", len(tr), "n2 gone:", s.Gone("n2"))
	for _, x := range tr {
		s, _ = s.TransferDone(x.Partition, x.To)
	}
	fmt.Println("transfers:", len(s.Transfers()), "n2 gone:", s.Gone("n2"))
	_, err := s.Leave("n1")
	fmt.Println(err)
	// Output:
	// plan: 196 of 768 partition-replicas move (0.26), all from n2: true
	// transfers: 196 n2 gone: false
	// transfers: 0 n2 gone: true
	// membership: too few members would remain: "n1" would leave 2 active members, N is 3
}

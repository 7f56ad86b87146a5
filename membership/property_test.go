package membership_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/membership"
	"github.com/ringkv/ringkv/ring"
)

// cluster is a few nodes, each with its own copy of the state, on which a
// test applies transitions and delivers gossip; states records every state
// any node held, for the merge laws.
//
// holds is the ground truth of who has a copy of which partition: the
// founders' owners, then every receiver of a finished transfer; a member
// loses its copy (deletes it) once no node lists it as an owner or pending
// owner any more, since then no write reaches it.
type cluster struct {
	nodes  []membership.State
	states []membership.State
	holds  []map[string]bool // per partition
	fresh  int
}

func genCluster(t *rapid.T) *cluster {
	cfg := ring.Config{
		Partitions: 1 << rapid.IntRange(0, 5).Draw(t, "log2Q"),
		VNodes:     rapid.IntRange(1, 8).Draw(t, "V"),
		N:          rapid.IntRange(1, 3).Draw(t, "N"),
	}
	var founders []string
	for i := range rapid.IntRange(1, 4).Draw(t, "founders") {
		founders = append(founders, fmt.Sprintf("f%d", i))
	}
	s := must(membership.New(cfg, founders...))
	c := &cluster{states: []membership.State{s}}
	for p := range s.Partitions() {
		c.holds = append(c.holds, map[string]bool{})
		for _, id := range s.Owners(p) {
			c.holds[p][id] = true
		}
	}
	for range rapid.IntRange(2, 4).Draw(t, "nodes") {
		c.nodes = append(c.nodes, s)
	}
	return c
}

// step applies one random transition or gossip delivery at a random node.
// Gossip here is what a node will do: merge, then settle.
func (c *cluster) step(t *rapid.T) {
	i := rapid.IntRange(0, len(c.nodes)-1).Draw(t, "node")
	s := c.nodes[i]
	var next membership.State
	var err error
	switch rapid.IntRange(0, 4).Draw(t, "op") {
	case 0:
		c.fresh++
		next, err = s.Join(fmt.Sprintf("j%d", c.fresh))
	case 1:
		next, err = s.Leave(pick(t, "leave", ids(s, membership.Active)))
	case 2:
		next, err = s.Remove(pick(t, "remove", ids(s, 0)))
	case 3:
		tr := s.Transfers()
		if len(tr) == 0 {
			return
		}
		x := rapid.SampledFrom(tr).Draw(t, "transfer")
		next, err = s.TransferDone(x.Partition, x.To)
		c.holds[x.Partition][x.To] = true
	default:
		from := rapid.IntRange(0, len(c.nodes)-1).Draw(t, "from")
		next = merge(t, s, c.nodes[from])
	}
	if err != nil {
		return // refused (too few members, unknown, retired): nothing changes
	}
	checkInvariants(t, next)
	checkOwnerSteps(t, s, next)
	c.nodes[i] = next
	c.states = append(c.states, next)
	c.checkCopies(t)
}

// checkCopies drops the copies no node sends writes to any more, then
// checks that every owner any node knows of holds a copy.
func (c *cluster) checkCopies(t *rapid.T) {
	for p, holds := range c.holds {
		for id := range holds {
			if !slices.ContainsFunc(c.nodes, func(s membership.State) bool {
				return slices.Contains(s.Owners(p), id) || slices.Contains(s.Pending(p), id)
			}) {
				delete(holds, id)
			}
		}
		for _, s := range c.nodes {
			for _, id := range s.Owners(p) {
				if !holds[id] {
					t.Fatalf("partition %d: %q is an owner without a copy", p, id)
				}
			}
		}
	}
}

func pick(t *rapid.T, label string, from []string) string {
	if len(from) == 0 {
		return "nobody"
	}
	return rapid.SampledFrom(from).Draw(t, label)
}

// ids returns the members with status st, or every member if st is 0.
func ids(s membership.State, st membership.Status) []string {
	var out []string
	for _, m := range s.Members() {
		if st == 0 || m.Status == st {
			out = append(out, m.ID)
		}
	}
	return out
}

// checkInvariants: every partition has owners plus pending covering its
// target of min(N, active) members; pending owners are active; nothing has
// more than N owners; the state survives its encoding.
func checkInvariants(t *rapid.T, s membership.State) {
	active := len(ids(s, membership.Active))
	want := min(s.Config().N, active)
	for p := range s.Partitions() {
		owners, pending := s.Owners(p), s.Pending(p)
		if len(s.Target(p)) != want || len(owners)+len(pending) < want || len(owners) > s.Config().N {
			t.Fatalf("partition %d: target %q owners %q pending %q, %d active, N=%d",
				p, s.Target(p), owners, pending, active, s.Config().N)
		}
		for _, id := range pending {
			if st, _ := s.Status(id); st != membership.Active {
				t.Fatalf("partition %d: pending owner %q is %s", p, id, st)
			}
		}
	}
	back, err := membership.Unmarshal(s.Config(), s.Marshal())
	if err != nil || !bytes.Equal(back.Marshal(), s.Marshal()) {
		t.Fatalf("encoding round trip: %v", err)
	}
}

// checkOwnerSteps: a partition's owners change only to its whole target
// (settling), or, by a merge, to owners another node settled on.
func checkOwnerSteps(t *rapid.T, before, after membership.State) {
	for p := range after.Partitions() {
		old, cur := before.Owners(p), after.Owners(p)
		if slices.Equal(old, cur) || slices.Equal(cur, after.Target(p)) {
			continue
		}
		if sameSet(cur, after.Target(p)) {
			t.Fatalf("partition %d: owners %q are the target %q out of order", p, cur, after.Target(p))
		}
	}
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func run(t *rapid.T) *cluster {
	c := genCluster(t)
	for range rapid.IntRange(1, 30).Draw(t, "steps") {
		c.step(t)
	}
	return c
}

// Merge is a join-semilattice on any states concurrent transitions make.
func TestMergeIsASemilattice(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := run(t)
		a := rapid.SampledFrom(c.states).Draw(t, "a")
		b := rapid.SampledFrom(c.states).Draw(t, "b")
		d := rapid.SampledFrom(c.states).Draw(t, "c")
		join := func(x, y membership.State) membership.State { return must(membership.Merge(x, y)) }
		eq := func(law string, x, y membership.State) {
			if !bytes.Equal(x.Marshal(), y.Marshal()) {
				t.Fatalf("%s fails:\n%v\n%v", law, x, y)
			}
		}
		eq("commutativity", join(a, b), join(b, a))
		eq("associativity", join(join(a, b), d), join(a, join(b, d)))
		eq("idempotence", join(a, a), a)
		eq("absorption", join(a, join(a, b)), join(a, b))
		empty := must(membership.Empty(a.Config()))
		eq("empty is the bottom", join(empty, a), a)
	})
}

// Gossip that only merges, delivered in any order and any number of times,
// brings every node to the same state: the join of what each node did.
func TestAnyDeliveryOrderConverges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := run(t)
		deliver := func(label string) membership.State {
			order := rapid.Permutation(c.nodes).Draw(t, label)
			order = append(order, rapid.SliceOfN(rapid.SampledFrom(c.nodes), 0, 4).Draw(t, label+" repeats")...)
			got := must(membership.Empty(c.nodes[0].Config()))
			for _, s := range order {
				got = must(membership.Merge(got, s))
			}
			return got
		}
		a, b := deliver("one order"), deliver("another order")
		if a.Digest() != b.Digest() {
			t.Fatalf("two delivery orders differ:\n%v\n%v", a, b)
		}
	})
}

// Nodes that merge and settle on every delivery, as nodes will, agree once
// each has heard from every other, then completing every transfer settles
// each partition on ring.New's preference list over the remaining members,
// and partition-replicas moved only to members that joined and from members
// that left, never between two that stayed.
func TestGossipAgreesAndSettlesOnTheRing(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		c := run(t)
		hub := c.nodes[0]
		for _, s := range c.nodes[1:] {
			hub = merge(t, hub, s)
		}
		for i, s := range c.nodes {
			if c.nodes[i] = merge(t, s, hub); c.nodes[i].Digest() != hub.Digest() {
				t.Fatalf("node %d disagrees after hearing from everyone:\n%v\n%v", i, c.nodes[i], hub)
			}
		}
		done := finish(t, hub)
		if len(ids(done, membership.Active)) == 0 {
			// Concurrent leaves through different nodes left nobody (each
			// was allowed where it was made); owners stay as they were.
			return
		}
		ownersAreRing(t, done)
		checkMovement(t, c.states[0], done)
	})
}

// checkMovement compares the founders' owners with the final ones: a
// member that stayed active loses a partition only to a joiner, and gains
// one only from a member that left, as many times as those happen.
func checkMovement(t *rapid.T, first, last membership.State) {
	stays := func(id string) bool {
		a, _ := first.Status(id)
		b, _ := last.Status(id)
		return a == membership.Active && b == membership.Active
	}
	for p := range last.Partitions() {
		lost, won := gained(last.Owners(p), first.Owners(p)), gained(first.Owners(p), last.Owners(p))
		lostStay, lostLeft := split(lost, stays)
		wonStay, wonJoined := split(won, stays)
		if len(lostStay) > len(wonJoined) || len(wonStay) > len(lostLeft) {
			t.Fatalf("partition %d: owners %q -> %q moved between members that stayed", p, first.Owners(p), last.Owners(p))
		}
	}
}

func split(ids []string, f func(string) bool) (yes, no []string) {
	for _, id := range ids {
		if f(id) {
			yes = append(yes, id)
		} else {
			no = append(no, id)
		}
	}
	return yes, no
}

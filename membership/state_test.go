package membership_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/ringkv/ringkv/membership"
	"github.com/ringkv/ringkv/ring"
)

// small is a ring shape cheap enough for property tests.
var small = ring.Config{Partitions: 32, VNodes: 8, N: 3}

// tb is what both *testing.T and *rapid.T offer.
type tb interface {
	Helper()
	Fatalf(format string, args ...any)
}

// must returns s, or panics on err: a transition a test expects to succeed
// failed (rapid reports a panic as a failure, with the draws that led to it).
func must(s membership.State, err error) membership.State {
	if err != nil {
		panic(err)
	}
	return s
}

func merge(t tb, a, b membership.State) membership.State {
	t.Helper()
	return must(membership.Merge(a, b)).Settle()
}

// finish completes every transfer until nothing is pending.
func finish(t tb, s membership.State) membership.State {
	t.Helper()
	s = s.Settle()
	for {
		i := slices.IndexFunc(s.Transfers(), func(x membership.Transfer) bool { return !x.Done })
		if i < 0 {
			return s
		}
		x := s.Transfers()[i]
		s = must(s.TransferDone(x.Partition, x.To))
	}
}

// sameOwners fails unless a and b give every partition the same owners and
// pending owners.
func sameOwners(t tb, a, b membership.State) {
	t.Helper()
	for p := range a.Partitions() {
		if !slices.Equal(a.Owners(p), b.Owners(p)) || !slices.Equal(a.Pending(p), b.Pending(p)) {
			t.Fatalf("partition %d: owners %q pending %q vs owners %q pending %q",
				p, a.Owners(p), a.Pending(p), b.Owners(p), b.Pending(p))
		}
	}
}

// ownersAreRing fails unless every partition is settled on ring.New's
// preference list over s's active members.
func ownersAreRing(t tb, s membership.State) {
	t.Helper()
	var active []string
	for _, m := range s.Members() {
		if m.Status == membership.Active {
			active = append(active, m.ID)
		}
	}
	r, err := ring.New(s.Config(), active)
	if err != nil {
		t.Fatalf("ring over %q: %v", active, err)
	}
	for p := range s.Partitions() {
		if !slices.Equal(s.Owners(p), r.Preference(p)) || len(s.Pending(p)) > 0 {
			t.Fatalf("partition %d: owners %q pending %q, ring.New gives %q", p, s.Owners(p), s.Pending(p), r.Preference(p))
		}
	}
}

func TestNewOwnsEverythingAtOnce(t *testing.T) {
	s := must(membership.New(small, "n2", "n1", "n3", "n1"))
	if tr := s.Transfers(); len(tr) != 0 {
		t.Fatalf("a new cluster has transfers: %v", tr)
	}
	ownersAreRing(t, s)
}

// Done-when 1, the pure half: a node that joins while n3 is down learns the
// record from a live peer, n3 included, and computes the same owners as
// everyone; so it does once n3 returns with its stale state, and after n3 is
// removed. Computing the ring from the members one has heard of, as nodes did
// before, places many partitions differently.
func TestJoinWhileAMemberIsDownAgreesWithEveryone(t *testing.T) {
	founders := must(membership.New(small, "n1", "n2", "n3"))
	n1, n2, n3 := founders, founders, founders // n3 goes down here, keeping its state
	n1 = must(n1.Join("n4"))
	empty := must(membership.Empty(small))
	n4 := merge(t, empty, n1)
	sameOwners(t, n4, n1)
	n2 = merge(t, n2, n4)
	sameOwners(t, n2, n1)

	hearsay, _ := ring.New(small, []string{"n1", "n2", "n4"})
	agreed := n4.Ring()
	differ := 0
	for p := range small.Partitions {
		if !slices.Equal(hearsay.Preference(p), agreed.Preference(p)) {
			differ++
		}
	}
	if differ == 0 {
		t.Fatalf("the ring from heard-of members agrees with the agreed one: the test shows nothing")
	}
	t.Logf("a ring from heard-of members places %d of %d partitions differently", differ, small.Partitions)

	n4 = finish(t, n4)
	n3 = merge(t, n3, n4) // n3 returns
	n1, n2 = merge(t, n1, n3), merge(t, n2, n4)
	for _, s := range []membership.State{n1, n2, n3} {
		sameOwners(t, s, n4)
	}
	ownersAreRing(t, n4)

	n1 = finish(t, must(n1.Remove("n3")))
	for _, s := range []membership.State{n2, n3, n4} {
		sameOwners(t, merge(t, s, n1), n1)
	}
	ownersAreRing(t, n1)
}

// A joining member is pending until the whole partition's copies are done,
// then the partition's owners switch to its target in one step.
func TestJoinIsPendingUntilDone(t *testing.T) {
	s := must(must(membership.New(small, "n1", "n2", "n3")).Join("n4"))
	tr := s.Transfers()
	if len(tr) == 0 {
		t.Fatal("joining n4 moves nothing")
	}
	x := tr[0]
	if slices.Contains(s.Owners(x.Partition), "n4") || !slices.Equal(s.Pending(x.Partition), []string{"n4"}) {
		t.Fatalf("partition %d: owners %q pending %q", x.Partition, s.Owners(x.Partition), s.Pending(x.Partition))
	}
	if len(x.From) != 3 || x.Done {
		t.Fatalf("transfer %+v", x)
	}
	before := s.Owners(x.Partition)
	s = must(s.TransferDone(x.Partition, "n4"))
	after := s.Owners(x.Partition)
	if !slices.Contains(after, "n4") || len(after) != 3 || len(gained(before, after)) != 1 {
		t.Fatalf("partition %d after done: owners %q (were %q)", x.Partition, after, before)
	}
	if _, err := s.TransferDone(x.Partition, "n4"); !errors.Is(err, membership.ErrNotPending) {
		t.Fatalf("done again on a settled partition: %v", err)
	}
}

// gained returns the members of b that are not in a.
func gained(a, b []string) []string {
	return slices.DeleteFunc(slices.Clone(b), func(id string) bool { return slices.Contains(a, id) })
}

func TestLeaveHandsOffThenIsGone(t *testing.T) {
	s := must(membership.New(small, "n1", "n2", "n3", "n4"))
	s = must(s.Leave("n2"))
	if s.Gone("n2") {
		t.Fatal("n2 is gone before handing anything off")
	}
	for _, x := range s.Transfers() {
		if slices.Contains(x.From, "n2") != slices.Contains(s.Owners(x.Partition), "n2") || x.To == "n2" {
			t.Fatalf("transfer %+v with owners %q", x, s.Owners(x.Partition))
		}
	}
	s = finish(t, s)
	if !s.Gone("n2") {
		t.Fatal("n2 still owns partitions after every hand-off")
	}
	ownersAreRing(t, s)
	if m := s.Members()[1]; m.ID != "n2" || m.Phase() != "left" {
		t.Fatalf("member %+v, phase %s", m, m.Phase())
	}
}

// Leave and remove refuse to bring the active members below min(N, active),
// ids are never reused, and repeated changes are no-ops.
func TestRefusedAndRepeatedChanges(t *testing.T) {
	three := must(membership.New(small, "n1", "n2", "n3"))
	for name, err := range map[string]error{
		"leave below N":     second(three.Leave("n1")),
		"remove below N":    second(three.Remove("n1")),
		"leave unknown":     second(three.Leave("n9")),
		"remove unknown":    second(three.Remove("n9")),
		"empty id":          second(three.Join("")),
		"done out of range": second(three.TransferDone(small.Partitions, "n1")),
		"done not pending":  second(three.TransferDone(0, "n1")),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := three.Leave("n1"); !errors.Is(err, membership.ErrTooFewMembers) {
		t.Errorf("leave below N: %v", err)
	}
	four := must(must(three.Join("n4")).Remove("n4"))
	if _, err := four.Join("n4"); !errors.Is(err, membership.ErrRetired) {
		t.Errorf("rejoin of a removed id: %v", err)
	}
	if _, err := four.Leave("n4"); !errors.Is(err, membership.ErrNotActive) {
		t.Errorf("leave of a removed id: %v", err)
	}
	for name, s := range map[string]membership.State{
		"join twice":   must(four.Join("n1")),
		"remove twice": must(four.Remove("n4")),
	} {
		if s.Digest() != four.Digest() {
			t.Errorf("%s changed the state", name)
		}
	}
}

func second(_ membership.State, err error) error { return err }

// Two joins through two nodes, and a join during a leave, all survive the
// merge; completions reported on different nodes settle together once
// merged; the end is ring.New's lists over who remains.
func TestConcurrentChangesBothSurvive(t *testing.T) {
	base := must(membership.New(small, "n1", "n2", "n3", "n4"))
	a := must(base.Join("n5"))
	b := must(must(base.Leave("n2")).Join("n6"))
	m := merge(t, a, b)
	for id, want := range map[string]membership.Status{"n5": membership.Active, "n6": membership.Active, "n2": membership.Leaving} {
		if st, _ := m.Status(id); st != want {
			t.Fatalf("%s is %s after the merge, want %s", id, st, want)
		}
	}
	// Split the work: a reports the copies to n5, b those to n6 and the rest.
	a, b = m, m
	for _, x := range m.Transfers() {
		if x.To == "n5" {
			a = must(a.TransferDone(x.Partition, x.To))
		} else {
			b = must(b.TransferDone(x.Partition, x.To))
		}
	}
	if len(a.Transfers()) == 0 || len(b.Transfers()) == 0 {
		t.Fatal("every partition settled on one side: the split shows nothing")
	}
	m = merge(t, a, b)
	if tr := m.Transfers(); len(tr) != 0 {
		t.Fatalf("after merging both sides' completions, %d transfers remain: %v", len(tr), tr[0])
	}
	ownersAreRing(t, m)
	if !m.Gone("n2") {
		t.Fatal("n2 still owns partitions")
	}
}

// A completion counts only for the target it was made under: a receiver
// pushed out of a partition's target (it then gets no writes) and back in
// again must copy again, even though the target's member list is the same
// as when it reported, and even when its old completion comes back by
// gossip from a node that never saw it pushed out.
func TestCompletionDoesNotOutliveItsTarget(t *testing.T) {
	s := must(must(must(membership.New(small, "n1", "n2", "n3", "n4")).Join("m")).Join("y"))
	p := -1
	for q := range s.Partitions() {
		if pend := s.Pending(q); slices.Contains(pend, "m") && slices.Contains(pend, "y") {
			p = q
			break
		}
	}
	if p < 0 {
		t.Fatal("no partition receives both m and y")
	}
	s = must(s.TransferDone(p, "m")) // y is not done: p stays unsettled
	target := s.Target(p)
	var pushed membership.State
	for i := 0; i < 1000 && pushed.Partitions() == 0; i++ {
		if next := must(s.Join(fmt.Sprintf("x%d", i))); !slices.Contains(next.Target(p), "m") {
			pushed = must(next.Remove(fmt.Sprintf("x%d", i)))
		}
	}
	if pushed.Partitions() == 0 {
		t.Fatal("no joiner pushes m out of the partition's target")
	}
	if !slices.Equal(pushed.Target(p), target) {
		t.Fatalf("target %q after the joiner is removed, was %q", pushed.Target(p), target)
	}
	for _, x := range merge(t, s, pushed).Transfers() {
		if x.Partition == p && x.To == "m" && x.Done {
			t.Fatalf("m's completion from before it was pushed out still counts: %+v", x)
		}
	}
}

// A state of another ring shape is refused before anything is built from it,
// by Unmarshal and by Merge; a state round-trips through its encoding.
func TestEncodingAndShapes(t *testing.T) {
	s := must(must(membership.New(small, "n1", "n2", "n3")).Join("n4"))
	back, err := membership.Unmarshal(small, s.Marshal())
	if err != nil || back.Digest() != s.Digest() || back.Version() != s.Version() {
		t.Fatalf("round trip: %v, %v vs %v", err, back, s)
	}
	other := ring.Config{Partitions: 64, VNodes: 8, N: 3}
	if _, err := membership.Unmarshal(other, s.Marshal()); !errors.Is(err, membership.ErrConfigMismatch) {
		t.Fatalf("Unmarshal under another shape: %v", err)
	}
	if _, err := membership.Merge(s, must(membership.Empty(other))); !errors.Is(err, membership.ErrConfigMismatch) {
		t.Fatalf("Merge of two shapes: %v", err)
	}
	for _, b := range [][]byte{nil, []byte("rkm"), s.Marshal()[:len(s.Marshal())-1], append(s.Marshal(), 0)} {
		if _, err := membership.Unmarshal(small, b); !errors.Is(err, membership.ErrMalformed) {
			t.Fatalf("Unmarshal(%x): %v", b, err)
		}
	}
	if v := must(s.TransferDone(s.Transfers()[0].Partition, "n4")).Version(); v <= s.Version() {
		t.Fatalf("settling a partition left the version at %d (was %d)", v, s.Version())
	}
}

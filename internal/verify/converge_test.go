package verify

import (
	"strings"
	"testing"
)

func TestCopiesAgreeOnlyWhenEveryHolderHoldsTheSameOnEveryReplica(t *testing.T) {
	same := copyOf{found: true, elems: []uint64{1, 2}}
	for _, tc := range []struct {
		name   string
		copies map[string]copyOf
		want   string // part of the disagreement, "" for none
	}{
		{"all the same", map[string]copyOf{"n1": same, "n2": same, "n3": same}, ""},
		{"deleted everywhere, or never held", map[string]copyOf{"n1": {}, "n2": {}, "n3": {}}, ""},
		{"one replica behind", map[string]copyOf{"n1": same, "n2": same, "n3": {found: true, elems: []uint64{1}}}, "differs"},
		{"one replica missing it", map[string]copyOf{"n1": same, "n2": same, "n3": {}}, "held by 2 of its 3"},
	} {
		got := snapshot{"k": tc.copies}.disagreement(3)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: disagreement %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestReplicasDifferComparesTheReplicasThatAnswered(t *testing.T) {
	s := snapshot{"k": {"n1": {found: true, elems: []uint64{1}}, "n2": {found: true, elems: []uint64{1}}, "n4": {}}}
	if s.differ("k", []string{"n1", "n2"}) {
		t.Fatal("n1 and n2 hold the same, yet differ")
	}
	// n3 could not be read: it counts as holding nothing.
	if !s.differ("k", []string{"n1", "n2", "n3"}) {
		t.Fatal("n3 holds nothing, yet does not differ")
	}
}

func TestARunThatDidNotConvergeFails(t *testing.T) {
	r := &Report{Converged: false, NotConverged: "n2 holds 3 hints"}
	if !r.Failed() || !strings.Contains(r.Problem(), "did not converge") {
		t.Fatalf("failed %t, problem %q", r.Failed(), r.Problem())
	}
}

package membership_test

import (
	"testing"

	"github.com/ringkv/ringkv/membership"
	"github.com/ringkv/ringkv/ring"
)

// What a node pays per gossip delivery and per change, at the default shape
// with five members, two of them joining.
func benchStates(b *testing.B) (membership.State, membership.State) {
	s := must(membership.New(ring.Config{}, "n1", "n2", "n3"))
	return must(s.Join("n4")), must(s.Join("n5"))
}

func BenchmarkMergeSettle(b *testing.B) {
	x, y := benchStates(b)
	for b.Loop() {
		_ = must(membership.Merge(x, y)).Settle()
	}
}

func BenchmarkJoin(b *testing.B) {
	x, _ := benchStates(b)
	for b.Loop() {
		_ = must(x.Join("n6"))
	}
}

func BenchmarkMarshalUnmarshal(b *testing.B) {
	x, y := benchStates(b)
	s := must(membership.Merge(x, y))
	b.ReportMetric(float64(len(s.Marshal())), "bytes")
	for b.Loop() {
		_ = must(membership.Unmarshal(s.Config(), s.Marshal()))
	}
}

package ring

import (
	"errors"
	"fmt"
	"slices"
)

// ErrPartitionMismatch is returned by Diff for rings with different
// partition counts: their partitions are different slices of the hash space.
var ErrPartitionMismatch = errors.New("ring: partition counts differ")

// Change is how one partition's preference list differs between two rings.
type Change struct {
	Partition int
	Lost      []string // members that stop replicating the partition, in old preference order
	Gained    []string // members that start replicating it, in new preference order
}

// Diff lists, in partition order, the partitions whose replica set differs
// from one ring to the next: the transfers a membership change implies.
// Partitions whose replicas only change order are not listed.
func Diff(from, to *Ring) ([]Change, error) {
	if from.Partitions() != to.Partitions() {
		return nil, fmt.Errorf("%w: %d and %d", ErrPartitionMismatch, from.Partitions(), to.Partitions())
	}
	var changes []Change
	for p := range from.Partitions() {
		old, cur := from.Preference(p), to.Preference(p)
		lost, gained := missing(old, cur), missing(cur, old)
		if len(lost) > 0 || len(gained) > 0 {
			changes = append(changes, Change{Partition: p, Lost: lost, Gained: gained})
		}
	}
	return changes, nil
}

// missing returns the elements of a that are not in b, in a's order.
// Preference lists are short, so a quadratic scan is the cheapest.
func missing(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

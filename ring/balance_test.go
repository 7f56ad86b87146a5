package ring_test

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/ringkv/ringkv/ring"
)

var balanceSets = flag.Int("balance.sets", 8,
	"TestBalance: id sets to average over (64 gives the figures quoted at DefaultVNodes)")

var (
	balanceVNodes  = []int{8, 16, 32, 64, 128, 256}
	balanceMembers = []int{3, 5, 10, 50}
	averageMembers = []int{5, 10, 20, 50}
)

// ids returns prefix+"1" .. prefix+n.
func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return out
}

func balanceOf(t *testing.T, v int, members []string) float64 {
	return mustNew(t, ring.Config{Partitions: 256, VNodes: v, N: 3}, members).Balance()
}

// TestBalance prints max/mean partition-replicas per node at Q=256, N=3:
// first for members "n1".."nM", then the mean over -balance.sets other id
// sets, which says whether the first table is typical. DefaultVNodes is
// chosen from these figures; see its comment. With 3 members and N=3 every
// member holds every partition, so that column is 1 whatever V is.
func TestBalance(t *testing.T) {
	var b strings.Builder
	fmt.Fprintf(&b, "balance = max/mean partition-replicas per node, Q=256 N=3\n")
	fmt.Fprintf(&b, "%-5s|%s |%s (mean of %d id sets)\n", "V",
		header(balanceMembers, "n1..n"), header(averageMembers, ""), *balanceSets)
	for _, v := range balanceVNodes {
		fmt.Fprintf(&b, "%-5d|", v)
		for _, m := range balanceMembers {
			fmt.Fprintf(&b, " %8.2f", balanceOf(t, v, ids("n", m)))
		}
		fmt.Fprintf(&b, " |")
		for _, m := range averageMembers {
			sum := 0.0
			for s := range *balanceSets {
				sum += balanceOf(t, v, ids(fmt.Sprintf("set%d-n", s), m))
			}
			fmt.Fprintf(&b, " %8.2f", sum/float64(*balanceSets))
		}
		fmt.Fprintln(&b)
	}
	t.Log(b.String())
}

func header(ms []int, prefix string) string {
	var s strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&s, " %8s", fmt.Sprintf("%s%d", prefix, m))
	}
	return s.String()
}

package verify

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Kind is a kind of fault.
type Kind string

const (
	Kill      Kind = "kill"      // SIGKILL a node, start it again to heal
	Pause     Kind = "pause"     // SIGSTOP a node, SIGCONT to heal
	Partition Kind = "partition" // split the nodes in two groups
	Slow      Kind = "slow"      // delay what one node sends to peers
	SlowDisk  Kind = "slow-disk" // delay each fsync of one node
)

// Kinds lists every fault the nemesis knows, in the order --nemesis names them.
var Kinds = []Kind{Kill, Pause, Partition, Slow, SlowDisk}

// ParseKinds reads a --nemesis list: comma-separated kinds, empty for none.
func ParseKinds(s string) ([]Kind, error) {
	var out []Kind
	for _, f := range strings.Split(s, ",") {
		k := Kind(strings.TrimSpace(f))
		if k == "" {
			continue
		}
		if !slices.Contains(Kinds, k) {
			return nil, fmt.Errorf("%w: nemesis %q: want some of %s", ErrBadOptions, k, joinKinds(Kinds))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

func joinKinds(ks []Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ",")
}

// network reports whether k is undone by Cluster.Heal.
func (k Kind) network() bool { return k == Partition || k == Slow || k == SlowDisk }

// Fault is one planned fault: wait Gap after the previous one healed, put
// it in force, hold it for Hold, heal it.
type Fault struct {
	Kind   Kind
	Gap    time.Duration
	Hold   time.Duration
	Node   string     // kill, pause, slow, slow-disk
	Groups [][]string // partition
	Delay  time.Duration
}

// The schedule's ranges. Holds are long enough for the failure detector
// (phi passes 8 about 4 s after the last heartbeat) to act on some faults
// and not on others; gaps let the cluster recover between faults.
const (
	minGap, maxGap           = 1 * time.Second, 3 * time.Second
	minHold, maxHold         = 1 * time.Second, 5 * time.Second
	minSlow, maxSlow         = 50 * time.Millisecond, 200 * time.Millisecond
	minSlowDisk, maxSlowDisk = 20 * time.Millisecond, 50 * time.Millisecond
)

// Plan draws a schedule of faults, one at a time, covering about d. The
// same seed, kinds and nodes give the same schedule.
func Plan(seed uint64, kinds []Kind, nodes []string, d time.Duration) []Fault {
	if len(kinds) == 0 || len(nodes) == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x6e656d65736973))
	var plan []Fault
	for total := time.Duration(0); total < d; {
		f := Fault{Kind: kinds[rng.IntN(len(kinds))], Gap: between(rng, minGap, maxGap), Hold: between(rng, minHold, maxHold)}
		f.place(rng, nodes)
		plan = append(plan, f)
		total += f.Gap + f.Hold
	}
	return plan
}

// place picks the fault's target.
func (f *Fault) place(rng *rand.Rand, nodes []string) {
	switch f.Kind {
	case Partition:
		f.Groups = split(rng, nodes)
		return
	case Slow:
		f.Delay = between(rng, minSlow, maxSlow)
	case SlowDisk:
		f.Delay = between(rng, minSlowDisk, maxSlowDisk)
	}
	f.Node = nodes[rng.IntN(len(nodes))]
}

// split cuts a shuffle of nodes in two non-empty groups (one node alone
// is an isolation; with one node there is nothing to cut).
func split(rng *rand.Rand, nodes []string) [][]string {
	s := slices.Clone(nodes)
	rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	if len(s) < 2 {
		return [][]string{s}
	}
	cut := 1 + rng.IntN(len(s)-1)
	a, b := slices.Clone(s[:cut]), slices.Clone(s[cut:])
	slices.Sort(a)
	slices.Sort(b)
	return [][]string{a, b}
}

// between draws uniformly from [lo, hi], to the millisecond.
func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	ms := int64((hi - lo) / time.Millisecond)
	return lo + time.Duration(rng.Int64N(ms+1))*time.Millisecond
}

// String describes the fault for the report.
func (f Fault) String() string {
	switch f.Kind {
	case Partition:
		return fmt.Sprintf("partition %s", groupsString(f.Groups))
	case Slow, SlowDisk:
		return fmt.Sprintf("%s %s %s", f.Kind, f.Node, f.Delay)
	}
	return fmt.Sprintf("%s %s", f.Kind, f.Node)
}

func groupsString(groups [][]string) string {
	s := make([]string, len(groups))
	for i, g := range groups {
		s[i] = strings.Join(g, ",")
	}
	return strings.Join(s, " | ")
}

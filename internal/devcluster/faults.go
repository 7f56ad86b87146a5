package devcluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/internal/faults"
)

// Faults are the faults in force on the cluster. They are kept in
// cluster.json and applied to every running node through its fault layer
// (every node runs with serve --dev-faults): each node gets the whole
// partition and its own latencies. A node that is down or paused when
// they change gets them when Start has it serving again, or when it is
// sent SIGCONT; meanwhile the nodes that did get them cut it off on their
// own, both ways.
type Faults struct {
	// Partition is the groups of node ids that cannot reach each other
	// (empty: none).
	Partition [][]string `json:"partition,omitempty"`
	// Slow and SlowDisk are latencies by node id, on what the node sends
	// to peers and on each of its fsyncs.
	Slow     map[string]time.Duration `json:"slow,omitempty"`
	SlowDisk map[string]time.Duration `json:"slow_disk,omitempty"`
}

// applyTimeout bounds each node's fault call: a node paused meanwhile
// must not hang the command.
const applyTimeout = 2 * time.Second

// None reports whether no fault is in force.
func (f Faults) None() bool { return len(f.Partition) == 0 && len(f.Slow) == 0 && len(f.SlowDisk) == 0 }

// String lists the faults in force: "partition n1,n2 | n3; slow n1 50ms".
func (f Faults) String() string {
	var parts []string
	if len(f.Partition) > 0 {
		parts = append(parts, "partition "+faults.FormatGroups(f.Partition))
	}
	for _, l := range []struct {
		name string
		m    map[string]time.Duration
	}{{"slow", f.Slow}, {"slow-disk", f.SlowDisk}} {
		for _, id := range slices.Sorted(maps.Keys(l.m)) {
			parts = append(parts, fmt.Sprintf("%s %s %s", l.name, id, l.m[id]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// Of is what node id is subject to: "cut from n3, slow 50ms", or "-".
func (f Faults) Of(id string) string {
	var parts []string
	if cut := f.cutFrom(id); len(cut) > 0 {
		parts = append(parts, "cut from "+strings.Join(cut, ","))
	}
	if d := f.Slow[id]; d > 0 {
		parts = append(parts, "slow "+d.String())
	}
	if d := f.SlowDisk[id]; d > 0 {
		parts = append(parts, "slow-disk "+d.String())
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// cutFrom lists the nodes of the groups id is not in.
func (f Faults) cutFrom(id string) []string {
	var out []string
	for _, g := range f.Partition {
		if !slices.Contains(g, id) {
			out = append(out, g...)
		}
	}
	if len(out) == len(f.nodes()) {
		return nil // id is in no group
	}
	return out
}

func (f Faults) nodes() []string {
	var out []string
	for _, g := range f.Partition {
		out = append(out, g...)
	}
	return out
}

// spec is node id's share of the faults, as its fault layer takes them.
func (f Faults) spec(id string) *ringkvv1.Faults {
	p := &ringkvv1.Faults{SlowUs: f.Slow[id].Microseconds(), SlowDiskUs: f.SlowDisk[id].Microseconds()}
	for _, g := range f.Partition {
		p.Groups = append(p.Groups, &ringkvv1.FaultGroup{Nodes: g})
	}
	return p
}

// Partition cuts the nodes of each group off from those of every other
// group, in both directions, replacing any earlier partition. Every node
// of the cluster must be in exactly one group, and there must be two
// groups at least.
func (c *Cluster) Partition(ctx context.Context, groups [][]string) error {
	if err := c.checkGroups(groups); err != nil {
		return err
	}
	c.Faults.Partition = make([][]string, len(groups))
	for i, g := range groups {
		c.Faults.Partition[i] = slices.Clone(g)
	}
	return c.applyAll(ctx)
}

// Isolate cuts node id off from every other node.
func (c *Cluster) Isolate(ctx context.Context, id string) error {
	if _, err := c.Node(id); err != nil {
		return err
	}
	var rest []string
	for _, n := range c.Nodes {
		if n.ID != id {
			rest = append(rest, n.ID)
		}
	}
	return c.Partition(ctx, [][]string{{id}, rest})
}

// Heal removes every fault: the partition, slow links and slow disks.
func (c *Cluster) Heal(ctx context.Context) error {
	c.Faults = Faults{}
	return c.applyAll(ctx)
}

// Slow adds latency d to everything node id sends to other nodes (gossip,
// heartbeats, replica and anti-entropy traffic); 0 removes it.
func (c *Cluster) Slow(ctx context.Context, id string, d time.Duration) error {
	return c.setLatency(ctx, &c.Faults.Slow, id, d)
}

// SlowDisk adds latency d to each fsync of node id's data files; 0
// removes it.
func (c *Cluster) SlowDisk(ctx context.Context, id string, d time.Duration) error {
	return c.setLatency(ctx, &c.Faults.SlowDisk, id, d)
}

func (c *Cluster) setLatency(ctx context.Context, m *map[string]time.Duration, id string, d time.Duration) error {
	if _, err := c.Node(id); err != nil {
		return err
	}
	if d < 0 || d > faults.MaxDelay {
		return fmt.Errorf("devcluster: latency %s is outside 0..%s", d, faults.MaxDelay)
	}
	if d == 0 {
		delete(*m, id)
	} else {
		if *m == nil {
			*m = map[string]time.Duration{}
		}
		(*m)[id] = d
	}
	return c.applyAll(ctx)
}

func (c *Cluster) checkGroups(groups [][]string) error {
	if len(groups) < 2 {
		return fmt.Errorf("devcluster: a partition needs two groups at least, e.g. n1,n2 n3 (got %d)", len(groups))
	}
	in := map[string]int{}
	for i, g := range groups {
		if len(g) == 0 {
			return fmt.Errorf("devcluster: partition group %d is empty", i+1)
		}
		for _, id := range g {
			if _, err := c.Node(id); err != nil {
				return err
			}
			if j, ok := in[id]; ok {
				return fmt.Errorf("devcluster: %s is in groups %d and %d; a node is in one group", id, j+1, i+1)
			}
			in[id] = i
		}
	}
	for _, n := range c.Nodes {
		if _, ok := in[n.ID]; !ok {
			return fmt.Errorf("devcluster: %s is in no group; name every node (isolate one with ringkv dev isolate)", n.ID)
		}
	}
	return nil
}

// applyAll records the faults and applies them to every running node at
// once; paused and down nodes get them when they come back.
func (c *Cluster) applyAll(ctx context.Context) error {
	if err := c.Save(); err != nil {
		return err
	}
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for i := range c.Nodes {
		if n := &c.Nodes[i]; c.State(n) == Running {
			wg.Go(func() {
				if err := c.apply(ctx, n); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("devcluster: faults recorded (they are applied again when a node starts or resumes), but: %w", err)
	}
	return nil
}

// apply sets node n's faults through its FaultService.
func (c *Cluster) apply(ctx context.Context, n *Node) error {
	ctx, cancel := context.WithTimeout(ctx, applyTimeout)
	defer cancel()
	fc := ringkvv1connect.NewFaultServiceClient(http.DefaultClient, "http://"+n.Listen)
	_, err := fc.SetFaults(ctx, connect.NewRequest(&ringkvv1.SetFaultsRequest{Faults: c.Faults.spec(n.ID)}))
	if err != nil {
		return fmt.Errorf("%s did not take them: %w", n.ID, err)
	}
	return nil
}

// reapply gives node id, just started or resumed, the faults in force.
func (c *Cluster) reapply(ctx context.Context, id string) error {
	if c.Faults.None() {
		return nil
	}
	n, err := c.Node(id)
	if err != nil {
		return err
	}
	if err := c.apply(ctx, n); err != nil {
		return fmt.Errorf("devcluster: faults not applied again: %w", err)
	}
	return nil
}

package verify

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeCluster is the nemesis's view of a cluster, in memory: it records
// which faults are in force.
type fakeCluster struct {
	mu        sync.Mutex
	ids       []string
	down      map[string]bool
	paused    map[string]bool
	groups    [][]string
	slow      map[string]time.Duration
	slowDisk  map[string]time.Duration
	failStart int // Start fails this many times first
	log       []string
}

func newFake(n int) *fakeCluster {
	f := &fakeCluster{down: map[string]bool{}, paused: map[string]bool{}, slow: map[string]time.Duration{}, slowDisk: map[string]time.Duration{}}
	for i := 1; i <= n; i++ {
		f.ids = append(f.ids, fmt.Sprintf("n%d", i))
	}
	return f
}

func (f *fakeCluster) Nodes() []Node {
	var ns []Node
	for _, id := range f.ids {
		ns = append(ns, Node{ID: id, Addr: "fake:" + id})
	}
	return ns
}

func (f *fakeCluster) do(what string, change func()) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, what)
	change()
	return nil
}

func (f *fakeCluster) Kill(_ context.Context, id string) error {
	return f.do("kill "+id, func() { f.down[id] = true })
}

func (f *fakeCluster) Start(_ context.Context, id string) error {
	f.mu.Lock()
	if f.failStart > 0 {
		f.failStart--
		f.mu.Unlock()
		return errors.New("fake: start failed")
	}
	f.mu.Unlock()
	return f.do("start "+id, func() { delete(f.down, id) })
}

func (f *fakeCluster) Pause(_ context.Context, id string) error {
	return f.do("pause "+id, func() { f.paused[id] = true })
}

func (f *fakeCluster) Resume(_ context.Context, id string) error {
	return f.do("resume "+id, func() { delete(f.paused, id) })
}

func (f *fakeCluster) Partition(_ context.Context, groups [][]string) error {
	return f.do("partition", func() { f.groups = groups })
}

func (f *fakeCluster) Heal(context.Context) error {
	return f.do("heal", func() {
		f.groups = nil
		clear(f.slow)
		clear(f.slowDisk)
	})
}

func (f *fakeCluster) Slow(_ context.Context, id string, d time.Duration) error {
	return f.do("slow "+id, func() { setOrClear(f.slow, id, d) })
}

func (f *fakeCluster) SlowDisk(_ context.Context, id string, d time.Duration) error {
	return f.do("slow-disk "+id, func() { setOrClear(f.slowDisk, id, d) })
}

func setOrClear(m map[string]time.Duration, id string, d time.Duration) {
	if d == 0 {
		delete(m, id)
		return
	}
	m[id] = d
}

// healthy reports whether no fault is in force.
func (f *fakeCluster) healthy() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.down)+len(f.paused)+len(f.groups)+len(f.slow)+len(f.slowDisk) == 0
}

func TestThePlanIsRepeatableFromItsSeedAndDrawsEveryKind(t *testing.T) {
	nodes := []string{"n1", "n2", "n3", "n4", "n5"}
	a := Plan(7, Kinds, nodes, 10*time.Minute)
	if !reflect.DeepEqual(a, Plan(7, Kinds, nodes, 10*time.Minute)) {
		t.Fatal("two plans from seed 7 differ")
	}
	if reflect.DeepEqual(a, Plan(8, Kinds, nodes, 10*time.Minute)) {
		t.Fatal("seeds 7 and 8 drew the same plan")
	}
	seen := map[Kind]bool{}
	var total time.Duration
	for _, f := range a {
		seen[f.Kind] = true
		total += f.Gap + f.Hold
		checkFault(t, f, nodes)
	}
	if len(seen) != len(Kinds) || total < 10*time.Minute {
		t.Fatalf("plan drew kinds %v over %s, want all %d over at least 10m", seen, total, len(Kinds))
	}
}

func checkFault(t *testing.T, f Fault, nodes []string) {
	t.Helper()
	switch f.Kind {
	case Partition:
		all := slices.Concat(f.Groups...)
		slices.Sort(all)
		if len(f.Groups) != 2 || len(f.Groups[0]) == 0 || len(f.Groups[1]) == 0 || !slices.Equal(all, nodes) {
			t.Fatalf("partition %v does not cut %v in two", f.Groups, nodes)
		}
	case Slow:
		if f.Delay < minSlow || f.Delay > maxSlow {
			t.Fatalf("slow delay %s outside %s..%s", f.Delay, minSlow, maxSlow)
		}
	case SlowDisk:
		if f.Delay < minSlowDisk || f.Delay > maxSlowDisk {
			t.Fatalf("slow-disk delay %s outside %s..%s", f.Delay, minSlowDisk, maxSlowDisk)
		}
	}
	if f.Kind != Partition && !slices.Contains(nodes, f.Node) {
		t.Fatalf("%s targets %q, not a node", f.Kind, f.Node)
	}
}

func TestAnEmptyNemesisPlansNothing(t *testing.T) {
	if p := Plan(1, nil, []string{"n1"}, time.Hour); len(p) != 0 {
		t.Fatalf("plan %v, want none", p)
	}
}

func TestParseKindsRefusesAnUnknownFault(t *testing.T) {
	ks, err := ParseKinds("kill, pause,kill,")
	if err != nil || !slices.Equal(ks, []Kind{Kill, Pause}) {
		t.Fatalf("ParseKinds: %v %v", ks, err)
	}
	if _, err := ParseKinds("kill,flood"); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("ParseKinds(flood): %v, want ErrBadOptions", err)
	}
}

// quick is a plan of every kind with millisecond gaps and holds.
func quick(nodes []string) []Fault {
	var plan []Fault
	for _, f := range Plan(3, Kinds, nodes, time.Hour)[:20] {
		f.Gap, f.Hold = time.Millisecond, time.Millisecond
		plan = append(plan, f)
	}
	return plan
}

func TestEveryFaultIsUndoneAndRecordedAsAnEvent(t *testing.T) {
	c := newFake(3)
	h := NewHistory(time.Now(), 10)
	plan := quick(nodeIDs(c))
	newNemesis(c, h).run(context.Background(), plan)
	_, events := h.Snapshot()
	if len(events) != len(plan) || !c.healthy() {
		t.Fatalf("%d events for %d faults, healthy %t; log %v", len(events), len(plan), c.healthy(), c.log)
	}
	for i, e := range events {
		if e.Kind != plan[i].Kind || e.End < e.Start || e.Err != "" {
			t.Fatalf("event %d %+v does not record fault %+v", i, e, plan[i])
		}
	}
}

func TestHealRestoresWhatARunCutShortLeftInForce(t *testing.T) {
	for _, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			c := newFake(3)
			n := newNemesis(c, NewHistory(time.Now(), 10))
			f := Fault{Kind: k, Node: "n2", Groups: [][]string{{"n1"}, {"n2", "n3"}}, Delay: 60 * time.Millisecond}
			if err := n.apply(context.Background(), f); err != nil || c.healthy() {
				t.Fatalf("apply %s: %v, healthy %t", k, err, c.healthy())
			}
			if err := n.heal(context.Background()); err != nil || !c.healthy() {
				t.Fatalf("heal after %s: %v, healthy %t; log %v", k, err, c.healthy(), c.log)
			}
		})
	}
}

func TestAFailedRestartIsRetriedByHeal(t *testing.T) {
	c := newFake(3)
	c.failStart = 1
	h := NewHistory(time.Now(), 10)
	n := newNemesis(c, h)
	n.run(context.Background(), []Fault{{Kind: Kill, Node: "n1", Gap: time.Millisecond, Hold: time.Millisecond}})
	if _, ev := h.Snapshot(); len(ev) != 1 || ev[0].Err == "" || c.healthy() {
		t.Fatalf("events %+v, healthy %t: want the failed start recorded and n1 down", ev, c.healthy())
	}
	if err := n.heal(context.Background()); err != nil || !c.healthy() {
		t.Fatalf("heal: %v, healthy %t", err, c.healthy())
	}
}

func TestACancelledRunStopsBeforeItsNextFault(t *testing.T) {
	c := newFake(3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	newNemesis(c, NewHistory(time.Now(), 10)).run(ctx, quick(nodeIDs(c)))
	if len(c.log) != 0 {
		t.Fatalf("a cancelled nemesis did %v", c.log)
	}
}

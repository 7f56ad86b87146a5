package gossip_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringkv/ringkv/gossip"
)

// These tests run real memberlist nodes on loopback with heartbeats every
// 50 ms and testPhi (helpers_test.go), which suspects a silent peer about
// 2 s after its last heartbeat.

func TestPhiStaysLowWhileAllRun(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "a", "b", "c")
	for _, g := range nodes {
		for _, h := range nodes {
			if g != h {
				waitFor(t, g.Self().ID+" to hear "+h.Self().ID, func() bool {
					return gossip.DetectorLife(g, h.Self().ID) == gossip.BootID(h)
				})
			}
		}
	}
	// Watch for 20 heartbeat intervals: no peer's phi may come near the
	// threshold while everyone is running.
	until := time.Now().Add(time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for time.Now().Before(until) {
		for _, g := range nodes {
			for _, m := range g.Members() {
				if m.State != gossip.StateAlive || m.Phi > gossip.DefaultPhiThreshold || !g.Healthy(m.ID) {
					t.Fatalf("%s sees %+v, healthy %v; want alive with phi under the threshold",
						g.Self().ID, m, g.Healthy(m.ID))
				}
			}
		}
		<-tick.C
	}
}

// A node whose heartbeats stop while it still answers SWIM's probes (a
// one-way network problem, an overloaded process) is suspect on the other
// nodes, and OnChange says so; SWIM never declares it dead. When its
// heartbeats resume it is alive again, and OnChange says so too.
func TestSilentNodeIsSuspectedBeforeSWIMNotices(t *testing.T) {
	t.Parallel()
	var a atomic.Pointer[gossip.Gossip]
	var suspected, recovered, died atomic.Bool
	cfg := config("a")
	cfg.OnChange = func() {
		g := a.Load()
		if g == nil {
			return
		}
		m, _ := member(g, "c")
		switch {
		case m.State == gossip.StateSuspect:
			suspected.Store(true)
		case m.State == gossip.StateAlive && suspected.Load():
			recovered.Store(true)
		case m.State == gossip.StateDead:
			died.Store(true)
		}
	}
	a.Store(start(t, cfg))
	b := start(t, config("b", a.Load().LocalAddr()))
	c := start(t, config("c", a.Load().LocalAddr()))
	nodes := []*gossip.Gossip{a.Load(), b}
	for _, g := range nodes {
		waitFor(t, g.Self().ID+" to hear c", func() bool { return gossip.DetectorLife(g, "c") == gossip.BootID(c) })
	}

	gossip.PauseHeartbeats(c, true)
	// a is watched only through OnChange: the heartbeat loop alone must
	// report the crossing.
	waitFor(t, "OnChange on a to see c suspect", suspected.Load)
	waitState(t, b, "c", gossip.StateSuspect)
	for _, g := range nodes {
		if m, _ := member(g, "c"); m.State != gossip.StateSuspect || m.Phi <= gossip.DefaultPhiThreshold || g.Healthy("c") {
			t.Errorf("%s sees silent c as %+v, healthy %v; want suspect, phi over 8", g.Self().ID, m, g.Healthy("c"))
		}
	}

	gossip.PauseHeartbeats(c, false)
	waitFor(t, "OnChange on a to see c alive again", recovered.Load)
	waitState(t, b, "c", gossip.StateAlive)
	for _, g := range nodes {
		if m, _ := member(g, "c"); m.Phi > gossip.DefaultPhiThreshold || !g.Healthy("c") {
			t.Errorf("%s sees c back as %+v, healthy %v", g.Self().ID, m, g.Healthy("c"))
		}
	}
	if died.Load() {
		t.Error("SWIM declared c dead: the test shows nothing about phi")
	}
}

// A node that crashes and comes back as a new process (a new boot id) is
// tracked by a new detector: nothing learned about its old life carries
// over, and it is healthy as soon as it is back.
func TestRestartedNodeGetsFreshDetector(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "a", "b")
	a, b := nodes[0], nodes[1]
	old := gossip.BootID(b)
	waitFor(t, "a to hear b", func() bool { return gossip.DetectorLife(a, "b") == old })

	b.Close()
	waitState(t, a, "b", gossip.StateDead)
	if a.Healthy("b") {
		t.Error("crashed b is healthy")
	}

	b = start(t, config("b", a.LocalAddr()))
	if gossip.BootID(b) == old {
		t.Fatal("restarted b has its old boot id")
	}
	waitFor(t, "a's detector to follow b's new life", func() bool { return gossip.DetectorLife(a, "b") == gossip.BootID(b) })
	waitFor(t, "a to find b healthy", func() bool { return a.Healthy("b") })
	if p := a.Phi("b"); p > gossip.DefaultPhiThreshold {
		t.Errorf("restarted b: phi %v", p)
	}
}

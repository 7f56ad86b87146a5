package gossip_test

import (
	"errors"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringkv/ringkv/gossip"
	"github.com/ringkv/ringkv/gossip/phi"
)

func TestMembersSeeEachOtherAlive(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "a", "b", "c")
	for _, g := range nodes {
		got := g.Members()
		if ids(got) != "a b c" {
			t.Fatalf("%s: members %q, want a b c", g.Self().ID, ids(got))
		}
		for i, m := range got {
			if m.Phi > gossip.DefaultPhiThreshold {
				t.Errorf("%s sees %s with phi %v", g.Self().ID, m.ID, m.Phi)
			}
			m.Phi = 0 // it moves with every heartbeat
			want := gossip.Member{ID: m.ID, RPCAddr: "rpc-" + m.ID + ":8080",
				GossipAddr: nodes[i].LocalAddr(), State: gossip.StateAlive}
			if m != want {
				t.Errorf("%s sees %+v, want %+v", g.Self().ID, m, want)
			}
		}
	}
}

func TestLocalAddrHasRealPort(t *testing.T) {
	t.Parallel()
	g := start(t, config("a"))
	if strings.HasSuffix(g.LocalAddr(), ":0") || !strings.HasPrefix(g.LocalAddr(), "127.0.0.1:") {
		t.Fatalf("LocalAddr %q: want 127.0.0.1 and the bound port", g.LocalAddr())
	}
	if g.Self().GossipAddr != g.LocalAddr() {
		t.Fatalf("Self().GossipAddr %q, LocalAddr %q", g.Self().GossipAddr, g.LocalAddr())
	}
}

func TestOnChangeMayReadMembers(t *testing.T) {
	t.Parallel()
	var self atomic.Pointer[gossip.Gossip]
	var calls, sawB atomic.Int32
	cfg := config("a")
	cfg.OnChange = func() {
		calls.Add(1)
		if g := self.Load(); g != nil {
			if m, ok := member(g, "b"); ok && m.State == gossip.StateAlive {
				sawB.Store(1)
			}
		}
	}
	a := start(t, cfg)
	self.Store(a)
	start(t, config("b", a.LocalAddr()))
	waitFor(t, "OnChange to see b alive", func() bool { return sawB.Load() == 1 })
}

func TestSettingsMismatchRefusesJoin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		local gossip.Settings
		want  string
	}{
		{"N", gossip.Settings{N: 5, Partitions: 64},
			"gossip: cluster settings differ: cluster has n=3 partitions=64, this node has n=5 partitions=64"},
		{"Partitions", gossip.Settings{N: 3, Partitions: 128},
			"gossip: cluster settings differ: cluster has n=3 partitions=64, this node has n=3 partitions=128"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nodes := cluster(t, "a", "b")
			cfg := config("x", nodes[0].LocalAddr())
			cfg.Settings = tc.local
			began := time.Now()
			g, err := gossip.New(isolated(t, cfg))
			if err == nil {
				g.Close()
				t.Fatal("New joined a cluster with other settings")
			}
			if !errors.Is(err, gossip.ErrSettingsMismatch) || err.Error() != tc.want {
				t.Fatalf("New: %v\nwant %s (errors.Is ErrSettingsMismatch)", err, tc.want)
			}
			var mismatch *gossip.SettingsMismatchError
			if !errors.As(err, &mismatch) || mismatch.Cluster != settings || mismatch.Local != tc.local {
				t.Fatalf("New: %#v, want a *SettingsMismatchError with both settings", err)
			}
			if elapsed := time.Since(began); elapsed >= cfg.JoinTimeout {
				t.Errorf("New took %v: a mismatch should not wait for JoinTimeout", elapsed)
			}
			for _, g := range nodes {
				if got := ids(g.Members()); got != "a b" {
					t.Errorf("%s: members %q after refused join, want a b", g.Self().ID, got)
				}
				waitState(t, g, "a", gossip.StateAlive)
				waitState(t, g, "b", gossip.StateAlive)
			}
		})
	}
}

func TestCrashedMemberIsDeadAndStays(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "a", "b", "c")
	nodes[2].Close() // no Leave: a crash, as far as the others can tell
	for _, g := range nodes[:2] {
		waitState(t, g, "c", gossip.StateDead)
	}
	for _, g := range nodes[:2] {
		if got := ids(g.Members()); got != "a b c" {
			t.Errorf("%s: members %q, want a b c: an outage is not a departure", g.Self().ID, got)
		}
	}
}

func TestLeftMemberIsLeft(t *testing.T) {
	t.Parallel()
	nodes := cluster(t, "a", "b", "c")
	c := nodes[2]
	if err := c.Leave(2 * time.Second); err != nil {
		t.Fatalf("Leave: %v", err)
	}
	if got := c.Self().State; got != gossip.StateLeft {
		t.Errorf("after Leave, Self().State = %s, want left", got)
	}
	if err := c.Leave(time.Second); err != nil {
		t.Errorf("second Leave: %v, want nil", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, g := range nodes[:2] {
		waitState(t, g, "c", gossip.StateLeft)
		if got := ids(g.Members()); got != "a b c" {
			t.Errorf("%s: members %q, want a b c", g.Self().ID, got)
		}
	}
	if err := c.Leave(time.Second); !errors.Is(err, gossip.ErrClosed) {
		t.Errorf("Leave after Close: %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRestartedMemberIsAliveAgain(t *testing.T) {
	t.Parallel()
	for _, leave := range []bool{false, true} {
		nodes := cluster(t, "a", "b")
		b := nodes[1]
		want := gossip.StateDead
		if leave {
			want = gossip.StateLeft
			if err := b.Leave(2 * time.Second); err != nil {
				t.Fatal(err)
			}
		}
		b.Close()
		waitState(t, nodes[0], "b", want)

		b = start(t, config("b", nodes[0].LocalAddr())) // new port, new life
		waitState(t, nodes[0], "b", gossip.StateAlive)
		if m, _ := member(nodes[0], "b"); m.GossipAddr != b.LocalAddr() {
			t.Errorf("leave=%v: a sees b at %s, want its new address %s", leave, m.GossipAddr, b.LocalAddr())
		}
	}
}

func TestJoinWaitsForSeedInBackground(t *testing.T) {
	t.Parallel()
	seedAddr := freeAddr(t)
	cfg := config("b", seedAddr)
	cfg.JoinTimeout = 300 * time.Millisecond
	began := time.Now()
	b := start(t, cfg)
	if elapsed := time.Since(began); elapsed > cfg.JoinTimeout+time.Second {
		t.Errorf("New took %v with JoinTimeout %v", elapsed, cfg.JoinTimeout)
	}
	if got := ids(b.Members()); got != "b" {
		t.Fatalf("members before the seed is up: %q, want b", got)
	}

	seed := config("a")
	seed.BindAddr = seedAddr
	a := start(t, seed)
	waitState(t, b, "a", gossip.StateAlive)
	waitState(t, a, "b", gossip.StateAlive)
}

func TestOwnAddressAsSeedIsSkipped(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	cfg := config("a", addr)
	cfg.BindAddr = addr
	began := time.Now()
	start(t, cfg)
	if elapsed := time.Since(began); elapsed > time.Second {
		t.Errorf("New took %v: it waited for itself as a seed", elapsed)
	}
}

func TestKnownMembersAreDeadUntilHeardFrom(t *testing.T) {
	t.Parallel()
	cfg := config("a")
	cfg.Known = []gossip.Member{
		{ID: "a", RPCAddr: "old-a", GossipAddr: "127.0.0.1:1", State: gossip.StateDead},
		{ID: "b", RPCAddr: "old-b", GossipAddr: "127.0.0.1:2", State: gossip.StateAlive},
		{ID: "z", RPCAddr: "old-z", GossipAddr: "127.0.0.1:3", State: gossip.StateLeft},
	}
	a := start(t, cfg)
	want := []gossip.Member{
		{ID: "a", RPCAddr: "rpc-a:8080", GossipAddr: a.LocalAddr(), State: gossip.StateAlive},
		{ID: "b", RPCAddr: "old-b", GossipAddr: "127.0.0.1:2", State: gossip.StateDead},
		{ID: "z", RPCAddr: "old-z", GossipAddr: "127.0.0.1:3", State: gossip.StateLeft},
	}
	if got := a.Members(); !equal(got, want) {
		t.Fatalf("members at start:\n got %+v\nwant %+v", got, want)
	}

	b := start(t, config("b", a.LocalAddr()))
	waitState(t, a, "b", gossip.StateAlive)
	if m, _ := member(a, "b"); m.RPCAddr != "rpc-b:8080" || m.GossipAddr != b.LocalAddr() {
		t.Errorf("b once heard from: %+v, want its current addresses", m)
	}
	if m, _ := member(a, "z"); m.State != gossip.StateLeft {
		t.Errorf("z: %+v, want still left", m)
	}
}

func equal(a, b []gossip.Member) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := config("a")
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for name, mutate := range map[string]func(*gossip.Config){
		"no id":                       func(c *gossip.Config) { c.NodeID = "" },
		"no rpc addr":                 func(c *gossip.Config) { c.RPCAddr = "" },
		"host name":                   func(c *gossip.Config) { c.BindAddr = "localhost:7946" },
		"no port":                     func(c *gossip.Config) { c.BindAddr = "127.0.0.1" },
		"unspecified":                 func(c *gossip.Config) { c.BindAddr = "0.0.0.0:7946" },
		"zero N":                      func(c *gossip.Config) { c.Settings.N = 0 },
		"zero partitions":             func(c *gossip.Config) { c.Settings.Partitions = 0 },
		"bad seed":                    func(c *gossip.Config) { c.Seeds = []string{"no-port"} },
		"known without id":            func(c *gossip.Config) { c.Known = []gossip.Member{{RPCAddr: "x"}} },
		"negative timeout":            func(c *gossip.Config) { c.JoinTimeout = -time.Second },
		"negative reconnect interval": func(c *gossip.Config) { c.ReconnectInterval = -time.Second },
		"negative reconnect backoff":  func(c *gossip.Config) { c.ReconnectBackoff = -time.Second },
		"meta too big":                func(c *gossip.Config) { c.RPCAddr = strings.Repeat("x", 600) },
		"negative heartbeat interval": func(c *gossip.Config) { c.HeartbeatInterval = -time.Second },
		"negative phi threshold":      func(c *gossip.Config) { c.PhiThreshold = -1 },
		"NaN phi threshold":           func(c *gossip.Config) { c.PhiThreshold = math.NaN() },
		"unreachable phi threshold":   func(c *gossip.Config) { c.PhiThreshold = phi.MaxPhi },
		"negative phi window":         func(c *gossip.Config) { c.Phi.WindowSize = -1 },
		"negative phi pause":          func(c *gossip.Config) { c.Phi.AcceptablePause = -time.Second },
	} {
		c := ok
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, gossip.ErrInvalidConfig) {
			t.Errorf("%s: Validate() = %v, want ErrInvalidConfig", name, err)
		}
		if _, err := gossip.New(c); !errors.Is(err, gossip.ErrInvalidConfig) {
			t.Errorf("%s: New: %v, want ErrInvalidConfig", name, err)
		}
	}
}

func TestZeroDurationsMeanDefaults(t *testing.T) {
	t.Parallel()
	cfg := config("a")
	cfg.JoinTimeout, cfg.JoinBackoff, cfg.JoinBackoffMax = 0, 0, 0
	cfg.ReconnectInterval, cfg.ReconnectBackoff = 0, 0
	cfg.HeartbeatInterval, cfg.PhiThreshold, cfg.Phi, cfg.Now = 0, 0, phi.Config{}, nil
	start(t, cfg)
}

// A ring digest set on one node reaches the others' Members, and a change
// of it calls their OnChange: that is how a node learns a peer holds
// another agreed ring.
func TestRingDigestSpreads(t *testing.T) {
	t.Parallel()
	var changes atomic.Int32
	cfg := config("a")
	cfg.OnChange = func() { changes.Add(1) }
	a := start(t, cfg)
	b := start(t, config("b", a.LocalAddr()))
	waitFor(t, "a to see b alive", func() bool { m, ok := member(a, "b"); return ok && m.State == gossip.StateAlive })
	before := changes.Load()
	if err := b.SetRingDigest(0xfeed, time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a to see b's ring digest", func() bool { m, _ := member(a, "b"); return m.RingDigest == 0xfeed })
	waitFor(t, "a's OnChange after the digest changed", func() bool { return changes.Load() > before })
}

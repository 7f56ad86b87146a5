package gossip

import (
	"errors"
	"testing"
	"time"

	"github.com/ringkv/ringkv/gossip/phi"
)

func TestHeartbeatRoundTrip(t *testing.T) {
	for _, h := range []heartbeat{{"a", 1}, {"node-7", ^uint64(0)}, {"ünïcode", 0}} {
		got, err := decodeHeartbeat(h.encode())
		if err != nil || got != h {
			t.Errorf("decode(encode(%+v)) = %+v, %v", h, got, err)
		}
	}
	got, err := decodeHeartbeat(append(heartbeat{"a", 1}.encode(), "a later field"...))
	if err != nil || got != (heartbeat{"a", 1}) {
		t.Errorf("decode with trailing bytes = %+v, %v", got, err)
	}
}

func TestHeartbeatRejectsMalformed(t *testing.T) {
	good := heartbeat{"n1", 7}.encode()
	long := heartbeat{string(make([]byte, maxNodeID+1)), 7}.encode()
	for name, b := range map[string][]byte{
		"empty":        nil,
		"other type":   append([]byte{2}, good[1:]...),
		"no boot":      good[:5],
		"truncated id": good[:len(good)-1],
		"empty id":     heartbeat{"", 7}.encode(),
		"huge length":  {msgHeartbeat, 0, 0, 0, 0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"id too long":  long,
		"too big":      append(heartbeat{"n1", 7}.encode(), make([]byte, maxMessageSize)...),
	} {
		if _, err := decodeHeartbeat(b); !errors.Is(err, errMalformed) {
			t.Errorf("%s: err = %v, want errMalformed", name, err)
		}
	}
}

func FuzzDecodeHeartbeat(f *testing.F) {
	f.Add(heartbeat{"n1", 42}.encode())
	f.Add([]byte{})
	f.Add([]byte{msgHeartbeat})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeHeartbeat(b)
		if err != nil {
			return
		}
		again, err := decodeHeartbeat(h.encode())
		if err != nil || again != h {
			t.Fatalf("re-encoding %+v gives %+v, %v", h, again, err)
		}
	})
}

// fakeClock is the injected Config.Now of the tests below, which run on
// one goroutine.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// cfgPhi is the detector configuration of the fake-clock tests: package
// phi's defaults, for 1 s heartbeats, so a peer is suspected 4.05 s after
// its last heartbeat.
var cfgPhi = phi.Config{FirstInterval: time.Second}

// fakeNode returns node a, without memberlist, that knows peer b (life 5)
// as live; heartbeats go in through its delegate and time through clk.
func fakeNode(t *testing.T, clk *fakeClock) *Gossip {
	g := &Gossip{
		self:   "a",
		boot:   1,
		table:  newTable(Member{ID: "a"}, 1, nil),
		health: newHealth(cfgPhi, DefaultPhiThreshold, clk.now),
		notify: startNotifier(nil), // no goroutine: pokes stay in the channel
	}
	t.Cleanup(g.notify.close)
	g.events().NotifyJoin(node("b", meta{Boot: 5}))
	poked(g)
	return g
}

func (g *Gossip) events() events {
	return events{table: g.table, health: g.health, notify: g.notify.poke}
}

// poked reports whether OnChange was scheduled since the last call.
func poked(g *Gossip) bool {
	select {
	case <-g.notify.poked:
		return true
	default:
		return false
	}
}

func beat(g *Gossip, id string, boot uint64) {
	delegate{g}.NotifyMsg(heartbeat{id, boot}.encode())
}

func stateOf(g *Gossip, id string) Member {
	for _, m := range g.Members() {
		if m.ID == id {
			return m
		}
	}
	return Member{}
}

func TestSilentPeerIsSuspectedThenRecovers(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	g := fakeNode(t, clk)
	if p := g.Phi("b"); p > 0.01 || !g.Healthy("b") {
		t.Fatalf("before any heartbeat: phi %v, healthy %v; want about 0, true", p, g.Healthy("b"))
	}
	for range 10 {
		beat(g, "b", 5)
		clk.advance(time.Second)
	}
	g.evaluateHealth()
	if m := stateOf(g, "b"); m.State != StateAlive || m.Phi >= 1 || !g.Healthy("b") || poked(g) {
		t.Fatalf("1 s after b's last heartbeat: %+v, healthy %v; want alive, phi < 1, no OnChange", m, g.Healthy("b"))
	}

	clk.advance(2 * time.Second) // 3 s of silence: a hiccup, not a failure
	g.evaluateHealth()
	if poked(g) || !g.Healthy("b") {
		t.Fatalf("3 s of silence: phi %v suspected b", g.Phi("b"))
	}
	clk.advance(1100 * time.Millisecond) // past the 4.05 s the defaults give
	g.evaluateHealth()
	if !poked(g) {
		t.Fatal("phi crossed the threshold without an OnChange")
	}
	if m := stateOf(g, "b"); m.State != StateSuspect || m.Phi <= DefaultPhiThreshold || g.Healthy("b") {
		t.Fatalf("4.1 s of silence: %+v, healthy %v; want suspect, phi over 8", m, g.Healthy("b"))
	}
	clk.advance(time.Minute)
	g.evaluateHealth()
	if poked(g) {
		t.Fatal("OnChange on a tick without a crossing")
	}
	if p := g.Phi("b"); p != phi.MaxPhi {
		t.Errorf("a minute of silence: phi %v, want the cap %v", p, phi.MaxPhi)
	}

	beat(g, "b", 5)
	if !poked(g) {
		t.Fatal("a heartbeat brought b back without an OnChange")
	}
	if m := stateOf(g, "b"); m.State != StateAlive || m.Phi >= 1 || !g.Healthy("b") {
		t.Fatalf("after b's heartbeat: %+v; want alive, phi < 1", m)
	}
	// The minute of silence was not learned as part of b's rhythm: a
	// second outage is noticed as quickly as the first.
	clk.advance(time.Second)
	beat(g, "b", 5)
	clk.advance(4100 * time.Millisecond)
	if g.Healthy("b") {
		t.Errorf("4.1 s after a recovered peer's heartbeat: phi %v, want over 8", g.Phi("b"))
	}
}

func TestRestartedPeerGetsFreshDetector(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	g := fakeNode(t, clk)
	for range 10 {
		beat(g, "b", 5)
		clk.advance(time.Second)
	}
	beat(g, "b", 5)
	clk.advance(500 * time.Millisecond)

	// b restarts; its first heartbeat beats memberlist's news of it.
	beat(g, "b", 6)
	fresh := phi.New(cfgPhi)
	fresh.Heartbeat(clk.t)
	if life := g.health.life("b"); life != 6 {
		t.Fatalf("detector tracks life %d of b, want 6", life)
	}
	for _, d := range []time.Duration{0, 2 * time.Second, 4 * time.Second} {
		at := clk.t.Add(d)
		g.health.now = func() time.Time { return at }
		if got, want := g.Phi("b"), fresh.Phi(at); got != want {
			t.Errorf("%v after the restarted b's heartbeat: phi %v, want %v as for a new peer", d, got, want)
		}
	}
	g.health.now = clk.now

	// b restarts again; memberlist's news of it comes first.
	clk.advance(5 * time.Second)
	g.events().NotifyUpdate(node("b", meta{Boot: 7}))
	if life, p := g.health.life("b"), g.Phi("b"); life != 7 || p > 0.01 {
		t.Fatalf("after memberlist saw life 7 of b: detector life %d, phi %v; want 7 and a fresh detector's phi", life, p)
	}
}

func TestStrangeHeartbeatsAreDropped(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	g := fakeNode(t, clk)
	for _, msg := range [][]byte{
		nil,
		{0},
		{99, 1, 2, 3},
		{msgHeartbeat},
		{msgHeartbeat, 0xff},
		heartbeat{"b", 5}.encode()[:10], // id cut off
		heartbeat{"a", 1}.encode(),      // this node's own
		heartbeat{"z", 9}.encode(),      // a node memberlist never reported
	} {
		delegate{g}.NotifyMsg(msg)
	}
	for id := range g.health.peers {
		if id != "b" { // b's detector starts when memberlist reports b
			t.Fatalf("a detector for %q after strange messages", id)
		}
	}
	if poked(g) {
		t.Fatal("strange messages changed a member's health")
	}
	if !g.Healthy("a") || g.Phi("a") != 0 || g.Healthy("z") || g.Phi("z") != 0 {
		t.Errorf("self healthy %v phi %v; unknown z healthy %v phi %v", g.Healthy("a"), g.Phi("a"), g.Healthy("z"), g.Phi("z"))
	}
}

// A peer that dies before its first heartbeat is suspected from the time
// memberlist reported it, not left at phi 0 until SWIM declares it dead.
func TestPeerSilentSinceJoiningIsSuspected(t *testing.T) {
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	g := fakeNode(t, clk)
	clk.advance(10 * time.Second)
	g.evaluateHealth()
	if m := stateOf(g, "b"); m.State != StateSuspect || g.Healthy("b") || !poked(g) {
		t.Fatalf("10 s after joining without a heartbeat: %+v; want suspect", m)
	}
}

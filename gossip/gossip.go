package gossip

import (
	"errors"
	"fmt"
	"log"
	"log/slog"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// deadNodeReclaimTime is how long a dead member's name stays bound to its
// old address: memberlist treats 0 as "forever", so the shortest time.
const deadNodeReclaimTime = time.Nanosecond

// ErrClosed is returned by Leave after Close.
var ErrClosed = errors.New("gossip: closed")

// Gossip is one node's view of cluster membership. Its methods are safe for
// concurrent use.
type Gossip struct {
	self     string
	rpcAddr  string
	settings Settings
	boot     uint64
	addr     string // advertised gossip address, with the real port
	log      *slog.Logger
	leaving  atomic.Bool
	ring     atomic.Uint64 // the agreed ring's digest this node advertises

	guard  *guard
	table  *table
	health *health
	notify *notifier
	ml     *memberlist.Memberlist

	ringState func() []byte // see Config.RingState; nil: none
	onRing    func([]byte)

	heartbeatsPaused atomic.Bool // a test hook: stop sending, as a hung sender would

	stop       chan struct{} // closed by Close; stops the join and reconnect loops and heartbeats
	wg         sync.WaitGroup
	background atomic.Bool // New has returned while the join goes on

	life   sync.Mutex // serialises Leave and Close
	left   bool
	closed bool
}

// New starts memberlist on cfg.BindAddr and joins cfg.Seeds (see Config).
// If a seed answers but its cluster runs with other Settings, New fails
// with a *SettingsMismatchError (errors.Is ErrSettingsMismatch). If no seed
// answers within JoinTimeout, New logs a warning and returns the running
// Gossip, which keeps retrying until it joins or is closed.
func New(cfg Config) (*Gossip, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	bind, _ := bindAddr(cfg.BindAddr) // checked by Validate
	mlLog := memberlistLogger(cfg.Logger)
	nt, err := listen(bind, mlLog)
	if err != nil {
		return nil, err
	}
	local := netip.AddrPortFrom(bind.Addr(), uint16(nt.GetAutoBindPort()))
	g := &Gossip{
		self:      cfg.NodeID,
		rpcAddr:   cfg.RPCAddr,
		settings:  cfg.Settings,
		boot:      rand.Uint64() | 1, // never 0, which means "not heard from"
		addr:      local.String(),
		log:       cfg.Logger,
		guard:     &guard{self: cfg.NodeID, local: cfg.Settings},
		stop:      make(chan struct{}),
		ringState: cfg.RingState,
		onRing:    cfg.OnRing,
	}
	self := Member{ID: cfg.NodeID, RPCAddr: cfg.RPCAddr, GossipAddr: g.addr}
	g.table = newTable(self, g.boot, cfg.Known)
	g.health = newHealth(cfg.Phi, cfg.PhiThreshold, cfg.Now)
	g.notify = startNotifier(cfg.OnChange)
	var t memberlist.NodeAwareTransport = nt
	if cfg.WrapTransport != nil {
		t = cfg.WrapTransport(nt)
	}
	g.ml, err = memberlist.Create(g.memberlistConfig(cfg.Tune, t, local, mlLog))
	if err != nil {
		t.Shutdown() // the wrapper's too
		g.notify.close()
		return nil, fmt.Errorf("gossip: start memberlist: %w", err)
	}
	g.wg.Add(1)
	go g.heartbeatLoop(cfg.HeartbeatInterval)
	if err := g.join(cfg); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

// memberlistConfig starts from DefaultLANConfig rather than
// DefaultLocalConfig: ringkv's nodes are separate hosts in one datacenter,
// and the LAN profile (1 s probes, 500 ms probe timeout, 3 indirect probes,
// a suspect declared dead after 4·max(1, log10 n) s, up to 6 times that
// without confirmations: 4–24 s in a small cluster) rides out GC pauses and
// busy hosts without false deaths. The Local profile's 200 ms probe timeout
// and single indirect probe buy faster detection at the price of false
// suspicion; detecting a slow peer quickly is the phi detector's job, and
// SWIM only has to be right about death.
//
// DeadNodeReclaimTime is memberlist's one setting gossip changes from the
// profile: at its default of 0, a member declared dead that comes back at
// another address (a crashed node restarted on a new port or host) is
// refused until memberlist forgets the dead entry, GossipToTheDeadTime
// (30 s) later, or for as long as it stays remembered. Node ids name
// nodes for good (the ring is built from them), so a dead member's name
// is reclaimed at once; a member still counted alive at its old address
// is not, until SWIM declares it dead.
func (g *Gossip) memberlistConfig(tune func(*memberlist.Config), nt memberlist.NodeAwareTransport,
	local netip.AddrPort, logger *log.Logger) *memberlist.Config {
	c := memberlist.DefaultLANConfig()
	c.DeadNodeReclaimTime = deadNodeReclaimTime
	if tune != nil {
		tune(c)
	}
	c.Name = g.self
	c.BindAddr, c.BindPort = local.Addr().String(), int(local.Port())
	c.AdvertiseAddr, c.AdvertisePort = c.BindAddr, c.BindPort
	c.Transport = nt
	c.Logger, c.LogOutput = logger, nil
	c.Delegate = delegate{g}
	c.Events = events{table: g.table, health: g.health, notify: g.notify.poke}
	c.Alive, c.Merge = g.guard, g.guard
	return c
}

// Members returns every member ever seen (and every Known one), self
// included, sorted by ID, with each member's phi at this moment. A member
// memberlist counts as live but whose phi is over the threshold is
// StateSuspect. It does not call into memberlist.
func (g *Gossip) Members() []Member {
	list := g.table.members()
	now := g.health.now()
	changed := false
	for i := range list {
		m := &list[i]
		if m.ID == g.self {
			continue
		}
		phi, suspected, c := g.health.phi(m.ID, now)
		m.Phi, changed = phi, changed || c
		if suspected && m.State == StateAlive {
			m.State = StateSuspect
		}
	}
	g.pokeIf(changed)
	return list
}

// Phi returns this node's current phi for member id: 0 for self and for a
// member memberlist never reported. A member's detector starts when
// memberlist first reports it, as if it had sent a heartbeat then.
func (g *Gossip) Phi(id string) float64 {
	if id == g.self {
		return 0
	}
	phi, _, changed := g.health.phi(id, g.health.now())
	g.pokeIf(changed)
	return phi
}

// Healthy reports whether a request should count on member id now: self
// always; another member when memberlist counts it as live and its phi is
// at most PhiThreshold. It is the same verdict as Members' State (alive
// versus suspect, dead or left), for one member and without a copy.
func (g *Gossip) Healthy(id string) bool {
	if id == g.self {
		return true
	}
	if g.table.get(id).State != StateAlive {
		return false
	}
	_, suspected, changed := g.health.phi(id, g.health.now())
	g.pokeIf(changed)
	return !suspected
}

// pokeIf schedules OnChange when a read found a member's suspicion changed:
// whoever first sees a crossing, the heartbeat loop or a reader, OnChange
// follows, so a view taken in OnChange is never left stale.
func (g *Gossip) pokeIf(changed bool) {
	if changed {
		g.notify.poke()
	}
}

// Self returns this node as a member.
func (g *Gossip) Self() Member { return g.table.get(g.self) }

// LocalAddr returns the gossip address this node listens on and
// advertises, with the real port when BindAddr asked for port 0.
func (g *Gossip) LocalAddr() string { return g.addr }

// Close stops the background join and the reconnect loop and shuts memberlist
// down without a leave: to the others this node has failed (see Leave).
// It waits for a join or reconnect attempt in flight, which can take
// memberlist's TCPTimeout against an unreachable peer. Close is
// idempotent.
func (g *Gossip) Close() error {
	g.life.Lock()
	if g.closed {
		g.life.Unlock()
		return nil
	}
	g.closed = true
	g.life.Unlock()

	close(g.stop)
	g.wg.Wait()
	err := g.ml.Shutdown()
	g.notify.close()
	if err != nil {
		return fmt.Errorf("gossip: shutdown: %w", err)
	}
	return nil
}

func (g *Gossip) meta() meta {
	return meta{ID: g.self, RPCAddr: g.rpcAddr, Settings: g.settings, Boot: g.boot, Leaving: g.leaving.Load(),
		Ring: g.ring.Load()}
}

// SetRingDigest advertises d, the digest of this node's agreed ring, in
// its metadata, so that peers holding another ring fetch this one. It
// returns once memberlist has broadcast the update, or after timeout (the
// next push/pull carries it then). A digest equal to the one advertised
// changes nothing.
func (g *Gossip) SetRingDigest(d uint64, timeout time.Duration) error {
	if g.ring.Swap(d) == d {
		return nil
	}
	g.life.Lock()
	defer g.life.Unlock()
	if g.closed {
		return ErrClosed
	}
	if err := g.ml.UpdateNode(timeout); err != nil {
		return fmt.Errorf("gossip: advertise ring digest: %w", err)
	}
	return nil
}

// delegate adapts Gossip to memberlist.Delegate: it supplies the node meta,
// exchanges departures in push/pull (leave.go) and receives heartbeats
// (heartbeat.go).
type delegate struct{ g *Gossip }

// NodeMeta ignores limit: Config.Validate checked the meta fits in
// memberlist.MetaMaxSize, the only limit memberlist passes.
func (d delegate) NodeMeta(limit int) []byte       { return d.g.meta().encode() }
func (d delegate) GetBroadcasts(int, int) [][]byte { return nil }

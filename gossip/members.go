package gossip

import (
	"cmp"
	"slices"
	"sync"

	"github.com/hashicorp/memberlist"
)

// State is a member's liveness as this node sees it.
type State string

const (
	// StateAlive: memberlist counts the member as live, and its phi is at
	// most Config.PhiThreshold.
	StateAlive State = "alive"
	// StateSuspect: memberlist counts the member as live, but its phi is
	// over Config.PhiThreshold: its heartbeats to this node have stopped
	// for longer than its history makes plausible. This is gossip's own
	// suspicion, not SWIM's: memberlist v0.7.0 keeps its suspect state to
	// itself (Node.State is never set on the nodes it hands out, and no
	// event fires on suspicion).
	StateSuspect State = "suspect"
	// StateDead: the member failed, or has not been heard from since this
	// node started.
	StateDead State = "dead"
	// StateLeft: the member announced a graceful leave.
	StateLeft State = "left"
)

// Member is one node of the cluster.
type Member struct {
	ID         string // node id, also the memberlist node name
	RPCAddr    string // host:port of the node's Connect server
	GossipAddr string // host:port memberlist listens on
	State      State
	// Phi is this node's suspicion of the member (see package phi): 0 for
	// self; a member's detector starts when memberlist first reports it.
	// Over PhiThreshold the member is suspect, or already dead or left.
	Phi float64
	// RingDigest is the digest of the agreed ring the member last
	// advertised; 0 when it has none or has not been heard from.
	RingDigest uint64
}

// record is what the table keeps per member beyond Member. Its State is
// memberlist's view (alive, dead or left) and its Phi is always 0: gossip
// adds suspicion and phi as it hands members out.
type record struct {
	Member
	boot    uint64 // 0 until heard from in this run
	leaving bool   // announced a leave in life boot
	// node is a copy of memberlist's latest Node for the member (without
	// meta), to address heartbeats. memberlist's own Node values may be
	// rewritten under its lock when a member comes back at a new address,
	// so gossip never reads them outside its callbacks.
	node memberlist.Node
}

// table is the membership view Members serves. It is fed by memberlist's
// events and by the leaves peers pass on, never shrinks, and is read
// without calling into memberlist, so Members is safe from any goroutine.
type table struct {
	self    string
	mu      sync.Mutex
	records map[string]*record
}

func newTable(self Member, boot uint64, known []Member) *table {
	t := &table{self: self.ID, records: make(map[string]*record, len(known)+1)}
	for _, m := range known {
		if m.ID == self.ID {
			continue
		}
		if m.State != StateLeft {
			m.State = StateDead
		}
		m.Phi, m.RingDigest = 0, 0
		t.records[m.ID] = &record{Member: m}
	}
	self.State = StateAlive
	t.records[self.ID] = &record{Member: self, boot: boot}
	return t
}

// members returns every member, sorted by ID.
func (t *table) members() []Member {
	t.mu.Lock()
	out := make([]Member, 0, len(t.records))
	for _, r := range t.records {
		out = append(out, r.Member)
	}
	t.mu.Unlock()
	slices.SortFunc(out, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// has reports whether id is a member this node has heard of.
func (t *table) has(id string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, ok := t.records[id]
	return ok
}

// liveNodes returns copies of the memberlist nodes of the other members
// memberlist counts as live.
func (t *table) liveNodes() []memberlist.Node {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]memberlist.Node, 0, len(t.records))
	for id, r := range t.records {
		if id != t.self && r.State == StateAlive && r.node.Name != "" {
			out = append(out, r.node)
		}
	}
	return out
}

func (t *table) get(id string) Member {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r, ok := t.records[id]; ok {
		return r.Member
	}
	return Member{ID: id, State: StateDead}
}

// observe records what memberlist says about n: alive reports whether it
// counts n as live. It reports whether anything visible changed.
func (t *table) observe(n *memberlist.Node, alive bool) bool {
	m, err := decodeMeta(n.Meta)
	if err != nil { // cannot happen: guard admitted the node
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.records[n.Name]
	if !ok {
		r = &record{Member: Member{ID: n.Name}}
		t.records[n.Name] = r
	}
	before := r.Member
	if r.boot != m.Boot {
		r.boot, r.leaving = m.Boot, false
	}
	r.leaving = r.leaving || m.Leaving
	if n.Name == t.self && r.leaving {
		// memberlist may still report this node alive (it even calls
		// NotifyJoin when it refutes a claim about a node that left), but
		// this life of it is over.
		alive = false
	}
	r.RPCAddr, r.GossipAddr, r.RingDigest = m.RPCAddr, n.Address(), m.Ring
	r.State = r.state(alive)
	r.node = *n
	r.node.Addr, r.node.Meta = slices.Clone(n.Addr), nil
	return r.Member != before
}

func (r *record) state(alive bool) State {
	switch {
	case alive:
		return StateAlive
	case r.leaving:
		return StateLeft
	default:
		return StateDead
	}
}

// events adapts the table to memberlist.EventDelegate. memberlist calls it
// with its node lock held: it must not call back into memberlist.
type events struct {
	table  *table
	health *health
	notify func()
}

func (e events) NotifyJoin(n *memberlist.Node)   { e.observe(n, true) }
func (e events) NotifyUpdate(n *memberlist.Node) { e.observe(n, true) }

// NotifyLeave is called for failures and graceful leaves alike, and n.State
// does not tell them apart (memberlist keeps the real state in a field that
// shadows Node.State); the leaving flag in n's meta does.
func (e events) NotifyLeave(n *memberlist.Node) { e.observe(n, false) }

func (e events) observe(n *memberlist.Node, alive bool) {
	revived := alive && e.table.get(n.Name).State != StateAlive
	changed := e.table.observe(n, alive)
	if m, err := decodeMeta(n.Meta); err == nil && n.Name != e.table.self {
		if revived {
			changed = e.health.revived(n.Name, m.Boot) || changed
		} else {
			changed = e.health.restarted(n.Name, m.Boot) || changed
		}
	}
	if changed {
		e.notify()
	}
}

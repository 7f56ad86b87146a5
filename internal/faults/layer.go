package faults

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/hashicorp/memberlist"
)

// Limits on a Spec, so that a bad admin call cannot hang a node's
// traffic for long or make it hold a huge partition table.
const (
	MaxDelay      = 10 * time.Second
	MaxGroups     = 64
	MaxGroupNodes = 1024 // nodes named over all groups
	MaxNodeID     = 256  // bytes
)

// ErrBadSpec is wrapped by every error Spec.Validate returns.
var ErrBadSpec = errors.New("faults: bad faults")

// Spec is the set of faults in force on one node.
type Spec struct {
	// Groups partition the cluster by node id (empty: no partition); see
	// Network.Partition. Ids the node does not know are kept: they may
	// join later.
	Groups [][]string
	// Slow is the latency added to everything the node sends to peers.
	Slow time.Duration
	// SlowDisk is the latency added to every fsync of its data files.
	SlowDisk time.Duration
}

// Validate checks the limits: latencies within 0..MaxDelay, at most
// MaxGroups non-empty groups naming at most MaxGroupNodes ids in all,
// each id non-empty, at most MaxNodeID bytes and in one group only.
func (s Spec) Validate() error {
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"slow", s.Slow}, {"slow-disk", s.SlowDisk}} {
		if d.d < 0 || d.d > MaxDelay {
			return fmt.Errorf("%w: %s latency %s is outside 0..%s", ErrBadSpec, d.name, d.d, MaxDelay)
		}
	}
	if len(s.Groups) > MaxGroups {
		return fmt.Errorf("%w: %d partition groups; at most %d", ErrBadSpec, len(s.Groups), MaxGroups)
	}
	seen := map[string]int{}
	for i, g := range s.Groups {
		if err := checkGroup(i, g, seen); err != nil {
			return err
		}
	}
	return nil
}

func checkGroup(i int, g []string, seen map[string]int) error {
	if len(g) == 0 {
		return fmt.Errorf("%w: partition group %d is empty", ErrBadSpec, i+1)
	}
	for _, id := range g {
		switch j, dup := seen[id]; {
		case id == "" || len(id) > MaxNodeID:
			return fmt.Errorf("%w: node id of %d bytes in group %d; ids are 1..%d bytes", ErrBadSpec, len(id), i+1, MaxNodeID)
		case dup:
			return fmt.Errorf("%w: %s is in groups %d and %d; a node is in one group at most", ErrBadSpec, id, j+1, i+1)
		}
		seen[id] = i
		if len(seen) > MaxGroupNodes {
			return fmt.Errorf("%w: more than %d node ids in the groups", ErrBadSpec, MaxGroupNodes)
		}
	}
	return nil
}

// String is the spec as a line of text: "partition n1,n2 | n3 slow 50ms",
// or "none".
func (s Spec) String() string {
	var parts []string
	if len(s.Groups) > 0 {
		parts = append(parts, "partition "+FormatGroups(s.Groups))
	}
	if s.Slow > 0 {
		parts = append(parts, "slow "+s.Slow.String())
	}
	if s.SlowDisk > 0 {
		parts = append(parts, "slow-disk "+s.SlowDisk.String())
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " ")
}

// Layer is one node's fault layer, the dev-only one `serve --dev-faults`
// turns on: it wraps the node's memberlist transport, its peer dialer and
// its Pebble filesystem, learns the peers' addresses from gossip, and
// applies the Spec the admin call sets. The partition and the slow link
// work through a Network of its own, holding this node alone.
type Layer struct {
	self     string
	net      *Network
	log      *slog.Logger
	slowDisk atomic.Int64 // ns added to each fsync

	mu   sync.Mutex
	spec Spec
}

// NewLayer returns node self's layer, with no fault in force.
func NewLayer(self string, log *slog.Logger) *Layer {
	return &Layer{self: self, net: NewNetwork(), log: log.With("node", self, "component", "faults")}
}

// Transport wraps the node's memberlist transport (see Network.Transport).
func (l *Layer) Transport(t memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
	return l.net.Transport(l.self, t)
}

// Dialer wraps the dialer of the node's peer connections (see
// Network.Dialer).
func (l *Layer) Dialer(dial DialFunc) DialFunc { return l.net.Dialer(l.self, dial) }

// FS wraps the node's Pebble filesystem so that each Sync, SyncData and
// SyncTo first waits the slow-disk latency in force.
func (l *Layer) FS(fs vfs.FS) vfs.FS {
	return errorfs.Wrap(fs, errorfs.InjectorFunc(func(op errorfs.Op) error {
		switch op.Kind {
		case errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo:
			if d := time.Duration(l.slowDisk.Load()); d > 0 {
				time.Sleep(d)
			}
		}
		return nil
	}))
}

// Listener wraps the node's API listener (see Network.Listener).
func (l *Layer) Listener(ln net.Listener) net.Listener { return l.net.Listener(l.self, ln) }

// Named records that c, a connection the Listener accepted, carries the
// calls of node from: a partition between them closes it, and the slow
// link delays this node's answers on it.
func (l *Layer) Named(c net.Conn, from string) { l.net.Named(c, from) }

// Learn records that node id listens on addrs (its gossip and API
// addresses), so traffic to and from them is known as id's.
func (l *Layer) Learn(id string, addrs ...string) { l.net.Register(id, addrs...) }

// Refuses reports, as an error wrapping ErrPartitioned, whether calls from
// node from are cut off now; nil when they pass.
func (l *Layer) Refuses(from string) error {
	if from == "" || !l.net.Cut(l.self, from) {
		return nil
	}
	return fmt.Errorf("%w: %s refuses calls from %s", ErrPartitioned, l.self, from)
}

// Set replaces the faults in force with s, after validating it: new
// traffic follows s at once, and connections that now cross a partition
// are closed.
func (l *Layer) Set(s Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	s.Groups = cloneGroups(s.Groups)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.net.Partition(s.Groups...)
	l.net.SetSlow(l.self, s.Slow)
	l.slowDisk.Store(int64(s.SlowDisk))
	if s.String() != l.spec.String() {
		l.log.Info("faults changed", "from", l.spec.String(), "to", s.String())
	}
	l.spec = s
	return nil
}

// Get returns the faults in force.
func (l *Layer) Get() Spec {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.spec
	s.Groups = cloneGroups(s.Groups)
	return s
}

// FormatGroups writes partition groups as "n1,n2 | n3".
func FormatGroups(groups [][]string) string {
	gs := make([]string, len(groups))
	for i, g := range groups {
		gs[i] = strings.Join(g, ",")
	}
	return strings.Join(gs, " | ")
}

func cloneGroups(gs [][]string) [][]string {
	if len(gs) == 0 {
		return nil
	}
	out := make([][]string, len(gs))
	for i, g := range gs {
		out[i] = slices.Clone(g)
	}
	return out
}

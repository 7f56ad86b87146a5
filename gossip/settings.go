package gossip

import (
	"errors"
	"fmt"
	"sync"

	"github.com/hashicorp/memberlist"
)

// Settings are the cluster-wide parameters that must agree on every member:
// nodes that disagree on them would place keys differently.
type Settings struct {
	N          int // replicas per key
	Partitions int // Q, the fixed number of ring partitions
}

func (s Settings) String() string { return fmt.Sprintf("n=%d partitions=%d", s.N, s.Partitions) }

func (s Settings) validate() error {
	if s.N < 1 || s.Partitions < 1 {
		return fmt.Errorf("settings %v: both must be at least 1", s)
	}
	return nil
}

// ErrSettingsMismatch is wrapped by the error New returns when a seed's
// cluster runs with other Settings.
var ErrSettingsMismatch = errors.New("gossip: cluster settings differ")

// SettingsMismatchError is the error New returns when a seed's cluster
// runs with other Settings. It wraps ErrSettingsMismatch.
type SettingsMismatchError struct {
	Peer    string   // the member whose settings differ
	Cluster Settings // the settings of the cluster this node tried to join
	Local   Settings // this node's settings
}

func (e *SettingsMismatchError) Error() string {
	return fmt.Sprintf("%v: cluster has %v, this node has %v", ErrSettingsMismatch, e.Cluster, e.Local)
}

func (e *SettingsMismatchError) Unwrap() error { return ErrSettingsMismatch }

// guard keeps nodes with other Settings out of this node's view. As
// memberlist's AliveDelegate it drops their alive messages, however they
// arrive; as its MergeDelegate it refuses a join push/pull in which the
// other side knows such a node. memberlist calls the merge delegate on both
// sides of a join, so the seed refuses the joiner and the joiner refuses
// the seed's cluster.
//
// memberlist's Join flattens the delegate's error with %v, so errors.Is
// cannot see it through Join; instead, while this node's own Join runs, the
// guard records the first mismatch for New to return.
type guard struct {
	self  string
	local Settings

	mu       sync.Mutex
	joining  bool
	mismatch *SettingsMismatchError
}

// NotifyAlive implements memberlist.AliveDelegate. Alive messages about this
// node itself are left to memberlist, which refutes stale ones.
func (g *guard) NotifyAlive(peer *memberlist.Node) error {
	if peer.Name == g.self {
		return nil
	}
	_, err := g.check(peer.Name, peer.Meta)
	return err
}

// NotifyMerge implements memberlist.MergeDelegate. The other side's record
// of this node is skipped: it describes an earlier life of this node, not
// the cluster.
func (g *guard) NotifyMerge(peers []*memberlist.Node) error {
	for _, p := range peers {
		if p.Name == g.self {
			continue
		}
		theirs, err := g.check(p.Name, p.Meta)
		if errors.Is(err, ErrSettingsMismatch) {
			g.record(&SettingsMismatchError{Peer: p.Name, Cluster: theirs, Local: g.local})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// check decodes a peer's meta and compares its settings with ours. The
// error is worded for either side of a join, since memberlist logs it on
// both.
func (g *guard) check(name string, b []byte) (Settings, error) {
	m, err := decodeMeta(b)
	if err != nil {
		return Settings{}, fmt.Errorf("gossip: peer %q: %w", name, err)
	}
	if m.ID != name {
		return Settings{}, fmt.Errorf("gossip: peer %q advertises node id %q", name, m.ID)
	}
	if m.Settings != g.local {
		return m.Settings, fmt.Errorf("%w: peer %q has %v, this node has %v",
			ErrSettingsMismatch, name, m.Settings, g.local)
	}
	return m.Settings, nil
}

func (g *guard) record(e *SettingsMismatchError) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.joining && g.mismatch == nil {
		g.mismatch = e
	}
}

// beginJoin starts recording mismatches for this node's own Join.
func (g *guard) beginJoin() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.joining, g.mismatch = true, nil
}

// endJoin stops recording and returns the first mismatch seen, if any. A
// mismatch met at the same moment by someone else's join or by this node's
// reconnect loop is recorded too; that race only makes a joining node give
// up early.
func (g *guard) endJoin() *SettingsMismatchError {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.joining = false
	return g.mismatch
}

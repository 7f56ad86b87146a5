package node

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/gossip"
	"github.com/ringkv/ringkv/membership"
)

// The agreed ring (package membership) on a node: loaded from storage's
// meta at start, founded from --initial-members or learnt from a peer,
// persisted (synced) before the node routes by it, advertised by its
// digest in gossip meta, and pulled from any live peer whose digest
// differs, merged (membership.Merge, then Settle) and persisted if that
// changed it.

// metaRing is the storage meta key of the agreed ring's encoding.
var metaRing = []byte("mring")

const (
	// ringFetchTimeout bounds one pull of a peer's ring.
	ringFetchTimeout = 2 * time.Second
	// ringResyncInterval is how often a node compares its ring's digest
	// with its peers' even when gossip reported no change: the backstop
	// for a pull that failed.
	ringResyncInterval = 2 * time.Second
	// ringAdvertiseTimeout bounds the wait for memberlist to broadcast a
	// new digest; the next push/pull carries it otherwise.
	ringAdvertiseTimeout = time.Second
	// maxRingBytes bounds a peer's ring encoding (MaxMembers ids of at
	// most 64 bytes, and the owner lists: far below).
	maxRingBytes = 8 << 20
)

var (
	// ErrNoRing is returned by a start that could learn no ring from the
	// seeds within JoinTimeout.
	ErrNoRing = errors.New("node: could not learn the cluster's ring from any peer")
	// ErrRetired is returned by a start whose id left or was removed.
	ErrRetired = errors.New("node: this id left the ring or was removed; start the node with a new id and an empty --dir")
)

// initialRing is the ring a node starts with: the persisted one (a
// restart); else, for a founder (in InitialMembers, or alone: no seeds and
// no InitialMembers), the founding state every founder builds alike; else
// the empty state, to be learnt from a peer (learnRing).
func (n *Node) initialRing() (membership.State, error) {
	cfg := n.cfg.ringConfig()
	raw, err := n.store.Meta(metaRing)
	switch {
	case err != nil:
		return membership.State{}, fmt.Errorf("node: read the ring: %w", err)
	case raw != nil:
		s, err := membership.Unmarshal(cfg, raw)
		if err != nil {
			return membership.State{}, fmt.Errorf("node: stored ring: %w", err)
		}
		return s, nil
	case slices.Contains(n.cfg.InitialMembers, n.cfg.ID):
		return membership.New(cfg, n.cfg.InitialMembers...)
	case len(n.cfg.Seeds) == 0 && len(n.cfg.InitialMembers) == 0:
		return membership.New(cfg, n.cfg.ID)
	case len(n.cfg.Seeds) == 0:
		return membership.State{}, fmt.Errorf("%w: --id %s is not in --initial-members and there are no --seeds to join through", ErrInvalidConfig, n.cfg.ID)
	}
	return membership.Empty(cfg)
}

// startRing installs the initial ring and, for a node that has none yet,
// waits (bounded by JoinTimeout) to learn the cluster's from a peer. A
// node that is not in its ring yet then joins it. Gossip must be running.
func (n *Node) startRing(s membership.State) error {
	n.viewMu.Lock()
	n.installRing(s)
	n.viewMu.Unlock()
	if len(s.Members()) == 0 {
		if err := n.learnRing(); err != nil {
			return err
		}
	}
	return n.joinRing()
}

// learnRing pulls peers' rings until one is learnt or JoinTimeout passes.
func (n *Node) learnRing() error {
	n.log.Info("no stored ring: learning the cluster's from its peers", "seeds", n.cfg.Seeds, "timeout", n.cfg.JoinTimeout)
	deadline := time.Now().Add(n.cfg.JoinTimeout)
	for {
		n.refreshView()
		n.syncRing()
		if len(n.view.Load().agreed.Members()) > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w within --join-timeout %s (seeds %v)", ErrNoRing, n.cfg.JoinTimeout, n.cfg.Seeds)
		}
		select {
		case <-n.stop:
			return ErrNoRing
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// joinRing makes this node a member of its ring if it is not one: it
// then becomes a pending owner of the partitions it takes, and gossip
// spreads the change.
func (n *Node) joinRing() error {
	n.ringMu.Lock()
	defer n.ringMu.Unlock()
	s := n.view.Load().agreed
	switch st, ok := s.Status(n.cfg.ID); {
	case ok && st == membership.Active:
		if err := n.storeFounded(s); err != nil {
			return err
		}
		return n.advertiseRing(s)
	case ok:
		return fmt.Errorf("%w: %s is %s", ErrRetired, n.cfg.ID, st)
	}
	joined, err := s.Join(n.cfg.ID)
	if err != nil {
		return fmt.Errorf("node: join the ring: %w", err)
	}
	if _, err := n.adoptRing(joined); err != nil {
		return err
	}
	n.log.Info("joined the ring", "pending", len(joined.Transfers()))
	return nil
}

// storeFounded persists a founding ring that is not stored yet, before
// the node serves by it.
func (n *Node) storeFounded(s membership.State) error {
	raw, err := n.store.Meta(metaRing)
	if err == nil && raw == nil {
		err = n.store.SyncMeta(metaRing, s.Marshal())
	}
	if err != nil {
		return fmt.Errorf("node: persist the ring: %w", err)
	}
	return nil
}

// adoptRing makes s this node's ring if it differs from the current one:
// persisted (synced) first, then routed by, then advertised.
func (n *Node) adoptRing(s membership.State) (bool, error) {
	n.viewMu.Lock()
	if n.view.Load().agreed.Digest() == s.Digest() {
		n.viewMu.Unlock()
		return false, nil
	}
	if err := n.store.SyncMeta(metaRing, s.Marshal()); err != nil {
		n.viewMu.Unlock()
		return false, fmt.Errorf("node: persist the ring: %w", err)
	}
	n.installRing(s)
	n.viewMu.Unlock()
	return true, n.advertiseRing(s)
}

// advertiseRing puts s's digest in this node's gossip meta: 0 while it has
// no members, so that peers do not pull an empty ring.
func (n *Node) advertiseRing(s membership.State) error {
	var d uint64
	if len(s.Members()) > 0 {
		d = s.Digest()
	}
	err := n.gossip.SetRingDigest(d, ringAdvertiseTimeout)
	if err != nil && !errors.Is(err, gossip.ErrClosed) {
		n.log.Debug("advertise ring digest", "err", err) // the next push/pull carries it
	}
	return nil
}

// kickRingSync asks the sync loop to compare digests now.
func (n *Node) kickRingSync() {
	select {
	case n.ringKick <- struct{}{}:
	default:
	}
}

// ringSyncLoop pulls peers' rings when gossip shows another digest, and
// every ringResyncInterval as a backstop; it also merges the rings peers
// send in memberlist's push/pull, the last backstop.
func (n *Node) ringSyncLoop() {
	tick := time.NewTicker(ringResyncInterval)
	defer tick.Stop()
	for {
		select {
		case <-n.stop:
			return
		case b := <-n.ringIn:
			n.mergePushed(b)
			continue
		case <-n.ringKick:
		case <-tick.C:
		}
		n.syncRing()
	}
}

// syncRing pulls the ring of every live peer whose advertised digest
// differs from this node's, one at a time, and merges it in.
func (n *Node) syncRing() {
	for _, m := range n.gossip.Members() {
		mine := n.view.Load().agreed
		if m.ID == n.cfg.ID || m.State != gossip.StateAlive || m.RingDigest == 0 || (len(mine.Members()) > 0 && m.RingDigest == mine.Digest()) {
			continue
		}
		if err := n.pullRing(m.ID); errors.Is(err, membership.ErrConfigMismatch) {
			n.log.Warn("peer's ring has another shape: check --n, --partitions and --vnodes", "peer", m.ID, "err", err)
		} else if err != nil {
			n.log.Debug("pull ring", "peer", m.ID, "err", err)
		}
	}
}

// pullRing fetches peer's ring and adopts its merge with this node's.
func (n *Node) pullRing(peer string) error {
	theirs, err := n.fetchRing(peer)
	if err != nil {
		return err
	}
	return n.mergeRing(peer, theirs)
}

// mergeRing adopts the merge of theirs (from peer) with this node's ring.
func (n *Node) mergeRing(from string, theirs membership.State) error {
	n.ringMu.Lock()
	defer n.ringMu.Unlock()
	merged, err := membership.Merge(n.view.Load().agreed, theirs)
	if err != nil {
		return fmt.Errorf("node: merge %s's ring: %w", from, err)
	}
	changed, err := n.adoptRing(merged.Settle())
	if changed {
		n.log.Info("learnt ring", "from", from)
	}
	return err
}

// localRingState is gossip's RingState: this node's ring for push/pull.
func (n *Node) localRingState() []byte {
	if v := n.view.Load(); v != nil && len(v.agreed.Members()) > 0 {
		return v.agreed.Marshal()
	}
	return nil
}

// receivedRing is gossip's OnRing, on memberlist's goroutine: it hands a
// peer's ring to the sync loop, dropping it if one is already waiting
// (the next push/pull brings another).
func (n *Node) receivedRing(b []byte) {
	if len(b) > maxRingBytes {
		return
	}
	select {
	case n.ringIn <- b:
	default:
	}
}

// mergePushed merges a ring a peer sent in push/pull.
func (n *Node) mergePushed(b []byte) {
	theirs, err := membership.Unmarshal(n.cfg.ringConfig(), b)
	if err == nil {
		err = n.mergeRing("push/pull", theirs)
	}
	if err != nil {
		n.log.Debug("ring from push/pull", "err", err)
	}
}

// fetchRing calls peer's AdminService.Ring.
func (n *Node) fetchRing(peer string) (membership.State, error) {
	c, err := n.peers.adminClient(peer)
	if err != nil {
		return membership.State{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), ringFetchTimeout)
	defer cancel()
	resp, err := c.Ring(ctx, connect.NewRequest(&ringkvv1.RingRequest{}))
	if err != nil {
		return membership.State{}, fmt.Errorf("node: fetch %s's ring: %w", peer, err)
	}
	s, err := membership.Unmarshal(n.cfg.ringConfig(), resp.Msg.GetState())
	if err != nil {
		return membership.State{}, fmt.Errorf("node: %s's ring: %w", peer, err)
	}
	return s, nil
}

// adminClient returns node id's admin service, on the bulk connections.
func (p *peers) adminClient(id string) (ringkvv1connect.AdminServiceClient, error) {
	p.mu.Lock()
	addr, err := p.addrLocked(id)
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	opts := append(p.options(), connect.WithReadMaxBytes(maxRingBytes))
	return ringkvv1connect.NewAdminServiceClient(p.bulk.http, "http://"+addr, opts...), nil
}

// ringResponse describes this node's ring for AdminService.Ring.
func (n *Node) ringResponse() *ringkvv1.RingResponse {
	s := n.view.Load().agreed
	resp := &ringkvv1.RingResponse{NodeId: n.cfg.ID, N: uint32(s.Config().N),
		Partitions: uint32(s.Config().Partitions), Vnodes: uint32(s.Config().VNodes)}
	if len(s.Members()) > 0 {
		resp.State, resp.Version, resp.Digest = s.Marshal(), s.Version(), s.Digest()
	}
	return resp
}

// ringCollectors are the agreed ring's metrics.
func ringCollectors(n *Node) []prometheus.Collector {
	gauge := func(name, help string, f func(membership.State) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "ringkv", Name: name, Help: help},
			func() float64 { return f(n.view.Load().agreed) })
	}
	return []prometheus.Collector{
		gauge("ring_version", "Version of the agreed ring this node routes by.", func(s membership.State) float64 { return float64(s.Version()) }),
		gauge("ring_members", "Members of the agreed ring, retired ones included.", func(s membership.State) float64 { return float64(len(s.Members())) }),
		gauge("ring_pending_replicas", "Partition-replicas whose new owner is pending (receives writes, counts toward nothing).",
			func(s membership.State) float64 { return float64(len(s.Transfers())) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "ringkv", Name: "pending_write_misses_total",
			Help: "Writes sent to a pending owner that it did not store (not hinted: its transfer must cover them)."},
			func() float64 { return float64(n.coord.PendingMissed()) }),
	}
}

package node

import (
	"fmt"

	"github.com/ringkv/ringkv/gossip"
	"github.com/ringkv/ringkv/ring"
)

// view is an immutable snapshot of the cluster as this node sees it: the
// members and the ring built from them. Requests load it once and use it
// throughout, so a membership change never shows them a torn state.
type view struct {
	ring    *ring.Ring
	members map[string]gossip.Member
	list    []gossip.Member // sorted by id
}

// walk returns the ring order of key's partition; its first N entries are
// the key's preference list.
func (v *view) walk(key []byte) []string {
	return v.ring.Walk(v.ring.PartitionOf(ring.KeyHash(key)))
}

// notifyChanged is gossip's OnChange hook: it runs on memberlist's
// goroutines, so it only signals; watchMembership does the work.
func (n *Node) notifyChanged() {
	select {
	case n.changed <- struct{}{}:
	default:
	}
}

func (n *Node) watchMembership() {
	for {
		select {
		case <-n.stop:
			return
		case <-n.changed:
			if err := n.refreshView(); err != nil {
				n.log.Error("membership change", "err", err)
			}
			// A peer may have come back: deliver its hints now rather than
			// at the next tick.
			n.handoff.trigger()
		}
	}
}

// refreshView rebuilds the ring from gossip's members and remembers them
// on disk for the next start.
func (n *Node) refreshView() error {
	list := n.gossip.Members()
	ids := make([]string, 0, len(list))
	members := make(map[string]gossip.Member, len(list))
	for _, m := range list {
		ids = append(ids, m.ID)
		members[m.ID] = m
	}
	r, err := ring.New(n.cfg.ringConfig(), ids)
	if err != nil {
		return fmt.Errorf("node: build ring: %w", err)
	}
	old := n.view.Swap(&view{ring: r, members: members, list: list})
	n.peers.setAddrs(members)
	if n.faults != nil {
		for _, m := range list {
			n.faults.Learn(m.ID, m.RPCAddr, m.GossipAddr)
		}
	}
	if old == nil || len(old.list) != len(list) {
		n.log.Info("ring changed", "members", len(ids), "balance", fmt.Sprintf("%.2f", r.Balance()))
	}
	if old != nil {
		n.logStateChanges(old, list)
	}
	if err := n.store.SaveMembers(list); err != nil {
		n.log.Warn("remember members", "err", err)
	}
	return nil
}

// logStateChanges logs every member whose state changed and counts
// suspicions (alive → suspect), so false suspicions can be measured.
func (n *Node) logStateChanges(old *view, now []gossip.Member) {
	for _, m := range now {
		was, ok := old.members[m.ID]
		if !ok || was.State == m.State {
			continue
		}
		if was.State == gossip.StateAlive && m.State == gossip.StateSuspect {
			n.suspicions.Add(1)
		}
		n.log.Info("member state changed", "member", m.ID, "from", was.State, "to", m.State, "phi", fmt.Sprintf("%.2f", m.Phi))
	}
}

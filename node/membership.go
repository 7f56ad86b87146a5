package node

import (
	"fmt"
	"slices"

	"github.com/ringkv/ringkv/gossip"
	"github.com/ringkv/ringkv/membership"
	"github.com/ringkv/ringkv/quorum"
	"github.com/ringkv/ringkv/ring"
)

// view is an immutable snapshot of the cluster as this node sees it: the
// agreed ring it routes by, and the members gossip tells it of with their
// liveness and addresses. Requests load it once and use it throughout, so a
// membership change never shows them a torn state.
type view struct {
	agreed  membership.State
	routes  []quorum.Route // per partition, from agreed
	members map[string]gossip.Member
	list    []gossip.Member // sorted by id
}

// route returns where key's requests go: its partition's owners, pending
// owners and fallbacks in the agreed ring.
func (v *view) route(key []byte) quorum.Route {
	return v.routes[v.agreed.PartitionOf(ring.KeyHash(key))]
}

// owners returns partition p's owners in the agreed ring.
func (v *view) owners(p int) []string { return v.agreed.Owners(p) }

// routesOf computes every partition's route once per agreed state: owners
// and pending owners from the state, fallbacks from its ring's walk with
// both left out.
func routesOf(s membership.State) []quorum.Route {
	out := make([]quorum.Route, s.Partitions())
	r := s.Ring()
	for p := range out {
		rt := quorum.Route{Owners: s.Owners(p), Pending: s.Pending(p)}
		if r != nil {
			for _, id := range r.Walk(p) {
				if !slices.Contains(rt.Owners, id) && !slices.Contains(rt.Pending, id) {
					rt.Fallbacks = append(rt.Fallbacks, id)
				}
			}
		}
		out[p] = rt
	}
	return out
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
			n.refreshView()
			// A peer may hold another ring now, or have come back: fetch
			// its ring and deliver its hints now rather than at the next
			// tick.
			n.kickRingSync()
			n.handoff.trigger()
		}
	}
}

// refreshView takes gossip's members into the view (the agreed ring stays
// as it is) and remembers them on disk for the next start.
func (n *Node) refreshView() {
	n.viewMu.Lock()
	defer n.viewMu.Unlock()
	list := n.gossip.Members()
	members := make(map[string]gossip.Member, len(list))
	for _, m := range list {
		members[m.ID] = m
	}
	old := n.view.Load()
	n.view.Store(&view{agreed: old.agreed, routes: old.routes, members: members, list: list})
	n.peers.setAddrs(members)
	if n.faults != nil {
		for _, m := range list {
			n.faults.Learn(m.ID, m.RPCAddr, m.GossipAddr)
		}
	}
	n.logStateChanges(old, list)
	if err := n.store.SaveMembers(list); err != nil {
		n.log.Warn("remember members", "err", err)
	}
}

// installRing puts agreed state s in the view. The caller holds viewMu.
func (n *Node) installRing(s membership.State) {
	old := n.view.Load()
	n.view.Store(&view{agreed: s, routes: routesOf(s), members: old.members, list: old.list})
	if r := s.Ring(); r != nil {
		n.log.Info("ring changed", "version", s.Version(), "digest", fmt.Sprintf("%016x", s.Digest()),
			"members", len(s.Members()), "transfers", len(s.Transfers()), "balance", fmt.Sprintf("%.2f", r.Balance()))
	}
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

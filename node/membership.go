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

func (v *view) rpcAddr(id string) (string, bool) {
	m, ok := v.members[id]
	return m.RPCAddr, ok && m.RPCAddr != ""
}

func (v *view) state(id string) gossip.State { return v.members[id].State }

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
	if old == nil || len(old.list) != len(list) {
		n.log.Info("ring changed", "members", len(ids), "balance", fmt.Sprintf("%.2f", r.Balance()))
	}
	if err := n.store.SaveMembers(list); err != nil {
		n.log.Warn("remember members", "err", err)
	}
	return nil
}

package gossip

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ringkv/ringkv/internal/backoff"
)

// Reconnecting heals partitions, as Serf's reconnect loop does. memberlist
// never probes a member it has declared dead and pushes/pulls only with
// live ones, so once both sides of a partition have declared each other
// dead, nothing crosses it after it heals. reconnectLoop therefore keeps
// pushing/pulling (memberlist's Join) with one member it counts as dead,
// or as live but silent, at a time, or with a seed, with backoff.
//
// One exchange that gets through merges the sides, but may revive no one:
// memberlist ignores an alive claim whose incarnation it already holds as
// dead. The exchange makes each side refute its own death (a higher
// incarnation), and the next exchange carries the refutations; so the
// first success with a target that had failed resets the backoff.
//
// A live member whose phi is over the threshold is a target too: it has
// stopped sending this node heartbeats, which it does when it counts this
// node dead, as it does when this node restarted at a new address before
// its old life was declared dead (memberlist then refuses the new address
// until that happens, and only an exchange from this node tells it of the
// new one afterwards).

// reconnectLoop runs until Close or Leave. The backoff grows with every
// attempt that fails or changes nothing (a member down for good, a live
// seed that knows nothing new, a member that answers but stays silent),
// and resets when an attempt revives someone, reaches a target that had
// failed (the network is back), or nothing is left to do.
func (g *Gossip) reconnectLoop(seeds []string, base, ceiling time.Duration) {
	r := reconnector{failed: map[string]bool{}}
	for g.sleep(backoff.FullJitter(r.attempt, base, ceiling, rand.Int64N)) && !g.leaving.Load() {
		targets := g.reconnectTargets(seeds)
		if len(targets) == 0 {
			r = reconnector{failed: map[string]bool{}}
			continue
		}
		r.forgetOthers(targets)
		target := targets[rand.IntN(len(targets))]
		err := g.pushPull([]string{target})
		if err != nil {
			g.log.Debug("reconnect failed", "to", target, "err", err)
		}
		r.done(target, err == nil, len(g.reconnectTargets(seeds)) < len(targets))
	}
}

// reconnector is reconnectLoop's backoff state.
type reconnector struct {
	attempt int
	// failed holds the current targets whose last exchange failed.
	failed map[string]bool
}

// done records an attempt with target: whether it got through, and
// whether fewer members need reconnecting after it.
func (r *reconnector) done(target string, ok, progress bool) {
	back := ok && r.failed[target]
	if ok {
		delete(r.failed, target)
	} else {
		r.failed[target] = true
	}
	if progress || back {
		r.attempt = 0
		return
	}
	r.attempt++
}

// forgetOthers drops the failures of addresses that are no longer
// targets (a member back, or back elsewhere), so failed stays bounded by
// the targets.
func (r *reconnector) forgetOthers(targets []string) {
	for t := range r.failed {
		if !slices.Contains(targets, t) {
			delete(r.failed, t)
		}
	}
}

// reconnectTargets returns the gossip addresses worth an exchange now: the
// last address of each member this node counts as dead (not left) or
// suspect and, when there is any, the seeds (a dead member may be back
// at another address, which a seed would know).
func (g *Gossip) reconnectTargets(seeds []string) []string {
	var out []string
	for _, m := range g.Members() {
		if m.ID == g.self || m.GossipAddr == "" || m.GossipAddr == g.addr {
			continue
		}
		if m.State == StateDead || m.State == StateSuspect {
			out = append(out, m.GossipAddr)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return append(out, seeds...)
}

package gossip

import (
	"math/rand/v2"
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
// One exchange that gets through is enough to merge the sides, but may
// not revive anyone at once: memberlist ignores an alive claim whose
// incarnation it already holds as dead. The exchange makes each side
// refute the death of itself (a higher incarnation), and the next one
// carries the refutations, so a success that follows a failure resets
// the backoff.
//
// A live member whose phi is over the threshold is a target too: it has
// stopped sending this node heartbeats, which it does when it counts this
// node dead, as it does when this node restarted at a new address before
// its old life was declared dead (memberlist then refuses the new address
// until that happens, and only an exchange from this node tells it of the
// new one afterwards).

// reconnectLoop runs until Close or Leave, pushing/pulling with one
// reconnect target per attempt.
func (g *Gossip) reconnectLoop(seeds []string, base, ceiling time.Duration) {
	attempt, failed, before := 0, false, 0
	for g.sleep(backoff.FullJitter(attempt, base, ceiling, rand.Int64N)) && !g.leaving.Load() {
		targets := g.reconnectTargets(seeds)
		if len(targets) == 0 {
			attempt, failed, before = 0, false, 0
			continue
		}
		target := targets[rand.IntN(len(targets))]
		err := g.pushPull([]string{target})
		if err != nil {
			g.log.Debug("reconnect failed", "to", target, "err", err, "attempt", attempt)
		}
		attempt = nextAttempt(attempt, err == nil, failed, len(targets) < before)
		failed, before = err != nil, len(targets)
	}
}

// nextAttempt returns the backoff attempt to wait for after attempt
// ended in ok: a failure backs off further; a success resets the backoff
// when it follows a failure (the network works again, and memberlist may
// need a second exchange, see above) or when fewer members need
// reconnecting than at the attempt before; otherwise a success backs off
// too, so a member that answers but stays silent is not hammered.
func nextAttempt(attempt int, ok, failedBefore, progress bool) int {
	if ok && (failedBefore || progress) {
		return 0
	}
	return attempt + 1
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

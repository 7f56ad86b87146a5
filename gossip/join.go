package gossip

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/ringkv/ringkv/internal/backoff"
)

// join starts the reconnect loop and, given seeds, the join loop for
// New, and waits for the join: it returns nil once joined, the mismatch if
// a seed's cluster has other settings, and nil after JoinTimeout, leaving
// the join loop running in the background. The reconnect loop runs from
// the start, so a restarted node also finds its cluster through the
// members it remembers (Config.Known) when its seeds are down.
func (g *Gossip) join(cfg Config) error {
	seeds := otherSeeds(cfg.Seeds, netip.MustParseAddrPort(g.addr))
	g.wg.Go(func() { g.reconnectLoop(seeds, cfg.ReconnectBackoff, cfg.ReconnectInterval) })
	if len(seeds) == 0 {
		return nil
	}
	result := make(chan error, 1)
	g.wg.Go(func() { g.joinLoop(seeds, cfg.JoinBackoff, cfg.JoinBackoffMax, result) })
	timer := time.NewTimer(cfg.JoinTimeout)
	defer timer.Stop()
	select {
	case err := <-result:
		return err
	case <-timer.C:
		g.background.Store(true)
		g.log.Warn("no seed answered; starting alone and joining in the background",
			"seeds", seeds, "waited", cfg.JoinTimeout)
		return nil
	}
}

// joinLoop retries the seeds until this node is in a cluster: its own
// join succeeded or another member joined it. It reports success or a
// settings mismatch on result without blocking (New may have stopped
// listening). After a mismatch it keeps retrying, in case the seeds are
// reconfigured. It returns once joined, or when Close stops it.
func (g *Gossip) joinLoop(seeds []string, base, ceiling time.Duration, result chan<- error) {
	for attempt := 0; ; attempt++ {
		err := g.joinOnce(seeds)
		var mismatch *SettingsMismatchError
		switch {
		case err == nil:
			if g.background.Load() {
				g.log.Info("joined cluster", "seeds", seeds, "alive", g.ml.NumMembers())
			}
		case errors.As(err, &mismatch):
			if g.background.Load() {
				g.log.Error("seed's cluster runs with other settings; retrying", "err", err)
			}
		default:
			g.log.Debug("join failed; retrying", "err", err, "attempt", attempt)
		}
		if err == nil || mismatch != nil {
			select {
			case result <- err:
			default:
			}
		}
		if err == nil || !g.sleep(backoff.FullJitter(attempt, base, ceiling, rand.Int64N)) {
			return
		}
	}
}

var errAlone = errors.New("gossip: no other member is alive")

// joinOnce tries every seed once. A peer that joined this node meanwhile
// counts as success; a seed that turned out to be this node does not.
func (g *Gossip) joinOnce(seeds []string) error {
	if g.ml.NumMembers() > 1 {
		return nil
	}
	g.guard.beginJoin()
	err := g.pushPull(seeds)
	if mismatch := g.guard.endJoin(); mismatch != nil {
		return mismatch
	}
	if err != nil {
		return err
	}
	if g.ml.NumMembers() < 2 {
		return errAlone
	}
	return nil
}

// pushPull exchanges memberlist state with the first of addrs that
// answers (memberlist's Join). The guard refuses a cluster with other
// settings either way; joinOnce also has it record why.
func (g *Gossip) pushPull(addrs []string) error {
	if _, err := g.ml.Join(addrs); err != nil {
		return fmt.Errorf("gossip: join %s: %w", strings.Join(addrs, ","), err)
	}
	return nil
}

// sleep waits d, or until Close; it reports whether to go on.
func (g *Gossip) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-g.stop:
		return false
	case <-t.C:
		return true
	}
}

// otherSeeds drops self, this node's own address, from seeds. Only IP
// literals are compared; a host name that resolves to this node is caught
// by joinOnce instead.
func otherSeeds(seeds []string, self netip.AddrPort) []string {
	var out []string
	for _, s := range seeds {
		if ap, err := netip.ParseAddrPort(s); err == nil &&
			netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()) == self {
			continue
		}
		out = append(out, s)
	}
	return out
}

package gossip

import (
	"sync"
	"time"

	"github.com/ringkv/ringkv/gossip/phi"
)

// health keeps a phi-accrual detector per peer, fed by the heartbeats
// that peer sends this node directly (heartbeat.go), and remembers which
// peers were over the threshold when last evaluated, so that a crossing in
// either direction is reported once.
type health struct {
	cfg       phi.Config
	threshold float64
	now       func() time.Time

	mu    sync.Mutex
	peers map[string]*peer
}

// peer is what health knows about one member.
type peer struct {
	det  *phi.Detector
	boot uint64 // the life of the peer the detector's history belongs to
	// suspected is whether phi was over the threshold when last evaluated.
	suspected bool
	// seeded is set while the detector's only arrival is the one assumed
	// when memberlist reported the peer; the first real heartbeat replaces
	// it rather than measuring an interval from it.
	seeded bool
}

func newHealth(cfg phi.Config, threshold float64, now func() time.Time) *health {
	return &health{cfg: cfg, threshold: threshold, now: now, peers: make(map[string]*peer)}
}

// heartbeat records a heartbeat from life boot of peer id, arriving now.
// It reports whether the peer's suspected flag changed.
//
// A heartbeat from another life than the detector's restarts the
// detector: what was learned about the old process says nothing about the
// new one. So does one that ends a silence long enough to have made the
// peer suspect: an outage (a partition, a paused process) is not part of
// the arrival pattern, and letting a 30 s gap into the window would make
// the next failure take minutes to notice while it ages out.
func (h *health) heartbeat(id string, boot uint64, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.peers[id]
	if !ok {
		p = &peer{det: phi.New(h.cfg), boot: boot}
		h.peers[id] = p
	}
	if p.seeded || p.boot != boot || p.det.Phi(now) > h.threshold {
		p.det.Reset()
		p.boot, p.seeded = boot, false
	}
	p.det.Heartbeat(now)
	_, changed := p.evaluate(now, h.threshold)
	return changed
}

// restarted tells health that memberlist now knows life boot of peer id,
// so that a restarted peer's old history does not make it look suspect
// until its first heartbeat. A peer first seen here starts its detector as
// if it had just sent a heartbeat: a node that dies before its first real
// heartbeat is suspected like any other, instead of keeping phi 0 until
// SWIM declares it dead. It reports whether the suspected flag changed.
func (h *health) restarted(id string, boot uint64) bool { return h.reseed(id, boot, false) }

// revived tells health that memberlist counts peer id (in life boot) as
// live again after it had failed: its detector starts afresh, as for a
// restart, since the outage (a partition, say) is not part of its arrival
// pattern and would otherwise keep it suspect until its next heartbeat.
func (h *health) revived(id string, boot uint64) bool { return h.reseed(id, boot, true) }

// reseed restarts id's detector as if it had just sent a heartbeat, when
// boot is another life than the detector's or always is set.
func (h *health) reseed(id string, boot uint64, always bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	p, ok := h.peers[id]
	if !ok {
		p = &peer{det: phi.New(h.cfg), boot: boot, seeded: true}
		p.det.Heartbeat(now)
		h.peers[id] = p
		return false
	}
	if p.boot == boot && !always {
		return false
	}
	p.det.Reset()
	p.boot, p.seeded = boot, true
	p.det.Heartbeat(now)
	_, changed := p.evaluate(now, h.threshold)
	return changed
}

// phi returns id's phi at now and whether it is over the threshold,
// updating the suspected flag; changed reports whether the flag moved.
// A peer memberlist never reported has phi 0.
func (h *health) phi(id string, now time.Time) (phi float64, suspected, changed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	p, ok := h.peers[id]
	if !ok {
		return 0, false, false
	}
	phi, changed = p.evaluate(now, h.threshold)
	return phi, p.suspected, changed
}

// evaluate re-evaluates every peer at now and reports whether any peer's
// suspected flag changed.
func (h *health) evaluate(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	changed := false
	for _, p := range h.peers {
		_, c := p.evaluate(now, h.threshold)
		changed = changed || c
	}
	return changed
}

// life returns the boot id the detector of peer id tracks, 0 if none.
func (h *health) life(id string) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if p, ok := h.peers[id]; ok {
		return p.boot
	}
	return 0
}

// evaluate returns phi at now and updates the suspected flag, reporting
// whether it changed.
func (p *peer) evaluate(now time.Time, threshold float64) (phi float64, changed bool) {
	phi = p.det.Phi(now)
	suspected := phi > threshold
	changed, p.suspected = suspected != p.suspected, suspected
	return phi, changed
}

package gossip

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Leave announces that this node is leaving the cluster for good, so that
// the others list it as left rather than dead. It is meant to be called
// once, before Close; later calls return nil, and a call after Close
// returns ErrClosed. A timeout of 0 or less waits for the broadcasts
// without limit.
//
// memberlist's own leave message is not visible to observers as such, so
// Leave first re-advertises this node's meta with the leaving flag (and
// waits for that broadcast to go out, since memberlist drops a queued
// broadcast about a node when a newer one about it is queued), then lets
// memberlist broadcast the leave.
func (g *Gossip) Leave(timeout time.Duration) error {
	g.life.Lock()
	defer g.life.Unlock()
	if g.closed {
		return ErrClosed
	}
	if g.left {
		return nil
	}
	g.left = true
	g.leaving.Store(true)

	updateTimeout, deadline := timeout/2, time.Now().Add(timeout)
	if err := g.ml.UpdateNode(updateTimeout); err != nil {
		g.log.Warn("leave intent not fully broadcast; some members may list this node as dead", "err", err)
	}
	leaveTimeout := time.Duration(0)
	if timeout > 0 {
		leaveTimeout = max(time.Until(deadline), time.Millisecond)
	}
	err := g.ml.Leave(leaveTimeout)
	if g.table.markLeft(g.self, g.boot) {
		g.notify.poke()
	}
	if err != nil {
		return fmt.Errorf("gossip: leave: %w", err)
	}
	return nil
}

// departure names one life of a node that left.
type departure struct {
	id   string
	boot uint64
}

// leaves lists the members known to have left, for push/pull.
func (t *table) leaves() []departure {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []departure
	for id, r := range t.records {
		if r.leaving && r.boot != 0 {
			out = append(out, departure{id, r.boot})
		}
	}
	return out
}

// markLeft records that life boot of node id left. A record from an
// earlier run (boot 0) takes the news; a record of another life ignores
// it, as does an unknown id (it left before this node heard of it). A
// member memberlist still counts as live stays alive until it is gone.
func (t *table) markLeft(id string, boot uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.records[id]
	if !ok || (r.boot != boot && r.boot != 0) {
		return false
	}
	before := r.Member
	r.boot, r.leaving = boot, true
	if r.State != StateAlive || id == t.self {
		r.State = StateLeft
	}
	return r.Member != before
}

// Encoding of a departure list, the push/pull user state, version 1:
//
//	version byte (1) | uvarint count | count × (uvarint len | id | 8-byte boot) |
//	[uvarint len | ring state]   (appended later: older nodes ignore it)
const departuresVersion = 1

func encodeDepartures(ds []departure) []byte {
	b := []byte{departuresVersion}
	b = binary.AppendUvarint(b, uint64(len(ds)))
	for _, d := range ds {
		b = appendString(b, d.id)
		b = binary.BigEndian.AppendUint64(b, d.boot)
	}
	return b
}

func decodeDepartures(b []byte) ([]departure, error) {
	ds, _, err := decodePushPull(b)
	return ds, err
}

// decodePushPull decodes the push/pull user state: the departures, and the
// ring state after them (nil when absent).
func decodePushPull(b []byte) ([]departure, []byte, error) {
	if len(b) < 1 || b[0] != departuresVersion {
		return nil, nil, fmt.Errorf("%w: departures version", errMalformed)
	}
	r := reader{b: b[1:]}
	ds, err := readDepartures(&r)
	if err != nil || len(r.b) == 0 {
		return ds, nil, err
	}
	ring := []byte(r.string())
	if r.err != nil { // a bad trailer costs the ring, not the departures
		return ds, nil, nil
	}
	return ds, ring, nil
}

func readDepartures(r *reader) ([]departure, error) {
	n := r.uvarint("departure count")
	if n > uint64(len(r.b))/9 { // each entry takes at least 9 bytes
		return nil, fmt.Errorf("%w: %d departures in %d bytes", errMalformed, n, len(r.b))
	}
	ds := make([]departure, 0, n)
	for range n {
		ds = append(ds, departure{id: r.string(), boot: r.uint64()})
	}
	if r.err != nil {
		return nil, r.err
	}
	return ds, nil
}

// LocalState implements memberlist.Delegate: this node's departures go to
// the peer in every push/pull, so a member that missed a leave, or saw the
// leave before the leaving flag, learns it within PushPullInterval.
func (d delegate) LocalState(join bool) []byte {
	b := encodeDepartures(d.g.table.leaves())
	if d.g.ringState == nil {
		return b
	}
	if ring := d.g.ringState(); len(ring) > 0 {
		b = append(binary.AppendUvarint(b, uint64(len(ring))), ring...)
	}
	return b
}

// MergeRemoteState implements memberlist.Delegate.
func (d delegate) MergeRemoteState(buf []byte, join bool) {
	ds, ring, err := decodePushPull(buf)
	if err != nil {
		d.g.log.Debug("ignoring peer's departures", "err", err)
		return
	}
	if len(ring) > 0 && d.g.onRing != nil {
		d.g.onRing(ring)
	}
	changed := false
	for _, dep := range ds {
		changed = d.g.table.markLeft(dep.id, dep.boot) || changed
	}
	if changed {
		d.g.notify.poke()
	}
}

package gossip

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

// Heartbeats feed the phi detectors (health.go). Every HeartbeatInterval
// each node sends each member memberlist counts as live one small UDP
// packet with SendBestEffort. They go direct, not by gossip, so that an
// arrival means "reachable from me", which is what a coordinator choosing
// replicas needs; SWIM's own probes reach each peer only about once per
// (members−1) probe intervals, too sparse to learn a pattern from.

// User message types: the first byte of every message gossip sends through
// memberlist's user-message channel. NotifyMsg ignores types it does not
// know, so a later version can add some.
const msgHeartbeat byte = 1

// A heartbeat, type msgHeartbeat:
//
//	type byte (1) | 8-byte big-endian boot | uvarint len | node id
//
// As with meta, trailing bytes are accepted so a later version may append
// fields. A message longer than maxMessageSize, or whose id is empty or
// longer than maxNodeID, is malformed.
const (
	maxNodeID      = memberlist.MetaMaxSize // Config.Validate makes it fit in meta
	maxMessageSize = 1024                   // well under a UDP packet
)

type heartbeat struct {
	id   string
	boot uint64
}

func (h heartbeat) encode() []byte {
	b := make([]byte, 0, 1+8+binary.MaxVarintLen64+len(h.id))
	b = append(b, msgHeartbeat)
	b = binary.BigEndian.AppendUint64(b, h.boot)
	return appendString(b, h.id)
}

func decodeHeartbeat(b []byte) (heartbeat, error) {
	if len(b) > maxMessageSize {
		return heartbeat{}, fmt.Errorf("%w: %d-byte message", errMalformed, len(b))
	}
	if len(b) < 1 || b[0] != msgHeartbeat {
		return heartbeat{}, fmt.Errorf("%w: not a heartbeat", errMalformed)
	}
	r := reader{b: b[1:]}
	h := heartbeat{boot: r.uint64(), id: r.string()}
	if r.err != nil {
		return heartbeat{}, r.err
	}
	if h.id == "" || len(h.id) > maxNodeID {
		return heartbeat{}, fmt.Errorf("%w: node id of %d bytes", errMalformed, len(h.id))
	}
	return h, nil
}

// NotifyMsg implements memberlist.Delegate: it dispatches a user message
// on its type byte. It runs on memberlist's packet handler goroutine, so
// what it calls copies what it keeps, does no I/O and locks briefly.
func (d delegate) NotifyMsg(b []byte) {
	if len(b) == 0 {
		return
	}
	switch b[0] {
	case msgHeartbeat:
		d.g.receiveHeartbeat(b)
	}
}

// receiveHeartbeat feeds a heartbeat to its sender's detector. Anything
// malformed, from this node, or from a node memberlist never reported is
// dropped, so garbage can neither panic nor grow the detector map.
func (g *Gossip) receiveHeartbeat(b []byte) {
	h, err := decodeHeartbeat(b)
	if err != nil || h.id == g.self || !g.table.has(h.id) {
		return
	}
	g.pokeIf(g.health.heartbeat(h.id, h.boot, g.health.now()))
}

// heartbeatLoop sends heartbeats every interval until Close, and after
// each round re-evaluates every peer's phi, so that OnChange hears of a
// peer crossing the threshold within one interval even if nobody asks.
func (g *Gossip) heartbeatLoop(interval time.Duration) {
	defer g.wg.Done()
	msg := heartbeat{id: g.self, boot: g.boot}.encode()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-tick.C:
		}
		if !g.heartbeatsPaused.Load() {
			g.sendHeartbeats(msg)
		}
		g.evaluateHealth()
	}
}

func (g *Gossip) sendHeartbeats(msg []byte) {
	for _, n := range g.table.liveNodes() {
		if err := g.ml.SendBestEffort(&n, msg); err != nil {
			g.log.Debug("heartbeat not sent", "to", n.Name, "err", err)
		}
	}
}

// evaluateHealth re-evaluates every peer's phi and schedules OnChange if
// any crossed the threshold.
func (g *Gossip) evaluateHealth() { g.pokeIf(g.health.evaluate(g.health.now())) }

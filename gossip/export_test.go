package gossip

// Hooks for the black-box tests in package gossip_test.

// PauseHeartbeats stops (or resumes) g's heartbeats while memberlist goes
// on: to the others, g looks like a node that is slow or cut off on the
// heartbeat path but still answers SWIM's probes.
func PauseHeartbeats(g *Gossip, paused bool) { g.heartbeatsPaused.Store(paused) }

// BootID returns g's per-start id, the one its meta and heartbeats carry.
func BootID(g *Gossip) uint64 { return g.boot }

// DetectorLife returns the boot id of the life of member id that g's phi
// detector is tracking, or 0 if g has no detector for it.
func DetectorLife(g *Gossip, id string) uint64 { return g.health.life(id) }

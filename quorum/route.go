package quorum

// Route is where a key's requests go, as the agreed ring says: the owners
// serve reads and count toward R and W, the pending owners (receiving the
// partition before they count) are written to as well, and the fallbacks
// stand in for owners that are suspected or fail (sloppy quorum).
type Route struct {
	// Owners is the preference list, in order. R and W are bounded by
	// min(N, len(Owners)).
	Owners []string
	// Pending owners receive every write the owners do, best effort: a
	// pending owner's failure is no error, is not hinted and counts for
	// nothing (its transfer, and the exchange that closes it, cover what it
	// missed).
	Pending []string
	// Fallbacks are the other nodes in ring order, owners and pending
	// owners excluded.
	Fallbacks []string
}

// WalkRoute is the route a ring walk gives when nothing is pending: its
// first n nodes are the owners, the rest the fallbacks.
func WalkRoute(walk []string, n int) Route {
	k := min(max(n, 0), len(walk))
	return Route{Owners: walk[:k:k], Fallbacks: walk[k:]}
}

// primaries is the preference list of rt: its first N owners.
func (c *Coordinator) primaries(rt Route) []string {
	return rt.Owners[:min(c.cfg.N, len(rt.Owners))]
}

package reap

import "time"

// Outcome is one anti-entropy exchange of a partition with a peer, as
// reaping sees it.
type Outcome struct {
	Peer string
	// Start is when the exchange began, before its first question.
	Start time.Time
	// Complete says every difference was listed and resolved; false when
	// the exchange was cut short for any reason.
	Complete bool
	// Repairs counts the differences that needed a repair: anything but a
	// tombstone on one side against nothing on the other.
	Repairs int
}

// Verifies reports whether o shows that its peer held, when o ran, no
// live value that this replica's tombstones cover.
func (o Outcome) Verifies() bool { return o.Complete && o.Repairs == 0 }

// Ledger remembers, for one partition, the start of the latest exchange
// that verified each peer. The zero Ledger is empty and ready.
type Ledger struct {
	verified map[string]time.Time
}

// Record takes one exchange's outcome into account.
func (l *Ledger) Record(o Outcome) {
	if !o.Verifies() {
		return
	}
	if l.verified == nil {
		l.verified = map[string]time.Time{}
	}
	if v, ok := l.verified[o.Peer]; !ok || o.Start.After(v) {
		l.verified[o.Peer] = o.Start
	}
}

// Verified returns the start of the latest exchange that verified peer.
func (l *Ledger) Verified(peer string) (time.Time, bool) {
	if l == nil {
		return time.Time{}, false
	}
	v, ok := l.verified[peer]
	return v, ok
}

// Rule is the reaping rule of the package documentation.
type Rule struct {
	// Grace is how long a tombstone is kept at least; it must exceed the
	// hint window.
	Grace time.Duration
}

// MayReap reports whether a tombstone this replica has held since since
// may be reaped at now, given the other primaries of its partition and
// their verifications (l may be nil: none).
func (r Rule) MayReap(l *Ledger, peers []string, since, now time.Time) bool {
	ready := since.Add(r.Grace)
	if now.Before(ready) {
		return false
	}
	for _, p := range peers {
		if v, ok := l.Verified(p); !ok || v.Before(ready) {
			return false
		}
	}
	return true
}

package hintwindow

import "time"

// Cutoff is the creation time from which hints are still live at now: a
// hint created before it has been kept longer than window.
func Cutoff(now time.Time, window time.Duration) time.Time { return now.Add(-window) }

// Expired reports whether a hint created at created (its newest write's
// time) is past window at now: it has been kept longer than window.
func Expired(created, now time.Time, window time.Duration) bool {
	return created.Before(Cutoff(now, window))
}

// Merged is the creation time of a hint created at old once a write
// stored at at is merged into it: the later of the two, so the newer write
// is kept a full window, and a clock that stepped back does not age the
// hint.
func Merged(old, at time.Time) time.Time {
	if at.After(old) {
		return at
	}
	return old
}

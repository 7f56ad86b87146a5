// Package hintwindow decides when a hint expires. A node keeps a hint for
// an absent replica for a window (--hint-window) after the newest write
// the hint holds, then drops it and leaves the write to anti-entropy.
//
// Invariants:
//   - A hint's age is its newest write's: merging a write into a hint
//     never makes the hint older, and a write merged into it lives a full
//     window from the time it was stored.
//   - A hint is expired at now exactly when its creation time is before
//     Cutoff(now, window). So a store that orders hints by creation time
//     finds the expired ones as a prefix, and expiry costs as many reads
//     as hints it drops.
//
// The package is pure: times come in as values; it reads no clock.
package hintwindow

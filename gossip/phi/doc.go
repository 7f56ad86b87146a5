// Package phi is a phi-accrual failure detector (Hayashibara et al., 2004,
// in the form Akka and Cassandra use): instead of a yes/no verdict it says
// how surprising the silence since a peer's last heartbeat is, given the
// intervals between its recent heartbeats.
//
// With the last WindowSize inter-arrival intervals having mean μ and
// standard deviation σ, and t the time since the last heartbeat,
//
//	μ' = μ + AcceptablePause,   σ' = max(σ, MinStdDev),   y = (t − μ') / σ'
//	phi(t) = −log10(1 − F(y))
//
// where F is the standard normal CDF, approximated (as Akka does) by the
// logistic function F(y) ≈ 1 / (1 + e^−k) with k = y·(1.5976 + 0.070566·y²),
// good to about 1e−4 absolute. Then 1 − F(y) = e^−k / (1 + e^−k), so
//
//	phi = ln(1 + e^k) / ln 10
//
// which is computed without overflow for any k. phi = 1 means about a 10%
// chance that a heartbeat is still on its way, phi = 8 about 1e−8 (for the
// approximation: the exact normal tail would need y ≈ 5.61 instead of 5.23).
//
// Invariants:
//
//   - Phi is 0 until the first heartbeat, and after Reset.
//   - Phi is finite, in [0, MaxPhi], and non-decreasing in the time since
//     the last heartbeat: silence never makes a peer look healthier.
//   - A Detector keeps at most WindowSize intervals: memory per peer is
//     fixed, and Heartbeat does not allocate once the window is full.
//   - Nothing here reads a clock, starts a goroutine, logs or does I/O:
//     time comes in as arguments, so the detector is deterministic and is
//     tested with plain time.Time arithmetic.
package phi

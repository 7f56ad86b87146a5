package bench

import "time"

// Result is what a benchmark measured.
type Result struct {
	Workload  Workload
	Target    string
	Records   int64
	ValueSize int
	Clients   int
	Rate      float64 // open-loop target; 0 for a closed loop
	Timeout   time.Duration
	Load      *Phase // nil if the load phase was skipped
	Run       Phase
	Started   time.Time
	// Interrupted is set when the context was cancelled (Ctrl-C) before
	// the run ended: the figures cover what completed.
	Interrupted bool
}

// Phase is the load or the run phase.
type Phase struct {
	Name    string // "load" or "run"
	Model   string // e.g. "closed loop, 16 clients"
	Elapsed time.Duration
	Ops     []OpStats // per operation type that occurred, in YCSB's order
	Total   OpStats
	Series  []Second
	// Missed counts open-loop operations that were due before the end but
	// never started because every worker was busy.
	Missed int64
	Errors []ErrorClass
}

// OpStats summarises one operation type. Latencies are of successful
// operations only; Errors counts the failed ones.
type OpStats struct {
	Op          string
	Count       int64 // successful operations
	Errors      int64
	NotFound    int64 // reads that succeeded and found no value
	OpsPerSec   float64
	Mean        time.Duration
	P50, P95    time.Duration
	P99, P999   time.Duration
	Max         time.Duration
	Percentiles []PercentilePoint
}

// PercentilePoint is one point of the latency-by-percentile curve.
type PercentilePoint struct {
	Percentile float64
	Latency    time.Duration
	Max        bool // the maximum, drawn at the right edge
}

// Second is one second of the phase (the last may be shorter).
type Second struct {
	T         int64         // seconds since the phase started
	Length    time.Duration // one second, except maybe the last
	Ops       int64         // successful operations completed in it
	Errors    int64
	OpsPerSec float64
	P99       time.Duration // of the operations completed in it; 0 if none
}

// ErrorClass counts errors of one operation type whose messages differ
// only in digits.
type ErrorClass struct {
	Op      string
	Example string
	Count   int64
}

package verify

import (
	"sync"
	"time"
)

// Outcome is how an operation ended, in Jepsen's terms.
type Outcome string

const (
	OK   Outcome = "ok"   // acknowledged
	Fail Outcome = "fail" // definitely did not happen
	Info Outcome = "info" // indeterminate: may or may not have happened
)

// OpKind names what an operation did.
type OpKind string

const (
	OpRead   OpKind = "read"   // a writer's read before it writes
	OpAdd    OpKind = "add"    // wrote the union of a read plus one new element
	OpDelete OpKind = "delete" // deleted a key with the read's context
	OpCreate OpKind = "create" // wrote one new element to a key read as absent
	OpProbe  OpKind = "probe"  // a dedicated read at R=1 or R=quorum, for staleness
)

// Op is one recorded operation. Times are offsets from the run's start.
type Op struct {
	Kind    OpKind        `json:"kind"`
	Key     string        `json:"key"`
	Node    string        `json:"node"`
	Start   time.Duration `json:"start_ns"`
	End     time.Duration `json:"end_ns"`
	Outcome Outcome       `json:"outcome"`
	// Read is what a read saw; for a delete, what its read saw (the
	// elements its context covers).
	Read []uint64 `json:"read,omitempty"`
	// Wrote is the element an add or create introduced (0: none).
	Wrote uint64 `json:"wrote,omitempty"`
	// R is a probe's read level: 1, or 0 for quorum.
	R   int    `json:"r,omitempty"`
	Err string `json:"err,omitempty"`
}

// Event is one nemesis fault, from when it was put in force to when it was
// undone.
type Event struct {
	Kind   Kind          `json:"kind"`
	Nodes  []string      `json:"nodes,omitempty"`
	Groups [][]string    `json:"groups,omitempty"`
	Delay  time.Duration `json:"delay_ns,omitempty"`
	Start  time.Duration `json:"start_ns"`
	End    time.Duration `json:"end_ns"`
	Err    string        `json:"err,omitempty"`
}

// History records operations and events from many goroutines. It holds at
// most max operations: past that Add reports false and the workload stops,
// so memory stays bounded however long the run.
type History struct {
	mu     sync.Mutex
	start  time.Time
	max    int
	ops    []Op
	events []Event
}

// NewHistory starts a history whose clock begins at start.
func NewHistory(start time.Time, maxOps int) *History {
	return &History{start: start, max: maxOps}
}

// Since is t as an offset into the run.
func (h *History) Since(t time.Time) time.Duration { return t.Sub(h.start) }

// Add records op; false means the history is full.
func (h *History) Add(op Op) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.ops) >= h.max {
		return false
	}
	h.ops = append(h.ops, op)
	return true
}

// AddEvent records a nemesis event.
func (h *History) AddEvent(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, e)
}

// Full reports whether the history holds its maximum.
func (h *History) Full() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ops) >= h.max
}

// Snapshot returns copies of the operations and events so far.
func (h *History) Snapshot() ([]Op, []Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Op(nil), h.ops...), append([]Event(nil), h.events...)
}

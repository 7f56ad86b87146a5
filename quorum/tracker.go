package quorum

// Outcome is where a quorum decision stands.
type Outcome int

const (
	// Pending means neither enough successes nor enough failures yet.
	Pending Outcome = iota
	// Met means at least Need replicas succeeded.
	Met
	// Failed means so many replicas failed that Need can no longer be met.
	Failed
)

func (o Outcome) String() string {
	switch o {
	case Met:
		return "met"
	case Failed:
		return "failed"
	default:
		return "pending"
	}
}

// Tracker counts replica answers for one request against a required number.
// It is a value type with no I/O or clock: the caller owns timers and tells
// it what happened. Each replica must be reported at most once.
type Tracker struct {
	need, total int
	ok, failed  int
}

// NewTracker tracks a request that needs `need` successes out of `total`
// replicas contacted.
func NewTracker(need, total int) Tracker {
	return Tracker{need: need, total: total}
}

// Succeeded records one replica's success and returns the new outcome.
func (t *Tracker) Succeeded() Outcome {
	t.ok++
	return t.Outcome()
}

// Failed records one replica's failure and returns the new outcome.
func (t *Tracker) Failed() Outcome {
	t.failed++
	return t.Outcome()
}

// Outcome reports the decision so far. Met wins over Failed: once enough
// replicas succeeded, later failures do not undo it.
func (t *Tracker) Outcome() Outcome {
	if t.need <= 0 || t.ok >= t.need {
		return Met
	}
	if t.total-t.failed < t.need {
		return Failed
	}
	return Pending
}

// Acks is the number of successes recorded.
func (t *Tracker) Acks() int { return t.ok }

// Answered is the number of replicas that have either succeeded or failed.
func (t *Tracker) Answered() int { return t.ok + t.failed }

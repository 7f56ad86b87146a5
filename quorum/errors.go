package quorum

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrInvalidQuorum is returned for an R or W outside 1..N.
	ErrInvalidQuorum = errors.New("quorum: invalid consistency level")
	// ErrIndeterminate marks a write that missed W: some replicas may hold
	// it, so it may still become visible.
	ErrIndeterminate = errors.New("quorum: write indeterminate")
	// ErrTooFewReplies marks a read that did not hear from R replicas.
	ErrTooFewReplies = errors.New("quorum: too few replicas replied")
)

// WriteError describes a write that missed its W.
type WriteError struct {
	Acks  []Ack // durable acknowledgements, hints included
	W     int   // acknowledgements required
	Total int   // replicas contacted
	Cause error // the last replica failure or the context's error
}

func (e *WriteError) Error() string {
	acked := make([]string, len(e.Acks))
	for i, a := range e.Acks {
		acked[i] = a.String()
	}
	return fmt.Sprintf("write indeterminate: %d of %d replicas acknowledged (w=%d; acked by %s); "+
		"the write may still become visible: %v",
		e.Distinct(), e.Total, e.W, listOrNone(acked), e.Cause)
}

// Distinct is the number of distinct nodes that acknowledged.
func (e *WriteError) Distinct() int {
	seen := map[string]bool{}
	for _, a := range e.Acks {
		seen[a.Node] = true
	}
	return len(seen)
}

// Is makes errors.Is(err, ErrIndeterminate) hold.
func (e *WriteError) Is(target error) bool { return target == ErrIndeterminate }

func (e *WriteError) Unwrap() error { return e.Cause }

// ReadError describes a read that did not hear from R replicas.
type ReadError struct {
	Replied []string
	R       int
	Total   int
	Cause   error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("read failed: %d of %d replicas replied (r=%d; replied: %s): %v",
		len(e.Replied), e.Total, e.R, listOrNone(e.Replied), e.Cause)
}

// Is makes errors.Is(err, ErrTooFewReplies) hold.
func (e *ReadError) Is(target error) bool { return target == ErrTooFewReplies }

func (e *ReadError) Unwrap() error { return e.Cause }

func listOrNone(ids []string) string {
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}

// CheckLevel validates a requested R or W against n. Zero selects the
// default quorum, n/2+1.
func CheckLevel(name string, level, n int) (int, error) {
	if level == 0 {
		return n/2 + 1, nil
	}
	if level < 1 || level > n {
		return 0, fmt.Errorf("%w: %s=%d is outside 1..%d (n=%d)", ErrInvalidQuorum, name, level, n, n)
	}
	return level, nil
}

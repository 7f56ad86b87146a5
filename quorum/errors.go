package quorum

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrInvalidQuorum is returned for an R or W outside 1..min(N, replicas
	// of the key): its owners, or the first nodes of a plain ring walk.
	ErrInvalidQuorum = errors.New("quorum: invalid consistency level")
	// ErrIndeterminate marks a write that missed W: some replicas may hold
	// it, so it may still become visible.
	ErrIndeterminate = errors.New("quorum: write indeterminate")
	// ErrTooFewReplies marks a read that did not hear from R replicas.
	ErrTooFewReplies = errors.New("quorum: too few replicas replied")
	// ErrNotReplica refuses a write at a node that is not one of the key's
	// replicas: it must be coordinated by one that is.
	ErrNotReplica = errors.New("quorum: not a replica of the key")
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

// CheckLevel validates a requested R or W against the key's replicas: the
// first min(n, members) nodes of the ring walk, so a level the ring cannot
// supply is refused rather than run to a certain failure. Zero selects the
// default quorum, a majority of those replicas.
func CheckLevel(name string, level, n, replicas int) (int, error) {
	if replicas < 1 {
		return 0, fmt.Errorf("%w: %s=%d: the ring has no members", ErrInvalidQuorum, name, level)
	}
	if level == 0 {
		return replicas/2 + 1, nil
	}
	if level < 1 || level > replicas {
		return 0, fmt.Errorf("%w: %s=%d is outside 1..%d: %s", ErrInvalidQuorum, name, level, replicas, replicaCount(n, replicas))
	}
	return level, nil
}

// replicaCount says where a key's replica count comes from.
func replicaCount(n, replicas int) string {
	if replicas < n {
		return fmt.Sprintf("a key has %d replicas (n=%d, but the ring has %d members)", replicas, n, replicas)
	}
	return fmt.Sprintf("a key has %d replicas (n=%d)", replicas, n)
}

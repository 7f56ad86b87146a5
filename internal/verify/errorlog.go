package verify

import (
	"errors"
	"sort"
	"sync"

	"connectrpc.com/connect"
)

// ErrorCount is one kind of error the workload met, and how often.
type ErrorCount struct {
	Message string `json:"message"`
	Count   int    `json:"count"`
}

// errorLog counts errors by message, keeping at most a few distinct ones.
type errorLog struct {
	mu     sync.Mutex
	counts map[string]int
	other  int
}

func newErrorLog() *errorLog { return &errorLog{counts: map[string]int{}} }

// note counts err and returns its message.
func (l *errorLog) note(err error) string {
	msg := err.Error()
	var ce *connect.Error
	if errors.As(err, &ce) {
		msg = ce.Code().String() + ": " + truncate(ce.Message(), 160)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.counts[msg]; ok || len(l.counts) < maxErrorsListed {
		l.counts[msg]++
	} else {
		l.other++
	}
	return msg
}

// list returns the counts, most frequent first.
func (l *errorLog) list() []ErrorCount {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]ErrorCount, 0, len(l.counts)+1)
	for m, n := range l.counts {
		out = append(out, ErrorCount{m, n})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Count > out[j].Count || (out[i].Count == out[j].Count && out[i].Message < out[j].Message)
	})
	if l.other > 0 {
		out = append(out, ErrorCount{"(other errors)", l.other})
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

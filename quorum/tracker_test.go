package quorum_test

import (
	"testing"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/quorum"
)

// TestTrackerMatchesCounting checks the tracker against counting by hand:
// after any sequence of answers, it is met iff successes reached need, and
// failed iff the successes still possible cannot reach need.
func TestTrackerMatchesCounting(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		total := rapid.IntRange(1, 9).Draw(t, "total")
		need := rapid.IntRange(1, total).Draw(t, "need")
		answers := rapid.SliceOfN(rapid.Bool(), 0, total).Draw(t, "answers")
		tr := quorum.NewTracker(need, total)
		ok, failed := 0, 0
		for _, success := range answers {
			var got quorum.Outcome
			if success {
				ok++
				got = tr.Succeeded()
			} else {
				failed++
				got = tr.Failed()
			}
			want := quorum.Pending
			switch {
			case ok >= need:
				want = quorum.Met
			case total-failed < need:
				want = quorum.Failed
			}
			if got != want {
				t.Fatalf("need %d of %d, %d ok %d failed: got %v, want %v", need, total, ok, failed, got, want)
			}
		}
		if tr.Acks() != ok || tr.Answered() != ok+failed {
			t.Fatalf("acks %d answered %d, want %d and %d", tr.Acks(), tr.Answered(), ok, ok+failed)
		}
	})
}

// TestTrackerMetIsFinal: once met, later failures do not undo the decision.
func TestTrackerMetIsFinal(t *testing.T) {
	tr := quorum.NewTracker(2, 3)
	tr.Succeeded()
	if got := tr.Succeeded(); got != quorum.Met {
		t.Fatalf("after 2 of 3 acks: %v, want met", got)
	}
	if got := tr.Failed(); got != quorum.Met {
		t.Fatalf("failure after met: %v, want met", got)
	}
}

func TestTrackerFailsWhenTooFewCanRemain(t *testing.T) {
	tr := quorum.NewTracker(3, 3)
	tr.Succeeded()
	if got := tr.Failed(); got != quorum.Failed {
		t.Fatalf("need 3 of 3 after one failure: %v, want failed", got)
	}
	short := quorum.NewTracker(3, 2)
	if got := short.Outcome(); got != quorum.Failed {
		t.Fatalf("need 3 with only 2 replicas: %v, want failed", got)
	}
}

func TestCheckLevel(t *testing.T) {
	for _, tc := range []struct {
		level, n, want int
		ok             bool
	}{
		{0, 3, 2, true}, {0, 1, 1, true}, {0, 5, 3, true}, {1, 3, 1, true}, {3, 3, 3, true},
		{4, 3, 0, false}, {-1, 3, 0, false},
	} {
		got, err := quorum.CheckLevel("w", tc.level, tc.n)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("CheckLevel(w, %d, %d) = %d, %v; want %d, ok=%v", tc.level, tc.n, got, err, tc.want, tc.ok)
		}
	}
}

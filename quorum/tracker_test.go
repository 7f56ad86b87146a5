package quorum_test

import (
	"errors"
	"strings"
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
		level, n, replicas, want int
		ok                       bool
	}{
		{0, 3, 3, 2, true}, {0, 1, 1, 1, true}, {0, 5, 5, 3, true}, {1, 3, 3, 1, true}, {3, 3, 3, 3, true},
		{4, 3, 3, 0, false}, {-1, 3, 3, 0, false},
		// Fewer members than N: the limit is the replicas the ring has.
		{3, 3, 2, 0, false}, {2, 3, 2, 2, true}, {0, 3, 2, 2, true}, {0, 3, 1, 1, true}, {0, 5, 3, 2, true},
		{0, 3, 0, 0, false}, {1, 3, 0, 0, false},
	} {
		got, err := quorum.CheckLevel("w", tc.level, tc.n, tc.replicas)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("CheckLevel(w, %d, %d, %d) = %d, %v; want %d, ok=%v", tc.level, tc.n, tc.replicas, got, err, tc.want, tc.ok)
		}
	}
}

// TestCheckLevelNamesTheLimit: a refused level says which limit it broke
// and where that limit comes from.
func TestCheckLevelNamesTheLimit(t *testing.T) {
	_, err := quorum.CheckLevel("w", 3, 3, 2)
	if want := "w=3 is outside 1..2: a key has 2 replicas (n=3, but the ring has 2 members)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("w=3 with 2 members: %v, want %q", err, want)
	}
	_, err = quorum.CheckLevel("r", 4, 3, 3)
	if want := "r=4 is outside 1..3: a key has 3 replicas (n=3)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("r=4 with n=3: %v, want %q", err, want)
	}
}

// TestCheckLevelMatchesTheRule checks CheckLevel against the rule stated
// by hand: a level is accepted iff it is 1..replicas, and the default is a
// majority of the replicas, so a default R and W always overlap.
func TestCheckLevelMatchesTheRule(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 7).Draw(t, "n")
		replicas := rapid.IntRange(0, n).Draw(t, "replicas")
		level := rapid.IntRange(-2, 9).Draw(t, "level")
		got, err := quorum.CheckLevel("w", level, n, replicas)
		switch {
		case replicas == 0:
			if err == nil {
				t.Fatalf("accepted %d with no replicas", level)
			}
		case level == 0:
			if err != nil || got != replicas/2+1 || 2*got <= replicas {
				t.Fatalf("default with %d replicas: %d, %v", replicas, got, err)
			}
		case level >= 1 && level <= replicas:
			if err != nil || got != level {
				t.Fatalf("level %d of %d replicas: %d, %v", level, replicas, got, err)
			}
		default:
			if !errors.Is(err, quorum.ErrInvalidQuorum) {
				t.Fatalf("level %d of %d replicas (n=%d) accepted: %d, %v", level, replicas, n, got, err)
			}
		}
	})
}

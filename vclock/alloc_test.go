package vclock_test

import (
	"testing"

	"github.com/ringkv/ringkv/vclock"
)

// The hot path's allocation budget, held by test rather than by hope. The
// counts are deterministic; only the race detector's instrumentation changes
// them.

func requireAllocs(t *testing.T, what string, most float64, f func()) {
	t.Helper()
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	if got := testing.AllocsPerRun(50, f); got > most {
		t.Errorf("%s allocates %v times, want at most %v", what, got, most)
	}
}

func TestAllocationBudget(t *testing.T) {
	x, y := diverged()
	s := vclock.Sync(x, y)
	enc := s.Encode()
	buf := make([]byte, 0, 2*len(enc))
	t.Run("Update: one clock, one sibling slice", func(t *testing.T) {
		requireAllocs(t, "Update", 2, func() { vclock.Update(s, s.Context(), A, value100, false) })
	})
	t.Run("Sync of diverged versions: one clock, one sibling slice", func(t *testing.T) {
		requireAllocs(t, "Sync", 2, func() { vclock.Sync(x, y) })
	})
	t.Run("Sync of agreeing versions: nothing", func(t *testing.T) {
		same, err := vclock.Decode(enc) // equal content, separate memory, as from another replica
		if err != nil {
			t.Fatal(err)
		}
		requireAllocs(t, "Sync", 0, func() { vclock.Sync(s, same) })
	})
	t.Run("AppendEncode into room: nothing", func(t *testing.T) {
		requireAllocs(t, "AppendEncode", 0, func() { buf = s.AppendEncode(buf[:0]) })
	})
	t.Run("Encode: exactly once", func(t *testing.T) {
		requireAllocs(t, "Encode", 1, func() { s.Encode() })
	})
	t.Run("Digest: nothing", func(t *testing.T) {
		requireAllocs(t, "Digest", 0, func() { s.Digest() })
	})
	t.Run("Decode: clock, siblings, one value buffer", func(t *testing.T) {
		requireAllocs(t, "Decode", 3, func() { _, _ = vclock.Decode(enc) })
	})
}

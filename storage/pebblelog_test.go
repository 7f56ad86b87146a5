package storage

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Issue 10, defect 8: restarted on a full disk, a node logged Pebble's
// background error 3.3 million times in 15 seconds. Pebble retries a failed
// flush at once; its log must stay bounded however fast it fails.
func TestAPebbleErrorStormIsLoggedAtABoundedRate(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(1e9, 0)
	p := newPebbleLogger(slog.New(slog.NewTextHandler(&out, nil)), func() time.Time { return now })
	enospc := errors.New("write 000123.sst: no space left on device")
	const storm = 100000
	for range storm {
		p.Errorf("background error: %s", enospc)
	}
	if lines := strings.Count(out.String(), "\n"); lines != logBurst {
		t.Fatalf("%d identical errors at one instant logged %d lines, want %d", storm, lines, logBurst)
	}
	// Another kind of error is not hidden by the storm.
	p.Errorf("MANIFEST sync failed: %v", enospc)
	if !strings.Contains(out.String(), "MANIFEST sync failed") {
		t.Fatal("a different error was suppressed by the storm")
	}
	// After the interval one line more, saying how many were suppressed.
	out.Reset()
	now = now.Add(logInterval)
	p.Errorf("background error: %s", enospc)
	p.Errorf("background error: %s", enospc)
	if got := out.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "suppressed=99995") {
		t.Fatalf("after %s: %q", logInterval, got)
	}
	if p.errors.Load() != storm+3 || p.suppressed.Load() != storm-logBurst+1 {
		t.Fatalf("counted %d errors, %d suppressed", p.errors.Load(), p.suppressed.Load())
	}
}

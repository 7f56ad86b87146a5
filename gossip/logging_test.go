package gossip

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestMemberlistLogLevels(t *testing.T) {
	var buf bytes.Buffer
	l := memberlistLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Printf("[ERR] memberlist: Failed push/pull merge: boom")
	l.Printf("[WARN] memberlist: Refuting a dead message")
	l.Printf("[INFO] memberlist: Marking b as failed")
	l.Printf("[DEBUG] memberlist: Stream connection")
	l.Printf("no level at all")
	want := []string{
		`level=WARN msg="Failed push/pull merge: boom" lib=memberlist`,
		`level=WARN msg="Refuting a dead message" lib=memberlist`,
		`level=DEBUG msg="Marking b as failed" lib=memberlist`,
		`level=DEBUG msg="Stream connection" lib=memberlist`,
		`level=DEBUG msg="no level at all" lib=memberlist`,
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), buf.String())
	}
	for i, line := range lines {
		if !strings.Contains(line, want[i]) {
			t.Errorf("line %d: %s\nwant it to contain %s", i, line, want[i])
		}
	}
}

package devcluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/devcluster"
)

// With no node running, the fault commands only validate and record:
// what they record is what Load reads back and what dev status prints.
func TestFaultsAreValidatedAndRecorded(t *testing.T) {
	dir := t.TempDir()
	c := devcluster.New(dir, 3, 7070, "ringkv", nil)
	ctx := context.Background()
	for _, bad := range []struct {
		err  error
		want string
	}{
		{c.Partition(ctx, [][]string{{"n1", "n2", "n3"}}), "two groups at least"},
		{c.Partition(ctx, [][]string{{"n1"}, {"n2"}}), "n3 is in no group"},
		{c.Partition(ctx, [][]string{{"n1", "n2"}, {"n2", "n3"}}), "n2 is in groups 1 and 2"},
		{c.Partition(ctx, [][]string{{"n1", "n9"}, {"n2", "n3"}}), `no node "n9"`},
		{c.Partition(ctx, [][]string{{"n1", "n2", "n3"}, {}}), "group 2 is empty"},
		{c.Isolate(ctx, "n9"), `no node "n9"`},
		{c.Slow(ctx, "n1", 11*time.Second), "outside 0..10s"},
		{c.SlowDisk(ctx, "n1", -time.Millisecond), "outside 0..10s"},
	} {
		if bad.err == nil || !strings.Contains(bad.err.Error(), bad.want) {
			t.Errorf("got %v, want an error saying %q", bad.err, bad.want)
		}
	}
	if !c.Faults.None() {
		t.Fatalf("refused calls recorded %v", c.Faults)
	}

	for _, err := range []error{c.Isolate(ctx, "n3"), c.Slow(ctx, "n1", 50*time.Millisecond), c.SlowDisk(ctx, "n2", 20*time.Millisecond)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	loaded, err := devcluster.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := loaded.Faults.String(), "partition n3 | n1,n2; slow n1 50ms; slow-disk n2 20ms"; got != want {
		t.Fatalf("recorded %q, want %q", got, want)
	}
	if got := loaded.Faults.Of("n1"); got != "cut from n3, slow 50ms" {
		t.Fatalf("n1's faults: %q", got)
	}
	if err := loaded.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := devcluster.Load(dir); !again.Faults.None() || again.Faults.Of("n1") != "-" {
		t.Fatalf("after heal: %v", again.Faults)
	}
}

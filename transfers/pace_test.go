package transfers

import (
	"context"
	"testing"
	"time"
)

// Pacing lets a batch bigger than the burst through in steps, and holds a
// transfer to its rate: at 1 byte/s, two batches cannot go within a
// minute (the limiter refuses at once, without waiting, when the deadline
// is too near).
func TestPaceSplitsBigBatchesAndHoldsTheRate(t *testing.T) {
	fast, err := New(Config{Rate: 1 << 40, BatchBytes: 1 << 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	if err := fast.pace(context.Background(), 10<<10); err != nil {
		t.Fatalf("a batch of ten bursts: %v", err)
	}
	slow, err := New(Config{Rate: 1, BatchBytes: 1 << 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := slow.pace(ctx, 1<<10); err != nil {
		t.Fatalf("the first batch, within the burst: %v", err)
	}
	if err := slow.pace(ctx, 1<<10); err == nil {
		t.Fatal("a second batch at 1 byte/s went through within a minute")
	}
}

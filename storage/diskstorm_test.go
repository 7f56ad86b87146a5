package storage_test

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/faults"
	"github.com/ringkv/ringkv/internal/testwait"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/vclock"
)

// lineCounter counts the lines a logger writes.
type lineCounter struct {
	mu    sync.Mutex
	lines int
}

func (c *lineCounter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lines += strings.Count(string(p), "\n")
	return len(p), nil
}

func (c *lineCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lines
}

// Issue 10, defect 8: restarted on a full disk, Pebble retried its failing
// flush at once, forever, and the node logged each failure (3.3 million
// lines in 15 s). Here the same storm, with no ballast to release: its
// log must stay bounded however many times the flush fails.
func TestAPebbleFlushStormOnAFullDiskIsLoggedAtABoundedRate(t *testing.T) {
	fs := faults.NewDisk(16 << 20)
	s, err := storage.Open(storage.Options{Dir: "/s", FS: fs, DiskReserveBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	value := make([]byte, 16<<10)
	for i := range 300 {
		if _, err := s.Update(fmt.Appendf(nil, "k%d", i), vclock.VV{}, value, false, 0); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	fs.FillUp()

	logs := &lineCounter{}
	start := time.Now()
	opened := make(chan struct{})
	go func() {
		defer close(opened)
		// Pebble flushes the replayed log at open, and cannot: the open
		// waits for the flush, which fails and retries until space is freed.
		s, err := storage.Open(storage.Options{Dir: "/s", FS: fs, DiskReserveBytes: -1,
			Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err == nil {
			s.Close()
		}
	}()
	testwait.Until(t, 30*time.Second, "a storm of failed writes", func() bool { return fs.ENOSPC.Load() >= 2000 })
	lines, failed, elapsed := logs.count(), fs.ENOSPC.Load(), time.Since(start)
	fs.Fill(-fs.Capacity)
	testwait.Until(t, 30*time.Second, "the store opens once space is freed", func() bool {
		select {
		case <-opened:
			return true
		default:
			return false
		}
	})
	// Five lines, then one per 10s; allow a few kinds of error.
	if limit := 3 * (5 + int(elapsed/(10*time.Second))); lines > limit {
		t.Fatalf("%d failed writes were logged in %d lines, more than %d", failed, lines, limit)
	}
	t.Logf("%d failed writes, %d lines logged", failed, lines)
}

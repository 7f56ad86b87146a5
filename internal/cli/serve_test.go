package cli

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/faults"
	"github.com/ringkv/ringkv/internal/testwait"
	"github.com/ringkv/ringkv/node"
)

// Issue 10, defect 8: restarted on a full disk, a node ignored SIGTERM
// and had to be killed. serve must return soon after its signal whatever
// storage does.
func TestServeStopsOnSignalWhateverStorageDoes(t *testing.T) {
	for _, when := range []string{"while storage opens", "while storage closes"} {
		t.Run(when, func(t *testing.T) {
			fs := faults.NewDisk(1 << 40) // a disk that can hang
			t.Cleanup(fs.Release)
			if when == "while storage opens" {
				fs.Hang()
			}
			logs := &syncBuffer{}
			cfg := node.Config{ID: "n1", Dir: "/n1", Listen: "127.0.0.1:0", Gossip: "127.0.0.1:0", N: 1, Partitions: 16, DiskBallastBytes: -1,
				Logger: slog.New(slog.NewTextHandler(logs, nil))}
			ctx, signal := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- serve(ctx, cfg, node.Deps{FS: fs}, 200*time.Millisecond) }()
			if when == "while storage closes" {
				// Once it serves, a disk that stops answering holds Pebble's close.
				testwait.Until(t, 30*time.Second, "the node starts", func() bool { return strings.Contains(logs.String(), "node started") })
				fs.Hang()
			}
			signal()
			var err error
			testwait.Until(t, 30*time.Second, "serve returns after the signal", func() bool {
				select {
				case err = <-done:
					return true
				default:
					return false
				}
			})
			want := "interrupted while starting"
			if when == "while storage closes" {
				want = node.ErrCloseTimeout.Error()
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("serve: %v; want %q", err, want)
			}
		})
	}
}

// syncBuffer is a log sink tests read while a node writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

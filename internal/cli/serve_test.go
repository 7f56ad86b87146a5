package cli

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ringkv/ringkv/internal/testwait"
	"github.com/ringkv/ringkv/node"
)

// hungFS is an in-memory disk whose syncs block while it is hung.
type hungFS struct {
	vfs.FS
	mu   sync.Mutex
	gate chan struct{} // non-nil: syncs wait for it to close
}

func (fs *hungFS) hang() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.gate = make(chan struct{})
}

func (fs *hungFS) release() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.gate != nil {
		close(fs.gate)
		fs.gate = nil
	}
}

func (fs *hungFS) wait() {
	fs.mu.Lock()
	g := fs.gate
	fs.mu.Unlock()
	if g != nil {
		<-g
	}
}

func (fs *hungFS) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, cat)
	return &hungFile{f, fs}, err
}

func (fs *hungFS) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, cat, opts...)
	return &hungFile{f, fs}, err
}

func (fs *hungFS) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, cat)
	return &hungFile{f, fs}, err
}

type hungFile struct {
	vfs.File
	fs *hungFS
}

func (f *hungFile) Sync() error                  { f.fs.wait(); return f.File.Sync() }
func (f *hungFile) SyncData() error              { f.fs.wait(); return f.File.SyncData() }
func (f *hungFile) SyncTo(n int64) (bool, error) { f.fs.wait(); return f.File.SyncTo(n) }

// Issue 10, defect 8: restarted on a full disk, a node ignored SIGTERM
// and had to be killed. serve must return soon after its signal whatever
// storage does.
func TestServeStopsOnSignalWhateverStorageDoes(t *testing.T) {
	for _, when := range []string{"while storage opens", "while storage closes"} {
		t.Run(when, func(t *testing.T) {
			fs := &hungFS{FS: vfs.NewMem()}
			t.Cleanup(fs.release)
			if when == "while storage opens" {
				fs.hang()
			}
			logs := &syncBuffer{}
			cfg := node.Config{ID: "n1", Dir: "/n1", Listen: "127.0.0.1:0", Gossip: "127.0.0.1:0", N: 1, Partitions: 16,
				Logger: slog.New(slog.NewTextHandler(logs, nil))}
			ctx, signal := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- serve(ctx, cfg, node.Deps{FS: fs}, 200*time.Millisecond) }()
			if when == "while storage closes" {
				// Once it serves, a disk that stops answering holds Pebble's close.
				testwait.Until(t, 30*time.Second, "the node starts", func() bool { return strings.Contains(logs.String(), "node started") })
				fs.hang()
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

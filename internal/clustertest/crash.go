package clustertest

import (
	"context"
	"errors"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ringkv/ringkv/node"
)

// NewCrashable is New with nodes whose data lives in memory that Crash can
// roll back to what they had synced, as a power cut would.
func NewCrashable(t testing.TB, n int, opts ...func(*node.Config)) *Cluster {
	t.Helper()
	return newCluster(t, n, true, nil, opts)
}

// newCrashableDisk is a crashable in-memory disk holding the directory dir
// durably: its every ancestor synced, as an installed server's data
// directory would be. Without that, CrashClone keeps nothing of the
// unsynced path MkdirAll made, and a crashed node restarts empty.
func newCrashableDisk(t testing.TB, dir string) *vfs.MemFS {
	fs := vfs.NewCrashableMem()
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = fs.PathDir(d) {
		f, err := fs.OpenDir(d)
		if err == nil {
			err = errors.Join(f.Sync(), f.Close())
		}
		if err != nil {
			t.Fatalf("sync %s: %v", d, err)
		}
		if parent := fs.PathDir(d); parent == d {
			return fs
		}
	}
}

// crashDeps adds to d what a crashable cluster's node m starts on: its
// in-memory disk and a listener Crash can cut; false when its API address
// is still held by something else (the caller retries).
func (c *Cluster) crashDeps(m *member, d node.Deps) (node.Deps, bool) {
	if !c.crashable {
		return d, true
	}
	l, err := net.Listen("tcp", m.cfg.Listen)
	if errors.Is(err, syscall.EADDRINUSE) {
		return d, false
	}
	if err != nil {
		c.t.Fatalf("listen for %s: %v", m.cfg.ID, err)
	}
	m.lis = &cutListener{Listener: l, conns: map[net.Conn]struct{}{}}
	d.FS, d.Listener = m.disk, m.lis
	return d, true
}

// Crash stops node id as a power cut would: first nothing more it does can
// reach a client or a peer that asked it something (its connections are
// cut), then its disk keeps only what it had synced. Writes it had applied
// but not synced are gone, as are any answers it had not sent. Restart
// brings it back on what survived. Only for clusters made by NewCrashable.
func (c *Cluster) Crash(id string) {
	c.t.Helper()
	m := c.member(id)
	if m.disk == nil || m.node == nil {
		c.t.Fatalf("crash %s: not a running node of a crashable cluster", id)
	}
	m.lis.cut()
	m.disk = m.disk.CrashClone(vfs.CrashCloneCfg{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = m.node.Close(ctx) // what it does now touches only the abandoned disk
	m.node = nil
}

// cutListener is a node's API listener that can cut every connection it
// accepted, so a crashed node answers nothing more.
type cutListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

func (l *cutListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done {
		conn.Close()
		return nil, net.ErrClosed
	}
	tc := &trackedConn{Conn: conn, l: l}
	l.conns[tc] = struct{}{}
	return tc, nil
}

func (l *cutListener) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	l.Listener.Close()
	for conn := range l.conns {
		conn.(*trackedConn).Conn.Close()
	}
	clear(l.conns)
}

type trackedConn struct {
	net.Conn
	l *cutListener
}

func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

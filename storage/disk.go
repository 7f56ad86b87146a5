package storage

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/time/rate"
)

// Free-space admission. A node refuses writes while its data directory's
// filesystem has less free space than a reserve, long before the disk is
// full: Pebble panics when a write-ahead-log write fails, and spins on a
// flush that cannot complete, so the disk must never fill under it. The
// reserve is left for what Pebble itself needs (flushing memtables,
// compactions, the tombstones of deletes) and for metadata; reads, hint
// delivery and deletes of hints and reaped tombstones go on.
//
// An emergency ballast (as CockroachDB's) holds a further piece of the
// disk: a node whose disk filled anyway (another program, a reserve set
// too small) releases it, at start or as soon as its probe sees less than
// half the reserve free, so Pebble can open, replay its log, flush and
// compact, and the node serves reads. While the ballast is released
// its size is added to the reserve, so the space it freed is never spent
// on writes; the ballast is re-created once there is room for it and the
// reserve.

// Disk admission defaults.
const (
	// DefaultDiskReserveBytes covers Pebble flushing two full 32 MiB
	// memtables and a few compactions on top.
	DefaultDiskReserveBytes = 256 << 20
	// DefaultDiskBallastBytes is enough for Pebble to open and replay a
	// full write-ahead log on a disk that was full.
	DefaultDiskBallastBytes = 64 << 20
	// ballastName is the ballast's file name in the data directory.
	ballastName = "EMERGENCY_BALLAST"
	// diskProbeInterval is how often free space is read from the
	// filesystem; bytes written in between are counted as they are
	// written, so a write is never admitted into the reserve however
	// fast they come.
	diskProbeInterval = time.Second
)

// ErrDiskFull refuses a write while the disk is nearly full.
var ErrDiskFull = errors.New("storage: disk nearly full")

// DiskStatus is a node's free-space admission as last seen.
type DiskStatus struct {
	Probed  bool  // false: the filesystem reports no free space, nothing is refused
	Free    int64 // free bytes at the last probe less bytes written since
	Reserve int64 // free bytes writes never use (the ballast's size added while it is released)
	Ballast int64 // bytes of ballast on disk
	Full    bool  // writes are refused
	Refused uint64
}

// diskGuard owns the free-space probe of one data directory, its ballast,
// and the admission of writes. Its goroutine runs from open to close.
type diskGuard struct {
	fs          vfs.FS // unwrapped: probing and the ballast are not counted
	dir         string
	reserve     int64 // negative: none
	ballastSize int64 // 0: no ballast
	log         *slog.Logger

	probed  bool
	written atomic.Int64 // bytes Pebble wrote, ever (countingFS)
	probe   atomic.Pointer[diskProbe]
	ballast atomic.Int64 // bytes of ballast on disk
	refused atomic.Uint64
	full    atomic.Bool // last reported state, for logging transitions
	// retryBallast is when a ballast that could not be created is tried
	// again (the probe loop's alone).
	retryBallast time.Time

	kick     chan struct{}
	kickRate rate.Sometimes
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// diskProbe is one reading of free space, and the byte count at that moment.
type diskProbe struct{ avail, base int64 }

// openDiskGuard probes dir's filesystem, releases or creates the ballast,
// and starts the probe loop. fs may not report free space (vfs.MemFS):
// then nothing is ever refused.
func openDiskGuard(fs vfs.FS, dir string, reserve, ballast int64, log *slog.Logger) (*diskGuard, error) {
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("storage: create data directory %s: %w", dir, err)
	}
	g := &diskGuard{fs: fs, dir: dir, reserve: reserve, ballastSize: max(ballast, 0), log: log,
		kick: make(chan struct{}, 1), kickRate: rate.Sometimes{Interval: 50 * time.Millisecond},
		stop: make(chan struct{}), done: make(chan struct{})}
	_, err := fs.GetDiskUsage(dir)
	g.probed = err == nil
	if !g.probed {
		if !errors.Is(err, vfs.ErrUnsupported) {
			log.Warn("cannot read free disk space: writes are not refused when the disk fills", "dir", dir, "err", err)
		}
		close(g.done)
		return g, nil
	}
	g.initBallast()
	g.refresh()
	go g.run()
	return g, nil
}

// openStoreDisk opens the guard of a store's data directory.
func openStoreDisk(o Options) (*diskGuard, error) {
	fs, log := o.FS, o.Logger
	if fs == nil {
		fs = vfs.Default
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return openDiskGuard(fs, o.Dir, o.DiskReserveBytes, o.DiskBallastBytes, log)
}

// wrap returns the filesystem for Pebble, counting the bytes it writes.
func (g *diskGuard) wrap() vfs.FS {
	if !g.probed {
		return g.fs
	}
	return countingFS{FS: g.fs, n: &g.written}
}

func (g *diskGuard) ballastPath() string { return g.fs.PathJoin(g.dir, ballastName) }

// initBallast releases the ballast when the disk is nearly full at start,
// so Pebble can open; otherwise it makes sure the ballast is in place.
func (g *diskGuard) initBallast() {
	if fi, err := g.fs.Stat(g.ballastPath()); err == nil {
		g.ballast.Store(fi.Size())
	}
	avail := g.avail()
	switch {
	case g.ballast.Load() > 0 && (g.ballastSize == 0 || g.critical(avail)):
		g.releaseBallast(avail)
	case g.ballast.Load() != g.ballastSize:
		g.ensureBallast(avail)
	}
}

// critical says whether avail free bytes are too few for Pebble to go on
// safely: less than half the reserve, which this node's own writes never
// reach (they stop at the reserve), so something else filled the disk, or
// the node starts on a disk that did. Without a reserve: less than the
// ballast.
func (g *diskGuard) critical(avail int64) bool {
	if g.reserve < 0 {
		return avail < g.ballastSize
	}
	return avail < g.reserve/2
}

// avail reads the filesystem's free space; 0 when it cannot.
func (g *diskGuard) avail() int64 {
	u, err := g.fs.GetDiskUsage(g.dir)
	if err != nil {
		return 0
	}
	return int64(min(u.AvailBytes, 1<<62))
}

func (g *diskGuard) releaseBallast(avail int64) {
	if err := g.fs.Remove(g.ballastPath()); err != nil {
		g.log.Error("cannot release the emergency ballast", "path", g.ballastPath(), "err", err)
		return
	}
	if g.ballastSize > 0 {
		g.log.Warn("disk nearly full: released the emergency ballast so storage can go on; "+
			"writes are refused until space is freed", "free_bytes", avail, "released_bytes", g.ballast.Load(),
			"reserve_bytes", g.reserve)
	}
	g.ballast.Store(0)
}

// ensureBallast (re)creates the ballast when it is missing or of another
// size, and there is room for it on top of the reserve.
func (g *diskGuard) ensureBallast(avail int64) {
	have := g.ballast.Load()
	if g.ballastSize == 0 || have == g.ballastSize || avail+have < max(g.reserve, 0)+g.ballastSize ||
		time.Now().Before(g.retryBallast) {
		return
	}
	if err := createBallast(g.fs, g.ballastPath(), g.ballastSize); err != nil {
		g.log.Warn("cannot create the emergency ballast; trying again in a minute", "path", g.ballastPath(),
			"bytes", g.ballastSize, "err", err)
		g.retryBallast = time.Now().Add(time.Minute)
		return
	}
	g.ballast.Store(g.ballastSize)
	if have == 0 {
		g.log.Info("emergency ballast in place", "path", g.ballastPath(), "bytes", g.ballastSize)
	}
}

// createBallast writes a file of size bytes at path, through a temporary
// name so a crash leaves no short ballast behind.
func createBallast(fs vfs.FS, path string, size int64) error {
	tmp := path + ".tmp"
	err := writeBallast(fs, tmp, size)
	if err == nil {
		err = fs.Rename(tmp, path)
	}
	if err != nil {
		_ = fs.Remove(tmp)
	}
	return err
}

func writeBallast(fs vfs.FS, path string, size int64) error {
	f, err := fs.Create(path, vfs.WriteCategoryUnspecified)
	if err != nil {
		return err
	}
	if err = allocate(f, size); err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// allocate gives f size bytes on disk: fallocate where the filesystem
// has it, written zeros elsewhere.
func allocate(f vfs.File, size int64) error {
	if fallocate(f, size) == nil {
		return nil
	}
	zeros := make([]byte, min(size, 1<<20))
	for left := size; left > 0; {
		n, err := f.Write(zeros[:min(left, int64(len(zeros)))])
		if err != nil {
			return err
		}
		left -= int64(n)
	}
	return nil
}

func (g *diskGuard) run() {
	defer close(g.done)
	t := time.NewTicker(diskProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		case <-g.kick:
		}
		g.refresh()
	}
}

// refresh reads free space, re-creates a released ballast when there is
// room, and logs a change between refusing and accepting writes.
func (g *diskGuard) refresh() {
	base := g.written.Load()
	avail := g.avail()
	if g.ballast.Load() > 0 && g.critical(avail) {
		g.releaseBallast(avail)
		base, avail = g.written.Load(), g.avail()
	} else if g.ballast.Load() != g.ballastSize {
		g.ensureBallast(avail)
		base, avail = g.written.Load(), g.avail()
	}
	g.probe.Store(&diskProbe{avail: avail, base: base})
	st := g.status()
	if g.full.Swap(st.Full) != st.Full {
		if st.Full {
			g.log.Warn("disk nearly full: refusing writes until space is freed", "free_bytes", st.Free, "reserve_bytes", st.Reserve)
		} else {
			g.log.Info("disk space available again: accepting writes", "free_bytes", st.Free, "reserve_bytes", st.Reserve)
		}
	}
}

// free is the free space at the last probe less what Pebble wrote since.
func (g *diskGuard) free() int64 {
	p := g.probe.Load()
	return p.avail - (g.written.Load() - p.base)
}

// need is the free space writes must leave: the reserve, plus the
// ballast's size while it is not on disk.
func (g *diskGuard) need() int64 {
	return g.reserve + g.ballastSize - g.ballast.Load()
}

// admit refuses a write when the disk is nearly full. It costs a few
// atomic loads: the filesystem is read by the probe loop, never here.
func (g *diskGuard) admit() error {
	if g == nil || !g.probed || g.reserve < 0 {
		return nil
	}
	free, need := g.free(), g.need()
	if free >= need {
		return nil
	}
	g.refused.Add(1)
	// Space may have been freed since the last probe: look again soon.
	g.kickRate.Do(func() {
		select {
		case g.kick <- struct{}{}:
		default:
		}
	})
	return fmt.Errorf("%w: %d bytes free, reserve %d (--disk-reserve-bytes); writes are refused until space is freed, reads are served",
		ErrDiskFull, free, need)
}

func (g *diskGuard) status() DiskStatus {
	if g == nil || !g.probed {
		return DiskStatus{}
	}
	st := DiskStatus{Probed: true, Free: g.free(), Reserve: g.need(), Ballast: g.ballast.Load(), Refused: g.refused.Load()}
	st.Full = g.reserve >= 0 && st.Free < st.Reserve
	return st
}

// close stops the probe loop. Idempotent.
func (g *diskGuard) close() {
	if g == nil {
		return
	}
	g.stopOnce.Do(func() { close(g.stop) })
	<-g.done
}

// Disk reports the store's free-space admission.
func (s *Store) Disk() DiskStatus { return s.disk.status() }

// countingFS counts the bytes written through it: the guard's estimate of
// free space between probes.
type countingFS struct {
	vfs.FS
	n *atomic.Int64
}

func (c countingFS) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	return c.count(c.FS.Create(name, cat))
}

func (c countingFS) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return c.count(c.FS.OpenReadWrite(name, cat, opts...))
}

func (c countingFS) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	return c.count(c.FS.ReuseForWrite(oldname, newname, cat))
}

func (c countingFS) Unwrap() vfs.FS { return c.FS }

func (c countingFS) count(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return countingFile{File: f, n: c.n}, nil
}

type countingFile struct {
	vfs.File
	n *atomic.Int64
}

func (f countingFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.n.Add(int64(n))
	return n, err
}

func (f countingFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	f.n.Add(int64(n))
	return n, err
}

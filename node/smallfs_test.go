package node_test

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// smallFS is an in-memory filesystem of a fixed capacity, as a small
// partition would be: it reports its free space through GetDiskUsage and
// fails a write past its capacity with ENOSPC. Other programs' use of the
// disk is simulated with fill. Armed with hang, every Sync blocks until
// release: a disk that stopped answering.
type smallFS struct {
	vfs.FS
	mu       sync.Mutex
	capacity int64
	used     int64 // bytes in files
	other    int64 // bytes used by someone else
	sizes    map[string]int64
	hangCh   chan struct{} // non-nil: Syncs block until it is closed

	enospc  atomic.Int64 // writes refused for lack of space
	probes  atomic.Int64 // GetDiskUsage calls
	blocked atomic.Int64 // Syncs blocked by hang
}

func newSmallFS(capacity int64) *smallFS {
	return &smallFS{FS: vfs.NewMem(), capacity: capacity, sizes: map[string]int64{}}
}

// fill makes someone else use bytes of the disk (negative frees them).
func (fs *smallFS) fill(bytes int64) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.other += bytes
}

// fillUp makes someone else use every free byte.
func (fs *smallFS) fillUp() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.other = fs.capacity - fs.used
}

func (fs *smallFS) hang() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.hangCh = make(chan struct{})
}

func (fs *smallFS) release() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.hangCh != nil {
		close(fs.hangCh)
		fs.hangCh = nil
	}
}

func (fs *smallFS) waitSync() {
	fs.mu.Lock()
	ch := fs.hangCh
	fs.mu.Unlock()
	if ch != nil {
		fs.blocked.Add(1)
		<-ch
	}
}

func (fs *smallFS) GetDiskUsage(string) (vfs.DiskUsage, error) {
	fs.probes.Add(1)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	used := fs.used + fs.other
	return vfs.DiskUsage{AvailBytes: uint64(max(fs.capacity-used, 0)), TotalBytes: uint64(fs.capacity), UsedBytes: uint64(used)}, nil
}

// grow accounts for n bytes written to name, or refuses them.
func (fs *smallFS) grow(name string, n int64) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.used+fs.other+n > fs.capacity {
		fs.enospc.Add(1)
		return &os.PathError{Op: "write", Path: name, Err: syscall.ENOSPC}
	}
	fs.used += n
	fs.sizes[name] += n
	return nil
}

func (fs *smallFS) forget(name string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.used -= fs.sizes[name]
	delete(fs.sizes, name)
}

func (fs *smallFS) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, cat)
	if err != nil {
		return nil, err
	}
	fs.forget(name)
	return &smallFile{File: f, fs: fs, name: name}, nil
}

func (fs *smallFS) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, cat, opts...)
	if err != nil {
		return nil, err
	}
	return &smallFile{File: f, fs: fs, name: name}, nil
}

// ReuseForWrite does not reuse: a recycled log's old bytes would be
// counted twice.
func (fs *smallFS) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	if err := fs.Remove(oldname); err != nil {
		return nil, err
	}
	return fs.Create(newname, cat)
}

func (fs *smallFS) Remove(name string) error {
	if err := fs.FS.Remove(name); err != nil {
		return err
	}
	fs.forget(name)
	return nil
}

func (fs *smallFS) Rename(oldname, newname string) error {
	if err := fs.FS.Rename(oldname, newname); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.used -= fs.sizes[newname]
	fs.sizes[newname] = fs.sizes[oldname]
	delete(fs.sizes, oldname)
	return nil
}

func (fs *smallFS) Unwrap() vfs.FS { return fs.FS }

type smallFile struct {
	vfs.File
	fs   *smallFS
	name string
}

func (f *smallFile) Write(p []byte) (int, error) {
	if err := f.fs.grow(f.name, int64(len(p))); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *smallFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	extra := max(off+int64(len(p))-f.fs.sizes[f.name], 0)
	f.fs.mu.Unlock()
	if err := f.fs.grow(f.name, extra); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f *smallFile) Sync() error {
	f.fs.waitSync()
	return f.File.Sync()
}

func (f *smallFile) SyncData() error {
	f.fs.waitSync()
	return f.File.SyncData()
}

func (f *smallFile) SyncTo(length int64) (bool, error) {
	f.fs.waitSync()
	return f.File.SyncTo(length)
}

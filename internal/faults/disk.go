package faults

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Disk is an in-memory filesystem of a fixed capacity, as a small
// partition would be: it reports its free space through GetDiskUsage and
// fails a write past its capacity with ENOSPC. Other programs' use of the
// disk is simulated with Fill. Armed with Hang, every Sync blocks until
// Release: a disk that stopped answering. Capacity is read-only once the
// disk is in use.
type Disk struct {
	vfs.FS
	mu       sync.Mutex
	Capacity int64
	used     int64 // bytes in files
	other    int64 // bytes used by someone else
	sizes    map[string]int64
	hangCh   chan struct{} // non-nil: Syncs block until it is closed

	ENOSPC  atomic.Int64 // writes refused for lack of space
	Probes  atomic.Int64 // GetDiskUsage calls
	Blocked atomic.Int64 // Syncs blocked by hang
}

// NewDisk returns an empty disk of capacity bytes.
func NewDisk(capacity int64) *Disk {
	return &Disk{FS: vfs.NewMem(), Capacity: capacity, sizes: map[string]int64{}}
}

// NewDiskOver returns an empty disk of capacity bytes over fs, e.g. a
// vfs.NewCrashableMem that a test crash-clones while a Sync hangs.
func NewDiskOver(fs vfs.FS, capacity int64) *Disk {
	return &Disk{FS: fs, Capacity: capacity, sizes: map[string]int64{}}
}

// Fill makes someone else use bytes of the disk (negative frees them).
func (fs *Disk) Fill(bytes int64) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.other += bytes
}

// FillUp makes someone else use every free byte.
func (fs *Disk) FillUp() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.other = fs.Capacity - fs.used
}

// Hang makes every Sync block until Release.
func (fs *Disk) Hang() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.hangCh = make(chan struct{})
}

// Release lets blocked and later Syncs through.
func (fs *Disk) Release() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.hangCh != nil {
		close(fs.hangCh)
		fs.hangCh = nil
	}
}

func (fs *Disk) waitSync() {
	fs.mu.Lock()
	ch := fs.hangCh
	fs.mu.Unlock()
	if ch != nil {
		fs.Blocked.Add(1)
		<-ch
	}
}

func (fs *Disk) GetDiskUsage(string) (vfs.DiskUsage, error) {
	fs.Probes.Add(1)
	fs.mu.Lock()
	defer fs.mu.Unlock()
	used := fs.used + fs.other
	return vfs.DiskUsage{AvailBytes: uint64(max(fs.Capacity-used, 0)), TotalBytes: uint64(fs.Capacity), UsedBytes: uint64(used)}, nil
}

// grow accounts for n bytes written to name, or refuses them.
func (fs *Disk) grow(name string, n int64) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.used+fs.other+n > fs.Capacity {
		fs.ENOSPC.Add(1)
		return &os.PathError{Op: "write", Path: name, Err: syscall.ENOSPC}
	}
	fs.used += n
	fs.sizes[name] += n
	return nil
}

func (fs *Disk) forget(name string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.used -= fs.sizes[name]
	delete(fs.sizes, name)
}

func (fs *Disk) Create(name string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, cat)
	if err != nil {
		return nil, err
	}
	fs.forget(name)
	return &diskFile{File: f, fs: fs, name: name}, nil
}

func (fs *Disk) OpenReadWrite(name string, cat vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, cat, opts...)
	if err != nil {
		return nil, err
	}
	return &diskFile{File: f, fs: fs, name: name}, nil
}

// ReuseForWrite does not reuse: a recycled log's old bytes would be
// counted twice.
func (fs *Disk) ReuseForWrite(oldname, newname string, cat vfs.DiskWriteCategory) (vfs.File, error) {
	if err := fs.Remove(oldname); err != nil {
		return nil, err
	}
	return fs.Create(newname, cat)
}

func (fs *Disk) Remove(name string) error {
	if err := fs.FS.Remove(name); err != nil {
		return err
	}
	fs.forget(name)
	return nil
}

func (fs *Disk) Rename(oldname, newname string) error {
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

func (fs *Disk) Unwrap() vfs.FS { return fs.FS }

type diskFile struct {
	vfs.File
	fs   *Disk
	name string
}

func (f *diskFile) Write(p []byte) (int, error) {
	if err := f.fs.grow(f.name, int64(len(p))); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f *diskFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	extra := max(off+int64(len(p))-f.fs.sizes[f.name], 0)
	f.fs.mu.Unlock()
	if err := f.fs.grow(f.name, extra); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f *diskFile) Sync() error {
	f.fs.waitSync()
	return f.File.Sync()
}

func (f *diskFile) SyncData() error {
	f.fs.waitSync()
	return f.File.SyncData()
}

func (f *diskFile) SyncTo(length int64) (bool, error) {
	f.fs.waitSync()
	return f.File.SyncTo(length)
}

package storage

import (
	"errors"

	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/sys/unix"
)

// fallocate gives f size bytes of disk at once, without writing them.
func fallocate(f vfs.File, size int64) error {
	fd := f.Fd()
	if fd == vfs.InvalidFd {
		return errors.ErrUnsupported
	}
	return unix.Fallocate(int(fd), 0, 0, size)
}

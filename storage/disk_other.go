//go:build !linux

package storage

import (
	"errors"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// fallocate is Linux only; elsewhere the ballast is written.
func fallocate(vfs.File, int64) error { return errors.ErrUnsupported }

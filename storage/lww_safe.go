//go:build !ringkv_lww

package storage

import "github.com/ringkv/ringkv/vclock"

// lastWriteWins is false in every real build; see lww_unsafe.go.
const lastWriteWins = false

func keepLast(s vclock.Set) vclock.Set { return s }

//go:build !ringkv_unsafe_dots

package storage

// unsafeDots is false in every real build; see dots_unsafe.go.
const unsafeDots = false

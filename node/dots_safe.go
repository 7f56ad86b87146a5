//go:build !ringkv_unsafe_dots

package node

// unsafeDots is false in every real build; see dots_unsafe.go.
const unsafeDots = false

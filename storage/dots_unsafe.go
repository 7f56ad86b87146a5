//go:build ringkv_unsafe_dots

package storage

// unsafeDots brings back, in a build made with -tags ringkv_unsafe_dots
// and never otherwise, how ringkv numbered writes before issue 10: one
// actor per data directory for good, and each key's counter taken from its
// own clock. Such a node reuses dots after a reap or a crash. It exists so
// the history checks can be shown to catch that (make check-can-fail).
const unsafeDots = true

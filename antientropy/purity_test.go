package antientropy_test

import (
	"testing"

	"github.com/ringkv/ringkv/internal/puretest"
)

// antientropy is a pure leaf package: no network, files, clock, goroutine
// synchronisation, logging or I/O; the exchange reaches the other side
// only through the Side interface.
func TestImportsOnlyPureStandardLibrary(t *testing.T) {
	puretest.Imports(t, "bytes", "cmp", "context", "encoding/binary", "errors", "fmt",
		"slices", "github.com/cespare/xxhash/v2")
}

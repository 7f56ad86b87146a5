package ring_test

import (
	"testing"

	"github.com/ringkv/ringkv/internal/puretest"
)

// ring is a pure leaf package: every node computes the same ring from the
// same members, with no I/O, clock or randomness.
func TestImportsOnlyPurePackages(t *testing.T) {
	puretest.Imports(t, "encoding/binary", "errors", "fmt", "github.com/cespare/xxhash/v2", "math/bits", "slices")
}

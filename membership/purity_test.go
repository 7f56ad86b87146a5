package membership_test

import (
	"testing"

	"github.com/ringkv/ringkv/internal/puretest"
)

// membership is a pure package: every node that holds the same state
// computes the same owners, with no I/O, clock or randomness.
func TestImportsOnlyPurePackages(t *testing.T) {
	puretest.Imports(t, "cmp", "encoding/binary", "errors", "fmt", "math/bits", "slices", "strings",
		"github.com/cespare/xxhash/v2", "github.com/ringkv/ringkv/ring")
}

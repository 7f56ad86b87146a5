package vclock_test

import (
	"testing"

	"github.com/ringkv/ringkv/internal/puretest"
)

// vclock is a pure leaf package: no I/O, clock, goroutines or logging.
func TestImportsOnlyPureStandardLibrary(t *testing.T) {
	puretest.Imports(t, "bytes", "cmp", "encoding/binary", "errors", "fmt",
		"math", "math/bits", "slices", "strconv", "strings")
}

package phi_test

import (
	"testing"

	"github.com/ringkv/ringkv/internal/puretest"
)

// phi is pure: the clock is an argument. It imports time for Duration and
// Time only (never calls time.Now); its tests drive it with a fake clock.
func TestImportsOnlyPurePackages(t *testing.T) {
	puretest.Imports(t, "errors", "fmt", "math", "time")
}

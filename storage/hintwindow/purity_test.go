package hintwindow_test

import (
	"testing"

	"github.com/ringkv/ringkv/internal/puretest"
)

// hintwindow is pure: it imports time for Time and Duration only and
// never reads the clock.
func TestImportsOnlyPurePackages(t *testing.T) {
	puretest.Imports(t, "time")
}

package phi_test

import (
	"go/build"
	"testing"
)

// phi is a pure algorithm (STYLE.md, habit 1): no network, disk, clock,
// logging or goroutines. Its imports are the cheap way to keep it so.
func TestImportsArePure(t *testing.T) {
	allowed := map[string]bool{"errors": true, "fmt": true, "math": true, "slices": true, "sort": true, "time": true}
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if !allowed[imp] {
			t.Errorf("phi imports %q; only %v are allowed", imp, allowed)
		}
	}
}

package vclock_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// vclock is a pure leaf package: no I/O, clock, goroutines or logging. This
// holds the line by listing what the non-test files import.
func TestImportsOnlyPureStandardLibrary(t *testing.T) {
	allowed := map[string]bool{
		"bytes": true, "cmp": true, "encoding/binary": true, "errors": true, "fmt": true,
		"math": true, "math/bits": true, "slices": true, "strconv": true, "strings": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); !allowed[path] {
				t.Errorf("%s imports %q; vclock must stay pure", name, path)
			}
		}
	}
}

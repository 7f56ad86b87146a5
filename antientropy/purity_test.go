package antientropy_test

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// antientropy is a pure leaf package: no network, files, clock, goroutine
// synchronisation, logging or I/O. This holds the line by listing what the
// non-test files import: the forbidden families fail by name, and anything
// else must be on the short list of pure packages.
func TestImportsOnlyPureStandardLibrary(t *testing.T) {
	forbidden := []string{"net", "os", "time", "log", "sync", "io", "unsafe", "runtime", "syscall"}
	allowed := map[string]bool{
		"bytes": true, "context": true, "encoding/binary": true, "errors": true, "fmt": true,
		"slices": true, "github.com/cespare/xxhash/v2": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, bad+"/") {
					t.Errorf("%s imports %q; antientropy must stay pure", name, path)
				}
			}
			if !allowed[path] {
				t.Errorf("%s imports %q, which is not on the list of pure imports", name, path)
			}
		}
	}
}

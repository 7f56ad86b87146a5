// Package puretest holds the line for ringkv's pure packages (vclock, ring,
// the Merkle tree, the phi detector): no network, files, wall clock,
// goroutines or logging. A package's test lists what it may import, and
// Imports fails on anything else its non-test files import.
package puretest

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Imports checks the non-test Go files in the current directory (a test's
// package directory) import only the allowed packages.
func Imports(t *testing.T, allowed ...string) {
	t.Helper()
	ok := map[string]bool{}
	for _, a := range allowed {
		ok[a] = true
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
			if path, _ := strconv.Unquote(imp.Path.Value); !ok[path] {
				t.Errorf("%s imports %q; the package must stay pure (allowed: %s)", name, path, strings.Join(allowed, ", "))
			}
		}
	}
}

package ring_test

import (
	"errors"
	"go/parser"
	"go/token"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ringkv/ringkv/ring"
)

func TestConfigValidate(t *testing.T) {
	good := []ring.Config{
		{},
		ring.DefaultConfig(),
		{Partitions: 1, VNodes: 1, N: 1},
		{Partitions: ring.MaxPartitions, VNodes: ring.MaxVNodes, N: 7},
	}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := map[ring.Config]string{
		{Partitions: 3}:                      "partitions must be a power of two",
		{Partitions: -256}:                   "partitions must be a power of two",
		{Partitions: 2 * ring.MaxPartitions}: "partitions must be a power of two",
		{VNodes: -1}:                         "vnodes must be in 1..4096",
		{VNodes: ring.MaxVNodes + 1}:         "vnodes must be in 1..4096",
		{N: -1}:                              "replicas (N) must be at least 1",
	}
	for c, want := range bad {
		err := c.Validate()
		if !errors.Is(err, ring.ErrInvalidConfig) || !strings.Contains(err.Error(), want) ||
			!strings.HasPrefix(err.Error(), "ring: ") {
			t.Errorf("%+v: got %v, want ErrInvalidConfig saying %q", c, err, want)
		}
		if _, err := ring.New(c, []string{"n1"}); !errors.Is(err, ring.ErrInvalidConfig) {
			t.Errorf("New(%+v): got %v, want ErrInvalidConfig", c, err)
		}
	}
	err := ring.Config{Partitions: 5, VNodes: -1, N: -1}.Validate()
	if n := strings.Count(err.Error(), "ring: invalid config"); n != 3 {
		t.Errorf("want all three problems reported, got %q", err)
	}
}

func TestNewRejectsBadMembers(t *testing.T) {
	if _, err := ring.New(ring.Config{}, nil); !errors.Is(err, ring.ErrNoMembers) {
		t.Errorf("no members: got %v", err)
	}
	if _, err := ring.New(ring.Config{}, []string{"n1", ""}); !errors.Is(err, ring.ErrEmptyMember) {
		t.Errorf("empty id: got %v", err)
	}
}

func TestDefaults(t *testing.T) {
	r := mustNew(t, ring.Config{}, []string{"n2", "n1", "n2"})
	if r.Config() != ring.DefaultConfig() || r.Partitions() != 256 || r.N() != 3 {
		t.Errorf("config %+v, partitions %d, N %d", r.Config(), r.Partitions(), r.N())
	}
	if got := r.Members(); !slices.Equal(got, []string{"n1", "n2"}) {
		t.Errorf("Members() = %q", got)
	}
	// Fewer members than N: every partition is held by every member.
	for p := range r.Partitions() {
		if got := r.Preference(p); len(got) != 2 {
			t.Fatalf("Preference(%d) = %q", p, got)
		}
	}
	if r.Balance() != 1 || len(r.PartitionsOf("n1")) != 256 || r.PartitionsOf("n9") != nil {
		t.Errorf("balance %v, n1 holds %d, n9 holds %v", r.Balance(), len(r.PartitionsOf("n1")), r.PartitionsOf("n9"))
	}
	if !r.Contains("n1") || r.Contains("n3") {
		t.Error("Contains")
	}
}

func TestPartitionOf(t *testing.T) {
	for _, q := range []int{1, 2, 256, ring.MaxPartitions} {
		r := mustNew(t, ring.Config{Partitions: q}, []string{"n1"})
		width := math.MaxUint64/uint64(q) + 1 // 2^64 / q, computed without overflow
		for _, c := range []struct {
			hash uint64
			want int
		}{
			{0, 0},
			{math.MaxUint64, q - 1},
			{width - 1, 0},
			{width * uint64(q/2), q / 2},
			{width*uint64(q/2) - 1, max(q/2-1, 0)},
		} {
			if got := r.PartitionOf(c.hash); got != c.want {
				t.Errorf("Q=%d: PartitionOf(%#x) = %d, want %d", q, c.hash, got, c.want)
			}
		}
	}
}

// TestSharedSlicesAreCapped: appending to a returned list must not write
// into the ring (the preference list is a prefix of the walk).
func TestSharedSlicesAreCapped(t *testing.T) {
	r := mustNew(t, ring.Config{N: 2}, ids("n", 5))
	walk := slices.Clone(r.Walk(7))
	_ = append(r.Preference(7), "intruder")
	_ = append(r.Walk(7), "intruder")
	if !slices.Equal(r.Walk(7), walk) {
		t.Fatalf("walk changed to %q", r.Walk(7))
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	r := mustNew(t, ring.Config{}, ids("n", 10))
	key := []byte("cart:42")
	allocs := testing.AllocsPerRun(100, func() {
		p := r.PartitionOf(ring.KeyHash(key))
		_ = r.Preference(p)
		_ = r.Walk(p)
	})
	if allocs != 0 {
		t.Fatalf("lookup allocates %v times", allocs)
	}
}

func TestDiffRejectsDifferentPartitionCounts(t *testing.T) {
	a := mustNew(t, ring.Config{Partitions: 256}, []string{"n1"})
	b := mustNew(t, ring.Config{Partitions: 512}, []string{"n1"})
	if _, err := ring.Diff(a, b); !errors.Is(err, ring.ErrPartitionMismatch) {
		t.Fatalf("got %v", err)
	}
	if c, err := ring.Diff(a, a); err != nil || len(c) != 0 {
		t.Fatalf("Diff(a, a) = %v, %v", c, err)
	}
}

// TestPure: the package imports only the standard library and xxhash, and
// nothing that does I/O, reads the clock or logs.
func TestPure(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"os", "io", "net", "time", "log", "sync", "unsafe", "math/rand", "crypto/rand", "runtime"}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			first, _, _ := strings.Cut(path, "/")
			if strings.Contains(first, ".") && path != "github.com/cespare/xxhash/v2" {
				t.Errorf("%s imports %s: only the standard library and xxhash are allowed", name, path)
			}
			for _, bad := range forbidden {
				if path == bad || strings.HasPrefix(path, bad+"/") {
					t.Errorf("%s imports %s: ring must stay pure", name, path)
				}
			}
		}
	}
}

func TestTokenHashIsDocumentedScheme(t *testing.T) {
	// xxhash of "n1" followed by 5 as 8 big-endian bytes.
	b := append([]byte("n1"), 0, 0, 0, 0, 0, 0, 0, 5)
	if got, want := ring.TokenHash("n1", 5), ring.KeyHash(b); got != want {
		t.Fatalf("TokenHash = %#x, want %#x", got, want)
	}
}

package antientropy_test

import (
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"github.com/cespare/xxhash/v2"

	"github.com/ringkv/ringkv/antientropy"
	"github.com/ringkv/ringkv/ring"
)

func TestConfigValidate(t *testing.T) {
	for _, c := range []antientropy.Config{
		{}, {PartitionBits: 8}, {PartitionBits: antientropy.MaxPartitionBits, Depth: antientropy.MaxDepth},
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	for _, c := range []antientropy.Config{
		{PartitionBits: -1}, {PartitionBits: antientropy.MaxPartitionBits + 1},
		{Depth: -1}, {Depth: antientropy.MaxDepth + 1}, {PartitionBits: 99, Depth: 99},
	} {
		if err := c.Validate(); !errors.Is(err, antientropy.ErrInvalidConfig) {
			t.Errorf("%+v: got %v, want ErrInvalidConfig", c, err)
		}
	}
}

func TestNewTreePanicsOnInvalidConfig(t *testing.T) {
	defer func() {
		if err, _ := recover().(error); !errors.Is(err, antientropy.ErrInvalidConfig) {
			t.Fatalf("recovered %v, want ErrInvalidConfig", err)
		}
	}()
	antientropy.NewTree(antientropy.Config{Depth: antientropy.MaxDepth + 1})
}

func TestNewTreeIsEmptyAndDefaultsDepth(t *testing.T) {
	tree := antientropy.NewTree(antientropy.Config{PartitionBits: 8})
	if tree.Depth() != antientropy.DefaultDepth || tree.Leaves() != 256 || tree.Root() != 0 {
		t.Fatalf("depth %d, leaves %d, root %x", tree.Depth(), tree.Leaves(), tree.Root())
	}
	if got := tree.Config(); got != (antientropy.Config{PartitionBits: 8, Depth: antientropy.DefaultDepth}) {
		t.Fatalf("Config() = %+v", got)
	}
}

// TestTreeMemory states what a tree costs at the default depth.
func TestTreeMemory(t *testing.T) {
	for depth := 1; depth <= antientropy.MaxDepth; depth++ {
		tree := antientropy.NewTree(antientropy.Config{PartitionBits: 8, Depth: depth})
		nodes := (1<<(4*(depth+1)) - 1) / 15
		want := 8*nodes + int(unsafe.Sizeof(*tree))
		if got := tree.MemoryBytes(); got != want {
			t.Errorf("depth %d: MemoryBytes %d, want %d", depth, got, want)
		}
		t.Logf("depth %d: %6d leaves, %6d nodes, %7d bytes per tree, %9d bytes for 256 partitions",
			depth, tree.Leaves(), nodes, tree.MemoryBytes(), 256*tree.MemoryBytes())
	}
}

func TestResetEmptiesTheTree(t *testing.T) {
	tree := antientropy.NewTree(antientropy.Config{})
	tree.Update(xxhash.Sum64String("a"), []byte("a"), 0, 7)
	tree.Reset()
	for level, hs := range allHashes(tree) {
		for i, h := range hs {
			if h != 0 {
				t.Fatalf("after Reset, level %d node %d holds %x", level, i, h)
			}
		}
	}
}

func TestItemHashSeparatesKeysAndDigests(t *testing.T) {
	a := antientropy.ItemHash([]byte("ab"), 1)
	for _, other := range []uint64{
		antientropy.ItemHash([]byte("ab"), 2),
		antientropy.ItemHash([]byte("a"), 1),
		antientropy.ItemHash([]byte("abc"), 1),
		antientropy.ItemHash(nil, 1),
	} {
		if other == a {
			t.Fatalf("ItemHash collision with %x", a)
		}
	}
	if a != xxhash.Sum64([]byte("ab\x01\x00\x00\x00\x00\x00\x00\x00")) {
		t.Fatal("ItemHash is not xxhash of key || little-endian digest")
	}
}

// Node indexes and levels arrive from peers: out of range is an error that
// wraps ErrOutOfRange, never a panic.
func TestHashesRejectsOutOfRange(t *testing.T) {
	tree := antientropy.NewTree(antientropy.Config{Depth: 2})
	for _, c := range []struct {
		level   int
		indexes []int
	}{
		{-1, []int{0}}, {3, []int{0}}, {0, []int{1}}, {1, []int{16}}, {2, []int{0, 256}},
		{2, []int{-1}}, {1 << 40, nil}, {2, []int{1 << 62}},
	} {
		h, err := tree.Hashes(c.level, c.indexes)
		if !errors.Is(err, antientropy.ErrOutOfRange) || h != nil {
			t.Errorf("Hashes(%d, %v) = %v, %v; want nil, ErrOutOfRange", c.level, c.indexes, h, err)
		}
	}
	if h, err := tree.Hashes(2, []int{255, 0, 255}); err != nil || len(h) != 3 {
		t.Fatalf("valid request: %v, %v", h, err)
	}
	if h, err := tree.Hashes(1, nil); err != nil || len(h) != 0 {
		t.Fatalf("empty request: %v, %v", h, err)
	}
}

func TestCheckLeaves(t *testing.T) {
	tree := antientropy.NewTree(antientropy.Config{Depth: 1})
	if err := tree.CheckLeaves([]int{0, 15, 3}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]int{{16}, {-1}, {0, 1 << 50}} {
		if err := tree.CheckLeaves(bad); !errors.Is(err, antientropy.ErrOutOfRange) {
			t.Errorf("CheckLeaves(%v) = %v", bad, err)
		}
	}
}

func TestLeafRangePanicsOnProgrammingErrors(t *testing.T) {
	tree := antientropy.NewTree(antientropy.Config{PartitionBits: 2, Depth: 1})
	for _, c := range [][2]int{{16, 0}, {-1, 0}, {0, 4}, {0, -1}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("LeafRange(%d, %d) did not panic", c[0], c[1])
				}
			}()
			tree.LeafRange(c[0], c[1])
		}()
	}
}

// The tree's partition bits are the ring's: for a default ring, every key's
// leaf range lies in the partition the ring gives it.
func TestLeavesNestInRingPartitions(t *testing.T) {
	r, err := ring.New(ring.Config{}, []string{"n1", "n2", "n3"})
	if err != nil {
		t.Fatal(err)
	}
	tree := antientropy.NewTree(antientropy.Config{PartitionBits: 8})
	for i := range 10000 {
		key := fmt.Appendf(nil, "user:%d", i)
		h := ring.KeyHash(key)
		p := r.PartitionOf(h)
		lo, hi := tree.LeafRange(tree.Leaf(h), p)
		if h < lo || h > hi || r.PartitionOf(lo) != p || r.PartitionOf(hi) != p {
			t.Fatalf("key %q: hash %x, partition %d, leaf range [%x, %x]", key, h, p, lo, hi)
		}
	}
}

package antientropy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/ringkv/ringkv/antientropy"
)

// pair returns two replicas of partition 0 (one partition, depth 2) that
// differ on key "b" (digest 2 against 3), share "a", and hold "c" and "d"
// on one side only.
func pair() (local, remote *replica) {
	cfg := antientropy.Config{}
	local = build(cfg, 0, map[string]uint64{"a": 1, "b": 2, "c": 4})
	remote = build(cfg, 0, map[string]uint64{"a": 1, "b": 3, "d": 5})
	return local, remote
}

func TestCompareFindsEachKindOfDifference(t *testing.T) {
	local, remote := pair()
	diffs, st, err := antientropy.Compare(context.Background(), local, remote, antientropy.Config{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []antientropy.Diff{
		{Key: []byte("b"), Local: 2, Remote: 3},
		{Key: []byte("c"), Local: 4},
		{Key: []byte("d"), Remote: 5},
	}
	if !sameDiffs(diffs, want) {
		t.Fatalf("got %v, want %v", diffs, want)
	}
	if st.Rounds != 4 || st.Keys == 0 || st.Bytes <= 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestCompareOfEqualTreesCostsOneHash(t *testing.T) {
	data := map[string]uint64{"a": 1, "b": 2}
	local, remote := build(antientropy.Config{}, 0, data), build(antientropy.Config{}, 0, data)
	diffs, st, err := antientropy.Compare(context.Background(), local, remote, antientropy.Config{}, 0)
	if err != nil || len(diffs) != 0 {
		t.Fatal(diffs, err)
	}
	if want := (antientropy.Stats{Rounds: 1, Hashes: 1, Bytes: 4 + 8}); st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

func TestCompareRejectsBadArguments(t *testing.T) {
	local, remote := pair()
	ctx := context.Background()
	if _, _, err := antientropy.Compare(ctx, local, remote, antientropy.Config{Depth: -1}, 0); !errors.Is(err, antientropy.ErrInvalidConfig) {
		t.Errorf("invalid config: %v", err)
	}
	for _, p := range []int{-1, 1} {
		if _, _, err := antientropy.Compare(ctx, local, remote, antientropy.Config{}, p); !errors.Is(err, antientropy.ErrOutOfRange) {
			t.Errorf("partition %d: %v", p, err)
		}
	}
}

// liar is a remote that answers through its replica and then lets a test
// doctor the answer.
type liar struct {
	*replica
	hashes func(level int, h []uint64) []uint64
	keys   func(kds []antientropy.KeyDigest) []antientropy.KeyDigest
	err    error
}

func (l *liar) Hashes(ctx context.Context, level int, indexes []int) ([]uint64, error) {
	h, err := l.replica.Hashes(ctx, level, indexes)
	if err != nil || l.hashes == nil {
		return h, err
	}
	return l.hashes(level, h), l.err
}

func (l *liar) Keys(ctx context.Context, q antientropy.KeysQuery) (antientropy.KeysPage, error) {
	page, err := l.replica.Keys(ctx, q)
	if err != nil || l.keys == nil {
		return page, err
	}
	page.Keys = l.keys(page.Keys)
	return page, l.err
}

// keyOutside returns a key of partition (out of 2^bits) whose leaf (at
// depth 2) is not leaf.
func keyOutside(bits, partition, leaf int) []byte {
	tree := antientropy.NewTree(antientropy.Config{PartitionBits: bits})
	for i := 0; ; i++ {
		k := fmt.Appendf(nil, "x%d", i)
		h := xxhash.Sum64(k)
		if (bits == 0 || int(h>>(64-bits)) == partition) && tree.Leaf(h) != leaf {
			return k
		}
	}
}

// A remote that breaks the protocol makes Compare fail with ErrProtocol,
// never panic and never report its invented keys.
func TestCompareRejectsALyingRemote(t *testing.T) {
	leafOfB := antientropy.NewTree(antientropy.Config{}).Leaf(xxhash.Sum64String("b"))
	otherPartition := keyOutside(1, 1, -1) // in partition 1 of 2
	for _, c := range []struct {
		name   string
		cfg    antientropy.Config
		hashes func(int, []uint64) []uint64
		keys   func([]antientropy.KeyDigest) []antientropy.KeyDigest
	}{
		{name: "too few hashes", hashes: func(_ int, h []uint64) []uint64 { return h[:len(h)-1] }},
		{name: "too many hashes", hashes: func(_ int, h []uint64) []uint64 { return append(h, 0) }},
		{name: "no hashes at the leaves", hashes: func(l int, h []uint64) []uint64 {
			if l == 2 {
				return nil
			}
			return h
		}},
		{name: "key outside the requested leaves", keys: func(kds []antientropy.KeyDigest) []antientropy.KeyDigest {
			return append(kds, antientropy.KeyDigest{Key: keyOutside(0, 0, leafOfB), Digest: 1})
		}},
		{name: "key of another partition", cfg: antientropy.Config{PartitionBits: 1},
			keys: func(kds []antientropy.KeyDigest) []antientropy.KeyDigest {
				return append(kds, antientropy.KeyDigest{Key: otherPartition, Digest: 1})
			}},
		{name: "key twice", keys: func(kds []antientropy.KeyDigest) []antientropy.KeyDigest {
			return append(kds, kds...)
		}},
		{name: "zero digest", keys: func(kds []antientropy.KeyDigest) []antientropy.KeyDigest {
			return append(kds, antientropy.KeyDigest{Key: []byte("b"), Digest: 0})[1:]
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.cfg.PartitionBits == 1 && xxhash.Sum64String("b")>>63 != 0 {
				t.Fatal("the test needs key b in partition 0 of 2")
			}
			local := build(c.cfg, 0, map[string]uint64{"b": 2})
			remote := &liar{replica: build(c.cfg, 0, map[string]uint64{"b": 3}), hashes: c.hashes, keys: c.keys}
			diffs, _, err := antientropy.Compare(context.Background(), local, remote, c.cfg, 0)
			if !errors.Is(err, antientropy.ErrProtocol) || diffs != nil {
				t.Fatalf("got %v, %v; want ErrProtocol", diffs, err)
			}
		})
	}
}

func TestCompareReturnsSideErrorsWrapped(t *testing.T) {
	boom := errors.New("boom")
	for _, at := range []string{"hashes", "keys"} {
		local, r := pair()
		remote := &liar{replica: r, err: boom}
		id := func(_ int, h []uint64) []uint64 { return h }
		if at == "hashes" {
			remote.hashes = id
		} else {
			remote.keys = func(k []antientropy.KeyDigest) []antientropy.KeyDigest { return k }
		}
		if _, _, err := antientropy.Compare(context.Background(), local, remote, antientropy.Config{}, 0); !errors.Is(err, boom) {
			t.Errorf("error in %s: got %v", at, err)
		}
		// The local side's errors too.
		if _, _, err := antientropy.Compare(context.Background(), remote, local, antientropy.Config{}, 0); !errors.Is(err, boom) {
			t.Errorf("local error in %s: got %v", at, err)
		}
	}
}

// Sides built for another depth are detected, not indexed out of range.
func TestCompareWithMismatchedDepthFails(t *testing.T) {
	local, remote := pair()
	_, _, err := antientropy.Compare(context.Background(), local, remote, antientropy.Config{Depth: 3}, 0)
	if !errors.Is(err, antientropy.ErrOutOfRange) {
		t.Fatalf("got %v", err)
	}
}

func TestCompareStopsWhenCancelled(t *testing.T) {
	local, remote := pair()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := antientropy.Compare(ctx, local, remote, antientropy.Config{}, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

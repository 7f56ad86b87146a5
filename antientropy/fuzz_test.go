package antientropy_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/ringkv/ringkv/antientropy"
)

// Tree.Hashes serves levels and indexes that peers send: whatever they are,
// it must not panic, must fail exactly when one is out of range, and must
// otherwise answer one hash per index.
func FuzzHashes(f *testing.F) {
	f.Add(uint8(2), int64(0), []byte{0, 0, 0, 0})
	f.Add(uint8(2), int64(2), []byte{255, 0, 0, 0, 0, 1, 0, 0})
	f.Add(uint8(1), int64(-1), []byte{})
	f.Add(uint8(4), int64(4), []byte{255, 255, 0, 0, 0, 0, 1, 0})
	f.Add(uint8(3), int64(1)<<40, []byte{1, 2, 3, 4})
	f.Add(uint8(2), int64(1), []byte{255, 255, 255, 255})
	f.Fuzz(func(t *testing.T, depth uint8, level int64, raw []byte) {
		cfg := antientropy.Config{Depth: 1 + int(depth)%antientropy.MaxDepth}
		tree := antientropy.NewTree(cfg)
		for i := range 50 {
			k := []byte{byte(i)}
			tree.Update(xxhash.Sum64(k), k, 0, uint64(i)+1)
		}
		indexes := make([]int, len(raw)/4)
		for i := range indexes {
			indexes[i] = int(int32(binary.LittleEndian.Uint32(raw[4*i:])))
		}
		h, err := tree.Hashes(int(level), indexes)
		valid := level >= 0 && level <= int64(tree.Depth())
		for _, ix := range indexes {
			valid = valid && ix >= 0 && ix < 1<<(4*level)
		}
		switch {
		case valid && (err != nil || len(h) != len(indexes)):
			t.Fatalf("valid request (%d, %v) got %v, %v", level, indexes, h, err)
		case !valid && (!errors.Is(err, antientropy.ErrOutOfRange) || h != nil):
			t.Fatalf("invalid request (%d, %v) got %v, %v", level, indexes, h, err)
		}
		if valid && level == 0 && len(h) > 0 && h[0] != tree.Root() {
			t.Fatalf("root %x, Hashes says %x", tree.Root(), h[0])
		}
	})
}

// fuzzRemote answers from fuzz bytes, as a hostile or broken peer could:
// hash counts, hash values, keys and digests are all made up.
type fuzzRemote struct{ b []byte }

func (r *fuzzRemote) next() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *fuzzRemote) Hashes(_ context.Context, _ int, indexes []int) ([]uint64, error) {
	n := len(indexes)
	if c := r.next(); c < 8 { // now and then, the wrong count
		n = int(c)
	}
	h := make([]uint64, n)
	for i := range h {
		h[i] = uint64(r.next() & 3) // few values, so some nodes agree with the local ones
	}
	return h, nil
}

func (r *fuzzRemote) Keys(_ context.Context, _ antientropy.KeysQuery) (antientropy.KeysPage, error) {
	kds := make([]antientropy.KeyDigest, int(r.next()%8))
	for i := range kds {
		kds[i] = antientropy.KeyDigest{Key: []byte{r.next(), r.next()}, Digest: uint64(r.next() % 3), Tombstone: r.next()&1 == 1}
	}
	return antientropy.KeysPage{Keys: kds, More: r.next()&1 == 1}, nil
}

// Compare against a remote that answers anything: no panic; either an
// ErrProtocol, or diffs that are keys of the requested partition.
func FuzzCompareLyingRemote(f *testing.F) {
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte{200, 1, 200, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 2, 'a', 'b', 1})
	f.Add(uint8(2), []byte{0, 9, 9, 9, 9, 9, 9, 9})
	f.Fuzz(func(t *testing.T, bits uint8, answers []byte) {
		cfg := antientropy.Config{PartitionBits: int(bits % 3), Depth: 1}
		local := newReplica(cfg, 0)
		for i := range 64 {
			k := string([]byte{byte(i), 'k'})
			if h := xxhash.Sum64String(k); cfg.PartitionBits == 0 || h>>(64-cfg.PartitionBits) == 0 {
				local.set(k, uint64(i%3)+1)
			}
		}
		diffs, _, err := antientropy.Compare(context.Background(), local, &fuzzRemote{b: answers}, cfg, 0)
		if err != nil {
			if !errors.Is(err, antientropy.ErrProtocol) {
				t.Fatalf("error %v does not wrap ErrProtocol", err)
			}
			return
		}
		for _, d := range diffs {
			h := xxhash.Sum64(d.Key)
			if cfg.PartitionBits > 0 && h>>(64-cfg.PartitionBits) != 0 {
				t.Fatalf("diff %q is outside partition 0", d.Key)
			}
			if d.Local == d.Remote {
				t.Fatalf("diff %q has equal digests", d.Key)
			}
		}
	})
}

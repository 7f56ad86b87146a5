package storage

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/antientropy"
	"github.com/ringkv/ringkv/vclock"
)

// Paging through a partition's leaf keys lists every key once, in key
// order, with its digest and whether it holds only tombstones, whatever
// the page's key and byte limits; a page never passes its limits (but for
// one key) or its end.
func TestLeafKeysPagesListEveryKeyOnce(t *testing.T) {
	s, err := Open(Options{Dir: "db", FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := map[string]antientropy.KeyDigest{}
	for i := range 300 {
		key := fmt.Appendf(nil, "key-%d", i)
		set, err := s.Update(key, vclock.VV{}, []byte("v"), false, 0)
		if err == nil && i%3 == 0 {
			set, err = s.Update(key, set.Context(), nil, true, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := s.ReadRaw(key)
		want[string(key)] = antientropy.KeyDigest{Key: key, Digest: digestOf(raw), Tombstone: i%3 == 0}
	}
	var all []int
	s.trees.with(0, func(tr *antientropy.Tree) { all = seqInts(tr.Leaves()) })
	rapid.Check(t, func(t *rapid.T) {
		limit := rapid.IntRange(1, 50).Draw(t, "limit")
		maxBytes := rapid.IntRange(1, 400).Draw(t, "max bytes")
		var got []antientropy.KeyDigest
		q := antientropy.KeysQuery{Leaves: all, Limit: limit}
		for {
			page, err := s.LeafKeysPage(0, q, maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			checkPage(t, page, limit, maxBytes)
			got = append(got, page.Keys...)
			if !page.More {
				break
			}
			q.After = page.Keys[len(page.Keys)-1].Key
		}
		if len(got) != len(want) || !slices.IsSortedFunc(got, func(a, b antientropy.KeyDigest) int { return antientropy.KeyOrder(a.Key, b.Key) }) {
			t.Fatalf("listed %d keys (sorted: %v), want %d", len(got), slices.IsSortedFunc(got, func(a, b antientropy.KeyDigest) int {
				return antientropy.KeyOrder(a.Key, b.Key)
			}), len(want))
		}
		for _, kd := range got {
			if w := want[string(kd.Key)]; kd.Digest != w.Digest || kd.Tombstone != w.Tombstone {
				t.Fatalf("key %s listed as %+v, want %+v", kd.Key, kd, w)
			}
		}
		until := got[rapid.IntRange(0, len(got)-1).Draw(t, "until")].Key
		page, err := s.LeafKeysPage(0, antientropy.KeysQuery{Leaves: all, Until: until, Limit: len(got)}, 1<<20)
		if err != nil || page.More || antientropy.KeyOrder(page.Keys[len(page.Keys)-1].Key, until) != 0 {
			t.Fatalf("a page up to %s ended at %s (more %v, err %v)", until, page.Keys[len(page.Keys)-1].Key, page.More, err)
		}
	})
}

func checkPage(t *rapid.T, page antientropy.KeysPage, limit, maxBytes int) {
	size := 0
	for _, kd := range page.Keys {
		size += len(kd.Key) + keyOverhead
	}
	if len(page.Keys) > limit || (len(page.Keys) > 1 && size > maxBytes) || (page.More && len(page.Keys) == 0) {
		t.Fatalf("page of %d keys, %d bytes, more %v: limits %d keys, %d bytes", len(page.Keys), size, page.More, limit, maxBytes)
	}
}

func seqInts(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

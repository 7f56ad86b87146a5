package storage

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/ring"
	"github.com/ringkv/ringkv/vclock"
)

// A partition's transfer stream, read a page at a time under any page
// bounds, lists each of the partition's data keys once (with its version
// set and reap state), then each of its hints, and nothing of the other
// partitions; cursors only grow.
func TestTransferPagesListThePartitionOnce(t *testing.T) {
	s := openMem(t, vfs.NewMem())
	defer s.Close()
	const p = 1
	lo, hi := s.HashRange(p)
	wantData, wantHints := map[string][]byte{}, 0
	for i := range 200 {
		key := fmt.Appendf(nil, "key-%d", i)
		set := mustUpdate(t, s, key, vclock.VV{}, "v", false)
		if i%4 == 0 {
			mustUpdate(t, s, key, set.Context(), "", true)
		}
		if i%5 == 0 {
			for _, target := range []string{"n7", "n2"} {
				if err := s.StoreHint(target, key, set, time.Now(), 0); err != nil {
					t.Fatal(err)
				}
			}
		}
		if h := ring.KeyHash(key); h >= lo && h <= hi {
			raw, _ := s.ReadRaw(key)
			wantData[string(key)] = raw
			if i%5 == 0 {
				wantHints += 2
			}
		}
	}
	rapid.Check(t, func(t *rapid.T) {
		maxKeys := rapid.IntRange(1, 40).Draw(t, "max keys")
		maxBytes := rapid.IntRange(1, 600).Draw(t, "max bytes")
		data, hints := map[string]bool{}, 0
		var cursor []byte
		for {
			page, err := s.TransferPage(p, cursor, maxKeys, maxBytes)
			if err != nil {
				t.Fatal(err)
			}
			checkTransferPage(t, s, page, cursor, maxKeys, maxBytes)
			for _, it := range page.Items {
				if want, ok := wantData[string(it.Key)]; ok && !data[string(it.Key)] && bytes.Equal(it.Set, want) {
					data[string(it.Key)] = true
					continue
				}
				if len(data) != len(wantData) {
					t.Fatalf("key %q: unexpected, repeated or sent before the data keys were done", it.Key)
				}
				hints++
			}
			if page.Done {
				break
			}
			cursor = page.Next
		}
		if len(data) != len(wantData) || hints != wantHints {
			t.Fatalf("sent %d data keys and %d hints, want %d and %d", len(data), hints, len(wantData), wantHints)
		}
	})
}

// checkTransferPage checks a page's bounds, its cursor's growth and each
// item's reap state.
func checkTransferPage(t *rapid.T, s *Store, page TransferPage, after []byte, maxKeys, maxBytes int) {
	size := 0
	for _, it := range page.Items {
		size += it.Size()
		set, err := vclock.Decode(it.Set)
		if err != nil {
			t.Fatal(err)
		}
		if TombstoneOnly(set) != !it.TombSince.IsZero() && bytes.Equal(mustRaw(t, s, it.Key), it.Set) {
			t.Fatalf("key %q: tombstone-only %v but reap state %v", it.Key, TombstoneOnly(set), it.TombSince)
		}
	}
	if len(page.Items) > maxKeys || (len(page.Items) > 1 && size > maxBytes) {
		t.Fatalf("page of %d items, %d bytes: over its bounds %d, %d", len(page.Items), size, maxKeys, maxBytes)
	}
	if !page.Done && (len(page.Items) == 0 || bytes.Compare(page.Next, after) <= 0) {
		t.Fatalf("cursor did not move: %x after %x with %d items", page.Next, after, len(page.Items))
	}
	if page.Fraction < 0 || page.Fraction > 1 {
		t.Fatalf("fraction %v", page.Fraction)
	}
}

func mustRaw(t *rapid.T, s *Store, key []byte) []byte {
	raw, err := s.ReadRaw(key)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// A transferred key is merged as a replica write is, never overwritten: a
// newer write the receiver took directly stays, a batch applied twice
// changes nothing, the cursor is stored with the batch, and a tombstone
// keeps the reap state it had on the sender.
func TestApplyTransferMergesAndKeepsReapState(t *testing.T) {
	donor, recv := openMem(t, vfs.NewMem()), openMem(t, vfs.NewMem())
	defer donor.Close()
	defer recv.Close()
	old := mustUpdate(t, donor, []byte("a"), vclock.VV{}, "a1", false)
	if _, err := recv.Merge([]byte("a"), old); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, recv, []byte("a"), old.Context(), "a2", false) // newer, direct
	gone := mustUpdate(t, donor, []byte("b"), vclock.VV{}, "b1", false)
	if _, err := recv.Merge([]byte("b"), gone); err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, donor, []byte("b"), gone.Context(), "", true)
	items := allItems(t, donor)
	if err := recv.ApplyTransfer([]byte("mcursor"), []byte("one"), items); err != nil {
		t.Fatal(err)
	}
	a, _ := recv.Read([]byte("a"))
	if vs := a.Values(); len(vs) != 1 || string(vs[0]) != "a2" {
		t.Fatalf("a after the transfer: %q, want the direct newer write a2 only", vs)
	}
	b, _ := recv.Read([]byte("b"))
	if !TombstoneOnly(b) || reapState(t, recv, "b") != reapState(t, donor, "b") {
		t.Fatalf("b after the transfer: %v, reap state %v, donor's %v", b, reapState(t, recv, "b"), reapState(t, donor, "b"))
	}
	before := allItems(t, recv)
	if err := recv.ApplyTransfer([]byte("mcursor"), []byte("one"), items); err != nil {
		t.Fatal(err)
	}
	if after := allItems(t, recv); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("applying the batch twice changed the store:\n%v\n%v", before, after)
	}
	if got, _ := recv.Meta([]byte("mcursor")); string(got) != "one" {
		t.Fatalf("cursor %q", got)
	}
}

func allItems(t *testing.T, s *Store) []TransferItem {
	t.Helper()
	var out []TransferItem
	for p := range 4 {
		page, err := s.TransferPage(p, nil, 1000, 4<<20)
		if err != nil || !page.Done {
			t.Fatalf("partition %d: %v, done %v", p, err, page.Done)
		}
		out = append(out, page.Items...)
	}
	return out
}

func reapState(t *testing.T, s *Store, key string) time.Time {
	t.Helper()
	var since time.Time
	err := s.ScanTombstones(0, ^uint64(0), func(tb Tombstone) bool {
		if string(tb.Key) == key {
			since = tb.Since
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return since
}

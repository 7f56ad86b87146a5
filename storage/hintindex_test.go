package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ringkv/ringkv/vclock"
)

const hintTestWindow = time.Hour

var hintT0 = time.Unix(1_700_000_000, 0)

// hintSet is a version set holding one write, numbered n.
func hintSet(n uint64, value string) vclock.Set {
	return vclock.UpdateDot(vclock.Set{}, vclock.VV{}, vclock.Dot{Actor: 7, Counter: n}, []byte(value), false)
}

func mustStoreHint(t *testing.T, s *Store, target, key string, set vclock.Set, at time.Time) {
	t.Helper()
	if err := s.StoreHint(target, []byte(key), set, at, 0); err != nil {
		t.Fatalf("store hint %s for %s: %v", key, target, err)
	}
}

// A data directory whose hints have no index (written before it existed)
// gets one at start-up, and its hints expire.
func TestHintIndexIsRebuiltAtStartup(t *testing.T) {
	mem := vfs.NewMem()
	s := openMem(t, mem)
	for i := range 5 {
		mustStoreHint(t, s, "n3", fmt.Sprintf("k%d", i), hintSet(uint64(i+1), "v"), hintT0.Add(time.Duration(i)*time.Minute))
	}
	p := []byte{prefixHintIndex}
	if err := s.db.DeleteRange(p, prefixEnd(p), pebble.Sync); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openMem(t, mem)
	defer s.Close()
	if err := s.VerifyHintIndex("n3"); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	n, err := s.ExpireHints("n3", hintT0.Add(hintTestWindow+90*time.Second), hintTestWindow)
	if err != nil || n != 2 {
		t.Fatalf("expiry dropped %d hints (%v); want the 2 created more than a window before", n, err)
	}
}

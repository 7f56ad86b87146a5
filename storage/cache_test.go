package storage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/vclock"
)

// The version-set cache never serves a set other than the one in Pebble:
// after any sequence of writes, merges, deletes, reaps and reads from
// several goroutines, on keys crowded into few stripes and with sets too
// big to cache mixed in, every key reads the same through the cache as
// straight from Pebble.
func TestCacheAgreesWithPebble(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		s, err := Open(Options{Dir: t.TempDir()})
		if err != nil {
			rt.Fatal(err)
		}
		defer s.Close()
		keys := rapid.IntRange(1, 200).Draw(rt, "keys")
		seed := rapid.Uint64().Draw(rt, "seed")
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				rnd := rand.New(rand.NewPCG(seed, uint64(g)))
				for range 150 {
					if err := cacheStep(s, rnd, keys); err != nil {
						rt.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		for k := range keys {
			key := fmt.Appendf(nil, "k%d", k)
			cached, err := s.ReadRaw(key)
			if err != nil {
				rt.Fatal(err)
			}
			disk, err := s.getRaw(dataKey(key))
			if err != nil {
				rt.Fatal(err)
			}
			if !bytes.Equal(cached, disk) {
				rt.Fatalf("%s: cache has %x, Pebble %x", key, cached, disk)
			}
		}
		for i := range s.locks.stripes {
			st := &s.locks.stripes[i]
			if len(st.sets) > maxStripeSets || st.bytes > maxStripeBytes {
				rt.Fatalf("stripe %d holds %d sets, %d bytes", i, len(st.sets), st.bytes)
			}
		}
	})
}

// cacheStep does one random operation on one of keys keys.
func cacheStep(s *Store, rnd *rand.Rand, keys int) error {
	key := fmt.Appendf(nil, "k%d", rnd.IntN(keys))
	value := bytes.Repeat([]byte("v"), []int{1, 100, 5000}[rnd.IntN(3)]) // 5000: not cached
	switch rnd.IntN(5) {
	case 0: // a client write under the current context
		cur, err := s.Read(key)
		if err != nil {
			return err
		}
		_, err = s.Update(key, cur.Context(), value, false, 0)
		return err
	case 1: // a delete
		cur, err := s.Read(key)
		if err != nil {
			return err
		}
		_, err = s.Update(key, cur.Context(), nil, true, 0)
		return err
	case 2: // another replica's write arriving
		other := vclock.Update(vclock.Set{}, vclock.VV{}, vclock.Actor(rnd.Uint64()), value, false)
		_, err := s.Merge(key, other)
		return err
	case 3: // reaping whatever is there, if it is a tombstone
		raw, err := s.ReadRaw(key)
		if err != nil || raw == nil {
			return err
		}
		if set, err := vclock.Decode(raw); err == nil && TombstoneOnly(set) {
			_, err = s.Reap(key, digestOf(raw))
			return err
		}
		return nil
	default:
		_, err := s.ReadRaw(key)
		return err
	}
}

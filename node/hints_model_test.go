package node

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"pgregory.net/rapid"

	"github.com/ringkv/ringkv/storage"
)

// hintModel is the brute-force model of a node's hints: for each target
// and key, the times of every write stored since the hint was last
// dropped or delivered. A hint is live while some write in it has been
// kept no longer than the window.
type hintModel map[string]map[string][]time.Time

func (m hintModel) store(target, key string, at time.Time) {
	if m[target] == nil {
		m[target] = map[string][]time.Time{}
	}
	m[target][key] = append(m[target][key], at)
}

func (m hintModel) expire(target string, now time.Time, window time.Duration) {
	for key, writes := range m[target] {
		if !slices.ContainsFunc(writes, func(w time.Time) bool { return now.Sub(w) <= window }) {
			delete(m[target], key)
		}
	}
}

// created is what the store must hold as key's creation time: its newest
// write's.
func (m hintModel) created(target, key string) time.Time {
	return slices.MaxFunc(m[target][key], func(a, b time.Time) int { return a.Compare(b) })
}

func (m hintModel) oldest(target string) time.Time {
	var oldest time.Time
	for key := range m[target] {
		if c := m.created(target, key); oldest.IsZero() || c.Before(oldest) {
			oldest = c
		}
	}
	return oldest
}

// hintRig is a store and its handoff under a hand-moved clock, on a
// memory filesystem that outlives restarts.
type hintRig struct {
	fs    vfs.FS
	s     *storage.Store
	h     *handoff
	clock *testClock
	exact map[string]bool // targets whose storage.HintStats.Oldest must be exact
}

func (r *hintRig) open(t *rapid.T) {
	s, err := storage.Open(storage.Options{Dir: "data", FS: r.fs, Settings: storage.Settings{N: 3, Partitions: 4}})
	if err != nil {
		t.Fatal(err)
	}
	r.s, r.h = s, testHandoff(s, r.clock.now)
}

// Hint storage, expiry, delivery and restarts in any order agree with the
// brute-force model: the hints held, their creation times, the index
// beside them, and the totals in storage.HintStats (Oldest exact after an expiry
// or a restart, never later than the true oldest otherwise).
func TestHintsAgreeWithTheModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := &hintRig{fs: vfs.NewMem(), clock: &testClock{t: hintT0}, exact: map[string]bool{}}
		r.open(t)
		defer func() { r.s.Close() }()
		model := hintModel{}
		targets := rapid.SampledFrom([]string{"n2", "n3"})
		t.Repeat(map[string]func(*rapid.T){
			"store": func(t *rapid.T) {
				target, key := targets.Draw(t, "target"), fmt.Sprintf("k%d", rapid.IntRange(0, 7).Draw(t, "key"))
				step := rapid.Int64Range(-int64(hintTestWindow/4), int64(hintTestWindow/2)).Draw(t, "step")
				r.clock.set(r.clock.now().Add(time.Duration(step)))
				mustStoreHint(t, r.s, target, key, hintSet(uint64(len(model[target][key])+1), key), r.clock.now())
				model.store(target, key, r.clock.now())
				r.exact[target] = false
			},
			"expire": func(t *rapid.T) {
				target := targets.Draw(t, "target")
				r.h.expire(target)
				model.expire(target, r.clock.now(), hintTestWindow)
				r.exact[target] = true
			},
			"deliver": func(t *rapid.T) {
				target := targets.Draw(t, "target")
				if !r.h.deliver(context.Background(), target) {
					t.Fatalf("delivery to %s failed", target)
				}
				delete(model, target)
			},
			"restart": func(t *rapid.T) {
				if err := r.s.Close(); err != nil {
					t.Fatal(err)
				}
				r.open(t)
				r.exact = map[string]bool{"n2": true, "n3": true}
			},
			"": func(t *rapid.T) { r.check(t, model) },
		})
	})
}

func (r *hintRig) check(t *rapid.T, model hintModel) {
	for _, target := range []string{"n2", "n3"} {
		held := heldHints(t, r.s, target)
		want := map[string]time.Time{}
		for key := range model[target] {
			want[key] = model.created(target, key)
		}
		if !maps.EqualFunc(held, want, time.Time.Equal) {
			t.Fatalf("hints for %s: store holds %v, the model %v", target, held, want)
		}
		r.checkIndex(t, target, held)
		r.checkStats(t, target, model)
	}
}

// checkIndex compares target's index with the hints held.
func (r *hintRig) checkIndex(t *rapid.T, target string, held map[string]time.Time) {
	if err := r.s.VerifyHintIndex(target); err != nil {
		t.Fatal(err)
	}
}

func (r *hintRig) checkStats(t *rapid.T, target string, model hintModel) {
	st := r.s.HintStats()[target]
	var size int64
	err := r.s.ScanHints(target, func(h storage.Hint) bool {
		size += h.Size()
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	oldest := model.oldest(target)
	if st.Count != int64(len(model[target])) || st.Bytes != size {
		t.Fatalf("HintStats for %s: %+v; the store holds %d hints of %d bytes", target, st, len(model[target]), size)
	}
	if r.exact[target] && !st.Oldest.Equal(oldest) || st.Oldest.After(oldest) {
		t.Fatalf("HintStats for %s: oldest %v; the oldest hint was created at %v (exact: %v)",
			target, st.Oldest, oldest, r.exact[target])
	}
}

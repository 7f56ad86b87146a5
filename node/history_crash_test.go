package node_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
)

// The history check with crashes, deletes, reaps and re-creates: workers
// read a few keys and write them back or delete them under the read's
// context, so keys are deleted, their tombstones reaped (a short grace and
// fast exchanges) and written again, while nodes are crashed (power-cut:
// what was not synced is gone) and restarted. Once the cluster has
// converged, every acknowledged write is present or was superseded by an
// operation that read it, nothing superseded by an acknowledged operation
// came back, and no node ever met one dot with two different contents.
//
// Built with -tags ringkv_unsafe_dots (dots numbered per key, one actor
// for good, as before issue 10) it fails: make check-can-fail.
func TestHistoryWithCrashesDeletesAndReaps(t *testing.T) {
	c := clustertest.NewCrashable(t, 3, fastEntropy, func(cfg *node.Config) {
		cfg.HintWindow = 50 * time.Millisecond
		cfg.TombstoneGrace = 100 * time.Millisecond
	})
	h := &crashHistory{c: c}
	rnd := rand.New(rand.NewPCG(7, 7))
	// Busy: writes, deletes and two crashes.
	h.run(t, false, func() {
		for range 2 {
			h.crash(t, fmt.Sprintf("n%d", 1+rnd.IntN(3)))
		}
	})
	// Quiet, until exchanges find the replicas agree and tombstones go;
	// then busy again: keys written again after their tombstones were
	// reaped, some under contexts read before the deletes, and a crash.
	for round := range 3 {
		reaped := reapedTotal(t, c)
		h.deleteAll(t)
		c.Eventually(60*time.Second, fmt.Sprintf("tombstones reaped after round %d", round), func() bool { return reapedTotal(t, c) > reaped })
		before := h.recreated.Load()
		h.run(t, true, func() { h.crash(t, fmt.Sprintf("n%d", 1+rnd.IntN(3))) })
		if h.recreated.Load() == before {
			t.Fatal("no key was written again after its delete: the history checks too little")
		}
	}
	c.WaitConverged()
	checkHistory(t, h.ops, h.converge(t))
	for _, id := range []string{"n1", "n2", "n3"} {
		h.conflicts.Add(c.Node(id).DotConflicts())
	}
	if n := h.conflicts.Load(); n != 0 {
		t.Errorf("merges met %d dots with two different contents", n)
	}
	t.Logf("%d operations, %d acknowledged, %d keys written again after an acknowledged delete, %d tombstones reaped",
		len(h.ops), h.acked.Load(), h.recreated.Load(), reapedTotal(t, c))
}

// run has workers operate while nemesis runs, then until each has made
// opsEach attempts; stale lets them write under contexts read long ago.
func (h *crashHistory) run(t *testing.T, stale bool, nemesis func()) {
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() { h.worker(w, stale) })
	}
	nemesis()
	wg.Wait()
}

// deleteAll deletes every key, so the quiet phase has tombstones to reap.
func (h *crashHistory) deleteAll(t *testing.T) {
	for k := range crashKeys {
		o := op{key: fmt.Sprintf("k%d", k)}
		h.c.Eventually(30*time.Second, "delete "+o.key, func() bool {
			h.attempt(h.c.Client("n1"), &o, nil)
			return o.acked
		})
		h.record(o)
	}
}

// crash crashes node id once some writes were acknowledged, and restarts
// it once more were acknowledged without it.
func (h *crashHistory) crash(t *testing.T, id string) {
	from := h.acked.Load()
	h.c.Eventually(60*time.Second, "writes before crashing "+id, func() bool { return h.acked.Load() >= from+50 })
	h.conflicts.Add(h.c.Node(id).DotConflicts())
	h.c.Crash(id)
	h.c.Eventually(60*time.Second, "writes while "+id+" is down", func() bool { return h.acked.Load() >= from+100 })
	h.c.Restart(id)
}

type crashHistory struct {
	c         *clustertest.Cluster
	acked     atomic.Int64
	recreated atomic.Int64 // writes acknowledged on a key after an acknowledged delete of it
	conflicts atomic.Uint64

	mu      sync.Mutex
	ops     []op
	deleted map[string]bool
	reads   []staleRead // some reads, for writes under old contexts
}

type staleRead struct {
	key  string
	ctx  []byte
	read []string
}

const crashKeys, opsEach = 6, 150

func (h *crashHistory) worker(w int, stale bool) {
	rnd := rand.New(rand.NewPCG(uint64(w), uint64(h.acked.Load())))
	for i := range opsEach {
		cl := h.c.Client(fmt.Sprintf("n%d", 1+rnd.IntN(3)))
		o := op{key: fmt.Sprintf("k%d", rnd.IntN(crashKeys))}
		if rnd.IntN(4) != 0 {
			o.value = fmt.Sprintf("w%d-%d-%d", w, i, rnd.Uint32())
		}
		var old *staleRead
		if stale && rnd.IntN(5) == 0 {
			old = h.staleRead(rnd)
		}
		if h.attempt(cl, &o, old) {
			h.record(o)
		}
	}
}

// attempt reads o.key (or takes the old read) and writes or deletes it
// under the read's context; false when the read failed (nothing was
// attempted).
func (h *crashHistory) attempt(cl *client.Client, o *op, old *staleRead) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wctx []byte
	if old != nil {
		o.key, o.read, wctx = old.key, old.read, old.ctx
	} else {
		cur, err := cl.Get(ctx, []byte(o.key), 2)
		if err != nil {
			return false
		}
		o.read, wctx = values(cur), cur.Context
		h.keepRead(staleRead{key: o.key, ctx: wctx, read: o.read})
	}
	var err error
	if o.value == "" {
		_, err = cl.Delete(ctx, []byte(o.key), wctx, 2)
	} else {
		_, err = cl.Put(ctx, []byte(o.key), []byte(o.value), wctx, 2)
	}
	o.acked = err == nil
	return true
}

func (h *crashHistory) keepRead(r staleRead) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reads) < 200 {
		h.reads = append(h.reads, r)
	}
}

func (h *crashHistory) staleRead(rnd *rand.Rand) *staleRead {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.reads) == 0 {
		return nil
	}
	r := h.reads[rnd.IntN(len(h.reads))]
	return &r
}

func (h *crashHistory) record(o op) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.deleted == nil {
		h.deleted = map[string]bool{}
	}
	if o.acked {
		h.acked.Add(1)
		if o.value != "" && h.deleted[o.key] {
			h.recreated.Add(1)
		}
		h.deleted[o.key] = o.value == ""
	}
	h.ops = append(h.ops, o)
}

// converge reads every key with R=3 until all replicas hold the same, and
// returns the values.
func (h *crashHistory) converge(t *testing.T) map[string][]string {
	final := map[string][]string{}
	for k := range crashKeys {
		key := fmt.Sprintf("k%d", k)
		h.c.Eventually(30*time.Second, key+" converged on every replica", func() bool {
			if _, err := h.c.Client("n1").Get(ctxT(t), []byte(key), 3); err != nil {
				return false
			}
			v1 := localValues(t, h.c, "n1", key)
			final[key] = v1
			return slices.Equal(v1, localValues(t, h.c, "n2", key)) && slices.Equal(v1, localValues(t, h.c, "n3", key))
		})
	}
	return final
}

func reapedTotal(t *testing.T, c *clustertest.Cluster) uint64 {
	var n uint64
	for _, id := range []string{"n1", "n2", "n3"} {
		st, err := c.Client(id).Status(ctxT(t))
		if err != nil {
			continue
		}
		n += st.GetAntiEntropy().GetTombstonesReaped()
	}
	return n
}

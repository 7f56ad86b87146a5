package node_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/clustertest"
)

// op is one read-then-write (or read-then-delete) a worker made: the
// values its read returned, which its write under the read's context
// supersedes, and whether it was acknowledged.
type op struct {
	key, value string // value "" for a delete
	read       []string
	acked      bool
}

// checkHistory checks the converged values of every key against the
// operations made: every acknowledged write is there or some operation
// read it (and may have superseded it), no value an acknowledged
// operation read survives it, and nothing is there that nobody wrote.
// It returns how many operations were acknowledged.
func checkHistory(t *testing.T, ops []op, final map[string][]string) int {
	t.Helper()
	written := map[string]string{} // value → key
	seen := map[string]bool{}      // key/value some operation's read returned
	for _, o := range ops {
		written[o.value] = o.key
		for _, v := range o.read {
			seen[o.key+"/"+v] = true
		}
	}
	n := 0
	for _, o := range ops {
		if !o.acked {
			continue
		}
		n++
		if o.value != "" && !slices.Contains(final[o.key], o.value) && !seen[o.key+"/"+o.value] {
			t.Errorf("acknowledged write %s=%s is gone, and no operation read it", o.key, o.value)
		}
		for _, v := range o.read {
			if slices.Contains(final[o.key], v) {
				t.Errorf("%s=%s survives the acknowledged operation (write %q) that read it", o.key, v, o.value)
			}
		}
	}
	for key, vs := range final {
		for _, v := range vs {
			if written[v] != key {
				t.Errorf("%s holds %q, which no worker wrote there", key, v)
			}
		}
	}
	return n
}

// The history check of DESIGN.md: concurrent clients read and write a few
// hot keys through unary and pipelined clients while a replica is stopped
// and restarted. Once the cluster has converged, every acknowledged write
// is still there, or was superseded by a write whose read had seen it; no
// acknowledged write left behind a value it superseded; and nothing is
// there that nobody wrote.
func TestHistoryEveryAcknowledgedWriteSurvivesOrWasSeen(t *testing.T) {
	c := clustertest.New(t, 3)
	const workers, opsEach, keys = 8, 120, 6
	clients := []*client.Client{c.Client("n1"), c.Client("n2"), pipelined(t, c, "n1"), pipelined(t, c, "n2")}

	var acked atomic.Int64
	var mu sync.Mutex
	var history []op
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rnd := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range opsEach {
				cl := clients[rnd.IntN(len(clients))]
				a := op{key: fmt.Sprintf("k%d", rnd.IntN(keys)), value: fmt.Sprintf("w%d-%d", w, i)}
				cur, err := cl.Get(ctxT(t), []byte(a.key), 1+rnd.IntN(2))
				if err != nil {
					continue // nothing written: no attempt
				}
				a.read = values(cur)
				_, err = cl.Put(ctxT(t), []byte(a.key), []byte(a.value), cur.Context, 1+rnd.IntN(2))
				a.acked = err == nil
				if a.acked {
					acked.Add(1)
				}
				mu.Lock()
				history = append(history, a)
				mu.Unlock()
			}
		})
	}
	// Faults while the workers run: n3 stops (its writes become hints)
	// and comes back (handoff, read repair).
	c.Eventually(60*time.Second, "writes before the stop", func() bool { return acked.Load() >= 150 })
	c.Stop("n3")
	c.Eventually(60*time.Second, "writes while n3 is down", func() bool { return acked.Load() >= 450 })
	c.Restart("n3")
	wg.Wait()
	c.WaitConverged()

	final := map[string][]string{}
	for k := range keys {
		key := fmt.Sprintf("k%d", k)
		c.Eventually(30*time.Second, key+" converged on every replica", func() bool {
			mustGet(t, c.Client("n1"), key, 3) // repairs whichever replica is behind
			v1 := localValues(t, c, "n1", key)
			final[key] = v1
			return slices.Equal(v1, localValues(t, c, "n2", key)) && slices.Equal(v1, localValues(t, c, "n3", key))
		})
	}

	n := checkHistory(t, history, final)
	t.Logf("%d attempts, %d acknowledged; final siblings per key: %v", len(history), n, final)
	if n < 450 {
		t.Fatalf("only %d writes acknowledged: the history checks too little", n)
	}
}

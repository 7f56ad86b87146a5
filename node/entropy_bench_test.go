package node_test

// Anti-entropy under foreground load (issue "done when 4"): with a
// read/write load running, exchanges and repairs continue and foreground
// requests keep succeeding. The benchmark measures the foreground latency
// with anti-entropy off and on while a wiped replica (n3) has every key to
// get back, and how far the exchanges got with it during the load.
//
// It does its work once, whatever b.N: run it with -benchtime 1x, e.g.
//
//	go test -run '^$' -bench AntiEntropyUnderLoad -benchtime 1x -timeout 30m ./node
//
// It reuses the foreground load of handoff_bench_test.go (hobLoad: 16
// workers, 50% gets r=2 / 50% puts w=2 on keys of their own, 5 s deadline
// per request, spread over n1, n2 and n3).

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
)

const (
	aebKeys        = 20_000           // keys written with w=3 before n3 is wiped
	aebWriters     = 64               // goroutines writing them
	aebInterval    = 10 * time.Second // a full pass over the 256 partitions every 10 s
	aebSample      = 1_000            // keys checked on n3 at the end of the load
	aebWatchEvery  = time.Second      // how often the counters are read during the load
	aebStatusNodes = 3
)

var aebNodes = [aebStatusNodes]string{"n1", "n2", "n3"}

func BenchmarkAntiEntropyUnderLoad(b *testing.B) {
	variants := []struct {
		name string
		opt  func(*node.Config)
	}{
		{"ae=off", func(cfg *node.Config) { cfg.DisableAntiEntropy = true }},
		{"ae=on", func(cfg *node.Config) {
			cfg.AntiEntropyInterval = aebInterval
			cfg.AntiEntropyRepairRate = 0 // the default, 1000 keys/s
		}},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			if b.N > 1 {
				b.Skip("does its work once: run with -benchtime 1x")
			}
			benchAntiEntropyUnderLoad(b, v.opt)
		})
	}
}

func benchAntiEntropyUnderLoad(b *testing.B, opt func(*node.Config)) {
	c := clustertest.New(b, 3, opt)
	n1 := c.Client("n1")

	start := time.Now()
	aebWriteKeys(b, n1)
	b.Logf("wrote %d keys with w=3 through n1 in %s", aebKeys, time.Since(start).Round(time.Millisecond))

	c.Stop("n3")
	c.Wipe("n3")
	c.Restart("n3")
	c.WaitConverged()
	clients := []*client.Client{n1, c.Client("n2"), c.Client("n3")}

	// What n3 holds, and the counters, at the start of the load (n3's
	// restarted from zero with it; exchanges may already have run between
	// the restart and here).
	heldBefore := aebCountOnN3(clients[2])
	before, err := aebCounters(clients)
	if err != nil {
		b.Fatalf("anti-entropy counters before the load: %v", err)
	}

	w := aebWatch(clients)
	load := &hobLoad{}
	phase := load.run(clients, hobLoadDuration, nil)
	w.stop()

	after, err := aebCounters(clients)
	if err != nil {
		b.Fatalf("anti-entropy counters after the load: %v", err)
	}
	heldAfter := aebCountOnN3(clients[2])

	aebReport(b, phase, before, after, heldBefore, heldAfter, w)
}

// aebWriteKeys writes aebKeys distinct keys with w=3 through cl, so every
// replica holds every one of them before n3 is wiped.
func aebWriteKeys(b *testing.B, cl *client.Client) {
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range aebWriters {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < aebKeys; i = next.Add(1) - 1 {
				if err := aebPutRetrying(cl, aebKey(int(i)), aebValue(int(i)), 3); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d writes with w=3 failed after retries", n, aebKeys)
	}
}

func aebKey(i int) []byte { return []byte(fmt.Sprintf("ae-%06d", i)) }

// aebValue is 100 bytes that name their key, so n3's copy can be checked.
func aebValue(i int) []byte {
	v := []byte(fmt.Sprintf("ae-value-%06d-", i))
	return append(v, strings.Repeat("x", hobValueBytes-len(v))...)
}

// aebPutRetrying is hobPutRetrying with a write quorum of choice.
func aebPutRetrying(cl *client.Client, key, value []byte, w int) error {
	var err error
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), hobRequestTimeout)
		_, err = cl.Put(ctx, key, value, nil, w)
		cancel()
		if err == nil {
			return nil
		}
	}
	return err
}

// aebCounts are one node's anti-entropy counters.
type aebCounts struct {
	exchanges, pulled, pushed, bytes uint64
}

func (a aebCounts) repaired() uint64 { return a.pulled + a.pushed }

func (a aebCounts) minus(o aebCounts) aebCounts {
	return aebCounts{a.exchanges - o.exchanges, a.pulled - o.pulled, a.pushed - o.pushed, a.bytes - o.bytes}
}

func (a aebCounts) plus(o aebCounts) aebCounts {
	return aebCounts{a.exchanges + o.exchanges, a.pulled + o.pulled, a.pushed + o.pushed, a.bytes + o.bytes}
}

// aebCounters reads every node's anti-entropy counters from its Status.
// It uses no clustertest helper: those may call Fatal off the benchmark
// goroutine.
func aebCounters(clients []*client.Client) ([aebStatusNodes]aebCounts, error) {
	var out [aebStatusNodes]aebCounts
	for i, cl := range clients {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := cl.Status(ctx)
		cancel()
		if err != nil {
			return out, fmt.Errorf("status of %s: %w", aebNodes[i], err)
		}
		ae := st.GetAntiEntropy()
		out[i] = aebCounts{ae.GetExchanges(), ae.GetKeysPulled(), ae.GetKeysPushed(), ae.GetBytes()}
	}
	return out, nil
}

func aebTotal(cs [aebStatusNodes]aebCounts) aebCounts {
	var t aebCounts
	for _, c := range cs {
		t = t.plus(c)
	}
	return t
}

// aebCountOnN3 counts how many of an evenly spread sample of aebSample
// preloaded keys n3 holds locally with their value: [held, unreadable].
func aebCountOnN3(n3 *client.Client) [2]int {
	var held, unreadable int
	step := aebKeys / aebSample
	for i := 0; i < aebKeys; i += step {
		ctx, cancel := context.WithTimeout(context.Background(), hobRequestTimeout)
		res, err := n3.GetLocal(ctx, aebKey(i))
		cancel()
		switch {
		case err != nil:
			unreadable++
		case res.Found && len(res.Values) == 1 && string(res.Values[0]) == string(aebValue(i)):
			held++
		}
	}
	return [2]int{held, unreadable}
}

// aebWatcher reads the counters every aebWatchEvery during the load, to
// show whether repairs progress throughout it.
type aebWatcher struct {
	start time.Time
	done  chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex
	points []aebPoint
	errs   int
}

type aebPoint struct {
	at     time.Duration
	counts [aebStatusNodes]aebCounts
}

func aebWatch(clients []*client.Client) *aebWatcher {
	w := &aebWatcher{start: time.Now(), done: make(chan struct{})}
	w.wg.Go(func() {
		tick := time.NewTicker(aebWatchEvery)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
			}
			cs, err := aebCounters(clients)
			w.mu.Lock()
			if err != nil {
				w.errs++
			} else {
				w.points = append(w.points, aebPoint{time.Since(w.start), cs})
			}
			w.mu.Unlock()
		}
	})
	return w
}

func (w *aebWatcher) stop() {
	close(w.done)
	w.wg.Wait()
}

func aebReport(b *testing.B, p hobPhase, before, after [aebStatusNodes]aebCounts, heldBefore, heldAfter [2]int, w *aebWatcher) {
	during := aebTotal(after).minus(aebTotal(before))
	b.ReportMetric(hobQuantile(p.lat, 0.50), "p50-ms")
	b.ReportMetric(hobQuantile(p.lat, 0.99), "p99-ms")
	b.ReportMetric(float64(p.ops)/p.elapsed.Seconds(), "ops/s")
	b.ReportMetric(float64(p.errs), "errors")
	b.ReportMetric(float64(during.exchanges), "ae-exchanges")
	b.ReportMetric(float64(during.repaired()), "ae-repaired")
	b.ReportMetric(100*float64(heldAfter[0])/float64(aebSample), "n3-held-%")

	b.Logf("foreground (n3 wiped and restarted, %d keys to get back): %s", aebKeys, p.summary())
	b.Logf("anti-entropy during the load: %d exchanges, %d keys repaired (%d pulled, %d pushed), %.1f MB exchanged",
		during.exchanges, during.repaired(), during.pulled, during.pushed, float64(during.bytes)/1e6)
	for i, id := range aebNodes {
		d := after[i].minus(before[i])
		b.Logf("  %s: %d exchanges, %d pulled, %d pushed (totals since start: %d exchanges, %d pulled, %d pushed)",
			id, d.exchanges, d.pulled, d.pushed, after[i].exchanges, after[i].pulled, after[i].pushed)
	}
	b.Logf("n3 holds %d of a sample of %d preloaded keys at the start of the load (%d unreadable), %d at the end (%d unreadable)",
		heldBefore[0], aebSample, heldBefore[1], heldAfter[0], heldAfter[1])

	w.mu.Lock()
	defer w.mu.Unlock()
	var line strings.Builder
	prev := aebTotal(before)
	for _, pt := range w.points {
		t := aebTotal(pt.counts)
		fmt.Fprintf(&line, " %ds:+%d/%dx", int(pt.at.Round(time.Second)/time.Second), t.repaired()-prev.repaired(), t.exchanges-prev.exchanges)
		prev = t
	}
	b.Logf("repaired keys/exchanges per second during the load:%s (%d status errors)", line.String(), w.errs)
	for _, s := range p.samples {
		b.Logf("  error: %s", s)
	}
}

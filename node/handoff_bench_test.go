package node_test

// Hinted handoff under foreground load (issue "done when 6"): a returning
// replica receives 50,000 hints while clients keep reading and writing, and
// their requests must still succeed within their deadline. The benchmark
// measures the foreground latency without hints (baseline) and while the
// hints drain, and the time the drain takes.
//
// It does its work once, whatever b.N: run it with -benchtime 1x, e.g.
//
//	go test -run '^$' -bench HandoffUnderLoad -benchtime 1x -timeout 30m ./node
//
// Sub-benchmarks vary the handoff's rate limit and concurrency to show the
// trade-off between drain time and foreground latency;
// HandoffUnderLoad/rate=2000$ alone runs the defaults.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
)

const (
	hobHints          = 50_000           // hints n1 holds for n3 when n3 returns
	hobHintWriters    = 64               // goroutines writing the hinted keys
	hobLoadWorkers    = 16               // foreground clients
	hobLoadDuration   = 20 * time.Second // each foreground phase
	hobRequestTimeout = 5 * time.Second  // each foreground request's deadline
	hobDrainBound     = 5 * time.Minute  // give up waiting for the drain after this
	hobPollEvery      = 100 * time.Millisecond
	hobValueBytes     = 100
)

func BenchmarkHandoffUnderLoad(b *testing.B) {
	variants := []struct {
		name        string
		rate        float64 // node.Config.HandoffRate
		concurrency int     // node.Config.HandoffConcurrency
	}{
		{"rate=2000", 0, 0}, // the defaults: 2000 hints/s, 4 in flight
		{"rate=10000", 10000, 0},
		{"rate=10000,conc=16", 10000, 16},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			if b.N > 1 {
				b.Skip("does its work once: run with -benchtime 1x")
			}
			benchHandoffUnderLoad(b, func(cfg *node.Config) {
				cfg.HandoffRate, cfg.HandoffConcurrency = v.rate, v.concurrency
			})
		})
	}
}

func benchHandoffUnderLoad(b *testing.B, opt func(*node.Config)) {
	c := clustertest.New(b, 3, opt)
	n1, n2, n3 := c.Client("n1"), c.Client("n2"), c.Client("n3")
	load := &hobLoad{}

	base := load.run([]*client.Client{n1, n2}, hobLoadDuration, nil)

	c.Stop("n3")
	c.WaitUnhealthy("n1", "n3")
	hintStart := time.Now()
	hobWriteHints(b, n1)
	hobWaitHints(b, n1, func(h uint64) bool { return h >= hobHints }, 30*time.Second)
	b.Logf("wrote %d hinted keys through n1 in %s", hobHints, time.Since(hintStart).Round(time.Millisecond))

	restart := time.Now()
	c.Restart("n3")
	restartTook := time.Since(restart)
	drained := hobWatchDrain(n1, restart)
	during := load.run([]*client.Client{n1, n2, n3}, hobLoadDuration, drained.doneAt)
	drained.wait()

	hobReport(b, base, during, drained, restartTook)
}

// hobWriteHints writes hobHints distinct keys with w=2 through n1 while n3
// is down: each becomes a hint on n1 for n3.
func hobWriteHints(b *testing.B, cl *client.Client) {
	value := make([]byte, hobValueBytes)
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	for range hobHintWriters {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < hobHints; i = next.Add(1) - 1 {
				key := []byte(fmt.Sprintf("hint-%06d", i))
				if err := hobPutRetrying(cl, key, value); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d hinted writes failed after retries", n, hobHints)
	}
}

func hobPutRetrying(cl *client.Client, key, value []byte) error {
	var err error
	for range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), hobRequestTimeout)
		_, err = cl.Put(ctx, key, value, nil, 2)
		cancel()
		if err == nil {
			return nil
		}
	}
	return err
}

// hobHintsFor asks holder how many hints it keeps for n3. It uses its own
// client, not clustertest's helpers, which may call Fatal (not allowed off
// the benchmark goroutine) and register a client per call.
func hobHintsFor(holder *client.Client) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := holder.Status(ctx)
	if err != nil {
		return 0, err
	}
	for _, m := range st.GetMembers() {
		if m.GetId() == "n3" {
			return m.GetHints(), nil
		}
	}
	return 0, nil
}

// hobWaitHints polls holder until cond holds for its hint count for n3.
func hobWaitHints(b *testing.B, holder *client.Client, cond func(uint64) bool, within time.Duration) {
	deadline := time.Now().Add(within)
	var last uint64
	for time.Now().Before(deadline) {
		h, err := hobHintsFor(holder)
		if err == nil && cond(h) {
			return
		}
		last = h
		time.Sleep(hobPollEvery)
	}
	b.Fatalf("n1 holds %d hints for n3 after %s", last, within)
}

// hobDrain watches n1's hints for n3 from a goroutine of its own.
type hobDrain struct {
	start   time.Time
	done    chan struct{}
	at      atomic.Int64 // unix ns when the count first read 0; 0 while draining
	peak    atomic.Uint64
	polls   atomic.Int64
	errs    atomic.Int64
	timeout atomic.Bool
}

func hobWatchDrain(n1 *client.Client, start time.Time) *hobDrain {
	d := &hobDrain{start: start, done: make(chan struct{})}
	go d.watch(n1)
	return d
}

func (d *hobDrain) watch(n1 *client.Client) {
	defer close(d.done)
	tick := time.NewTicker(hobPollEvery)
	defer tick.Stop()
	deadline := d.start.Add(hobDrainBound)
	for {
		h, err := hobHintsFor(n1)
		d.polls.Add(1)
		switch {
		case err != nil:
			d.errs.Add(1)
		case h == 0:
			d.at.Store(time.Now().UnixNano())
			return
		case h > d.peak.Load():
			d.peak.Store(h)
		}
		if time.Now().After(deadline) {
			d.timeout.Store(true)
			return
		}
		<-tick.C
	}
}

// doneAt is when the drain was first seen complete (zero while draining).
func (d *hobDrain) doneAt() time.Time {
	if ns := d.at.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

func (d *hobDrain) wait() { <-d.done }

// took is the time from restart to an empty hint store, or -1 if it never
// emptied within hobDrainBound.
func (d *hobDrain) took() time.Duration {
	if d.timeout.Load() {
		return -1
	}
	return d.doneAt().Sub(d.start)
}

// hobLoad is the foreground load: hobLoadWorkers goroutines, each doing
// 50% gets (r=2) and 50% puts (w=2) of 100-byte values in a key space of
// its own. Puts write fresh keys (a blind put on an existing key would add
// a sibling each time, up to the sibling limit); gets read keys the worker
// wrote earlier, in this phase or the one before.
type hobLoad struct {
	mu   sync.Mutex
	keys [hobLoadWorkers][]string
}

// hobPhase is what one phase of load saw.
type hobPhase struct {
	elapsed time.Duration
	lat     []time.Duration // sorted; requests started while hints drained, for the drain phase
	after   []time.Duration // drain phase: requests started after the drain finished (sorted)
	ops     int
	errs    int
	missed  int      // errors that were missed deadlines
	samples []string // the first few error messages
}

type hobSample struct {
	started time.Time
	took    time.Duration
	err     error
}

// run drives the load for d over clients. If drainedAt is not nil, samples
// started after the time it returns are kept apart (phase.after).
func (l *hobLoad) run(clients []*client.Client, d time.Duration, drainedAt func() time.Time) hobPhase {
	start := time.Now()
	until := start.Add(d)
	results := make([][]hobSample, hobLoadWorkers)
	var wg sync.WaitGroup
	for w := range hobLoadWorkers {
		wg.Go(func() { results[w] = l.worker(w, clients, until) })
	}
	wg.Wait()
	p := hobPhase{elapsed: time.Since(start)}
	var end time.Time
	if drainedAt != nil {
		end = drainedAt()
	}
	for _, rs := range results {
		for _, s := range rs {
			p.add(s, end)
		}
	}
	slices.Sort(p.lat)
	slices.Sort(p.after)
	return p
}

func (p *hobPhase) add(s hobSample, drainedAt time.Time) {
	p.ops++
	if s.err != nil {
		p.errs++
		if hobIsDeadline(s.err) {
			p.missed++
		}
		if len(p.samples) < 5 {
			p.samples = append(p.samples, fmt.Sprintf("%s after %s", s.err, s.took.Round(time.Millisecond)))
		}
	}
	if !drainedAt.IsZero() && s.started.After(drainedAt) {
		p.after = append(p.after, s.took)
		return
	}
	p.lat = append(p.lat, s.took)
}

func (l *hobLoad) worker(w int, clients []*client.Client, until time.Time) []hobSample {
	rng := rand.New(rand.NewPCG(uint64(w), 42))
	value := make([]byte, hobValueBytes)
	var out []hobSample
	for i := 0; time.Now().Before(until); i++ {
		cl := clients[(w+i)%len(clients)]
		known := l.known(w)
		if len(known) > 0 && rng.IntN(2) == 0 {
			out = append(out, hobTimed(func(ctx context.Context) error {
				_, err := cl.Get(ctx, []byte(known[rng.IntN(len(known))]), 2)
				return err
			}))
			continue
		}
		key := fmt.Sprintf("fg-%02d-%07d", w, len(known))
		s := hobTimed(func(ctx context.Context) error {
			_, err := cl.Put(ctx, []byte(key), value, nil, 2)
			return err
		})
		if s.err == nil {
			l.remember(w, key)
		}
		out = append(out, s)
	}
	return out
}

func (l *hobLoad) known(w int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keys[w]
}

func (l *hobLoad) remember(w int, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys[w] = append(l.keys[w], key)
}

func hobTimed(req func(ctx context.Context) error) hobSample {
	ctx, cancel := context.WithTimeout(context.Background(), hobRequestTimeout)
	defer cancel()
	s := hobSample{started: time.Now()}
	s.err = req(ctx)
	s.took = time.Since(s.started)
	return s
}

// hobQuantile is the nearest-rank q-quantile of sorted, in milliseconds.
func hobQuantile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return float64(sorted[max(0, min(i, len(sorted)-1))]) / float64(time.Millisecond)
}

func hobReport(b *testing.B, base, during hobPhase, d *hobDrain, restartTook time.Duration) {
	b.ReportMetric(hobQuantile(base.lat, 0.50), "base-p50-ms")
	b.ReportMetric(hobQuantile(base.lat, 0.99), "base-p99-ms")
	b.ReportMetric(float64(base.ops)/base.elapsed.Seconds(), "base-fg-ops/s")
	b.ReportMetric(hobQuantile(during.lat, 0.50), "drain-p50-ms")
	b.ReportMetric(hobQuantile(during.lat, 0.99), "drain-p99-ms")
	b.ReportMetric(float64(during.ops)/during.elapsed.Seconds(), "drain-fg-ops/s")
	b.ReportMetric(d.took().Seconds(), "drain-s")
	b.ReportMetric(float64(base.errs+during.errs), "errors")

	b.Logf("baseline (3 nodes up, no hints): %s", base.summary())
	b.Logf("while draining (n3 restarted, %d hints): %s", hobHints, during.summary())
	if len(during.after) > 0 {
		b.Logf("  of which after the drain finished: %d requests, p50 %.1f ms, p99 %.1f ms (not in drain-p50/p99)",
			len(during.after), hobQuantile(during.after, 0.5), hobQuantile(during.after, 0.99))
	}
	if d.timeout.Load() {
		b.Logf("drain: NOT finished within %s of restart (peak %d hints)", hobDrainBound, d.peak.Load())
	} else {
		b.Logf("drain: %.1f s from restart to 0 hints (restart took %s, peak %d hints, %d polls, %d poll errors, ≈%.0f hints/s)",
			d.took().Seconds(), restartTook.Round(time.Millisecond), d.peak.Load(), d.polls.Load(), d.errs.Load(),
			float64(max(d.peak.Load(), hobHints))/d.took().Seconds())
	}
	for _, s := range append(base.samples, during.samples...) {
		b.Logf("  error: %s", s)
	}
}

func (p hobPhase) summary() string {
	return fmt.Sprintf("%d requests in %.1f s (%.0f ops/s), %d errors (%s); p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms",
		p.ops, p.elapsed.Seconds(), float64(p.ops)/p.elapsed.Seconds(), p.errs, hobErrorKinds(p),
		hobQuantile(p.lat, 0.50), hobQuantile(p.lat, 0.90), hobQuantile(p.lat, 0.99), hobQuantile(p.lat, 1))
}

func hobErrorKinds(p hobPhase) string {
	if p.errs == 0 {
		return "none"
	}
	return fmt.Sprintf("%d missed the %s deadline", p.missed, hobRequestTimeout)
}

func hobIsDeadline(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || connect.CodeOf(err) == connect.CodeDeadlineExceeded
}

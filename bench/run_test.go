package bench_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ringkv/ringkv/bench"
)

func opStats(t *testing.T, p bench.Phase, op string) bench.OpStats {
	t.Helper()
	for _, s := range p.Ops {
		if s.Op == op {
			return s
		}
	}
	t.Fatalf("no %s row in %+v", op, p.Ops)
	return bench.OpStats{}
}

func TestClosedLoopLoadsThenRunsEveryOperation(t *testing.T) {
	m := newMemDriver()
	res, err := bench.Run(context.Background(), m, bench.Options{Workload: mustPreset(t, "a"),
		Records: 200, Operations: 3000, Clients: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Load == nil || res.Load.Total.Count != 200 || m.len() != 200 {
		t.Fatalf("load inserted %+v, store holds %d keys; want 200", res.Load, m.len())
	}
	run := res.Run
	if run.Total.Count != 3000 || run.Total.Errors != 0 || run.Total.NotFound != 0 {
		t.Fatalf("run: %d ok, %d errors, %d not found; want 3000, 0, 0", run.Total.Count, run.Total.Errors, run.Total.NotFound)
	}
	if r, u := opStats(t, run, "READ").Count, opStats(t, run, "UPDATE").Count; r+u != 3000 || r < 1300 || u < 1300 {
		t.Errorf("READ %d, UPDATE %d: want about half each", r, u)
	}
	if run.Model != "closed loop, 4 clients" {
		t.Errorf("model %q", run.Model)
	}
	if m.tokenPuts.Load() != 0 {
		t.Errorf("%d updates or inserts carried a token, want none", m.tokenPuts.Load())
	}
}

// Workload D reads only inserts that were acknowledged, so nothing it
// reads is missing even with many clients inserting at once.
func TestLatestReadsOnlyAcknowledgedInserts(t *testing.T) {
	m := newMemDriver()
	res, err := bench.Run(context.Background(), m, bench.Options{Workload: mustPreset(t, "d"),
		Records: 100, Operations: 4000, Clients: 8, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	ins := opStats(t, res.Run, "INSERT").Count
	if ins == 0 || m.len() != 100+int(ins) {
		t.Fatalf("%d inserts, store holds %d keys; want 100 + inserts", ins, m.len())
	}
	if nf := res.Run.Total.NotFound; nf != 0 {
		t.Fatalf("%d reads found nothing", nf)
	}
}

func TestReadModifyWriteCarriesTheTokenItRead(t *testing.T) {
	m := newMemDriver()
	res, err := bench.Run(context.Background(), m, bench.Options{Workload: mustPreset(t, "f"),
		Records: 50, Operations: 1000, Clients: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	rmw := opStats(t, res.Run, "READ-MODIFY-WRITE").Count
	if rmw == 0 || m.tokenPuts.Load() != rmw || m.staleTokens.Load() != 0 {
		t.Fatalf("%d read-modify-writes, %d puts with a token, %d stale", rmw, m.tokenPuts.Load(), m.staleTokens.Load())
	}
}

// A failed operation is counted as an error of its type and not timed.
func TestErrorsAreCountedNotTimed(t *testing.T) {
	m := newMemDriver()
	m.failPuts = errRefused
	res, err := bench.Run(context.Background(), m, bench.Options{Workload: mustPreset(t, "a"),
		Records: 10, Operations: 400, Clients: 2, SkipLoad: true, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	up := opStats(t, res.Run, "UPDATE")
	if up.Errors == 0 || up.Count != 0 || up.P99 != 0 || up.Errors != m.puts.Load() {
		t.Fatalf("UPDATE: %d ok, %d errors, p99 %s; %d puts made", up.Count, up.Errors, up.P99, m.puts.Load())
	}
	if res.Run.Total.Errors != up.Errors || len(res.Run.Errors) != 1 || res.Run.Errors[0].Count != up.Errors ||
		!strings.Contains(res.Run.Errors[0].Example, errRefused.Error()) {
		t.Fatalf("error classes %+v", res.Run.Errors)
	}
}

// Every request has its own deadline: a store that never answers costs
// one timeout per operation and each is an error.
func TestEveryRequestHasADeadline(t *testing.T) {
	s := &stuckDriver{}
	res, err := bench.Run(context.Background(), s, bench.Options{Workload: mustPreset(t, "c"),
		Records: 10, Operations: 4, Clients: 2, SkipLoad: true, Timeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	read := opStats(t, res.Run, "READ")
	if read.Errors != 4 || read.Count != 0 || !strings.Contains(res.Run.Errors[0].Example, "deadline") {
		t.Fatalf("READ: %d errors, %d ok, %+v", read.Errors, read.Count, res.Run.Errors)
	}
}

// Cancelling the context (Ctrl-C) ends the run early; the operations it
// cut short are not blamed on the store.
func TestCancelStopsTheRunWithoutErrors(t *testing.T) {
	g := newGateDriver()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *bench.Result)
	go func() {
		res, err := bench.Run(ctx, g, bench.Options{Workload: mustPreset(t, "c"), Records: 10,
			Duration: time.Hour, Clients: 1, SkipLoad: true})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-g.called
	g.release <- struct{}{}
	<-g.called // the first operation is recorded; the second is in flight
	cancel()
	res := <-done
	if !res.Interrupted || res.Run.Total.Errors != 0 || res.Run.Total.Count != 1 {
		t.Fatalf("interrupted %v, %d errors, %d ok", res.Interrupted, res.Run.Total.Errors, res.Run.Total.Count)
	}
}

// The open loop times each operation from when it was due, not from when
// a worker got to send it: with one worker held 10 ms by the first call,
// the next two, due at 1 ms and 2 ms, wait behind it and their latency
// includes the wait. (Measured from sending, they would take 2 ms and 0.)
func TestOpenLoopLatencyRunsFromIntendedStart(t *testing.T) {
	g, clock := newGateDriver(), newFakeClock()
	done := make(chan *bench.Result)
	go func() {
		res, err := bench.Run(context.Background(), g, bench.Options{Workload: mustPreset(t, "c"),
			Records: 10, Operations: 3, Clients: 1, Rate: 1000, SkipLoad: true, Clock: clock})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-g.called                // op 0, due at 0, sent at 0
	clock.waitForTimers(t, 1) // the dispatcher sleeps until op 1 is due
	clock.Advance(10 * time.Millisecond)
	g.release <- struct{}{} // op 0 ends at 10 ms: 10 ms
	<-g.called              // op 1, due at 1 ms, sent at 10 ms
	clock.Advance(2 * time.Millisecond)
	g.release <- struct{}{} // op 1 ends at 12 ms: 11 ms
	<-g.called              // op 2, due at 2 ms, sent at 12 ms
	g.release <- struct{}{} // op 2 ends at 12 ms: 10 ms
	res := <-done
	read := opStats(t, res.Run, "READ")
	if read.Count != 3 || !about(read.P50, 10*time.Millisecond) || !about(read.Max, 11*time.Millisecond) {
		t.Fatalf("READ: count %d, p50 %s, max %s; want 3, 10ms, 11ms", read.Count, read.P50, read.Max)
	}
	if !strings.HasPrefix(res.Run.Model, "open loop at 1000 ops/s target, latency from intended start") {
		t.Errorf("model %q", res.Run.Model)
	}
}

// Operations due before the end that no worker was free to start are
// reported as missed, not dropped.
func TestOpenLoopCountsMissedOperations(t *testing.T) {
	g, clock := newGateDriver(), newFakeClock()
	done := make(chan *bench.Result)
	go func() {
		res, err := bench.Run(context.Background(), g, bench.Options{Workload: mustPreset(t, "c"),
			Records: 10, Duration: 10 * time.Millisecond, Clients: 1, Rate: 1000, SkipLoad: true, Clock: clock})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-g.called                // op 0 holds the only worker
	clock.waitForTimers(t, 2) // the end of the run, and op 1's due time
	clock.Advance(20 * time.Millisecond)
	clock.waitForReceived(t) // the dispatcher woke, found the worker busy, and saw the end
	g.release <- struct{}{}
	res := <-done
	if res.Run.Missed != 9 || res.Run.Total.Count != 1 {
		t.Fatalf("missed %d, done %d; want 9 of the 10 due missed, 1 done", res.Run.Missed, res.Run.Total.Count)
	}
}

func TestOptionsAreValidated(t *testing.T) {
	for _, o := range []bench.Options{
		{Records: -1}, {Clients: -2}, {Rate: -5}, {Operations: -1},
		{Workload: bench.Workload{Distribution: bench.Zipfian}},
		{Workload: bench.Workload{ReadProp: 1, Distribution: "hotspot"}},
	} {
		if _, err := bench.Run(context.Background(), newMemDriver(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}

// about allows for the histogram's three significant digits.
func about(got, want time.Duration) bool {
	return got >= want && got <= want+want/500
}

// insertingDriver is a memDriver with its own insert path.
type insertingDriver struct {
	*memDriver
	inserts atomic.Int64
}

func (d *insertingDriver) Insert(ctx context.Context, key, value []byte) error {
	d.inserts.Add(1)
	return d.memDriver.Put(ctx, key, value, nil)
}

// Inserts (the load phase, workload D) go through Inserter when the
// driver has it; updates still go through Put.
func TestInsertsUseInserterWhenTheDriverHasOne(t *testing.T) {
	d := &insertingDriver{memDriver: newMemDriver()}
	res, err := bench.Run(context.Background(), d, bench.Options{Workload: mustPreset(t, "d"),
		Records: 50, Operations: 2000, Clients: 2, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	want := 50 + opStats(t, res.Run, "INSERT").Count
	if d.inserts.Load() != want || d.puts.Load() != want {
		t.Fatalf("%d inserts through Inserter, %d puts in all; want %d of each", d.inserts.Load(), d.puts.Load(), want)
	}
}

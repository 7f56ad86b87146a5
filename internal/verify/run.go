package verify

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/ringkv/ringkv/client"
)

// Options are a run's settings; zero values take the defaults.
type Options struct {
	Duration        time.Duration // how long the workload and nemesis run (default 20s)
	Nemesis         []Kind        // faults to draw from (none: a run with no faults)
	Seed            uint64        // the schedule's and the writers' random choices
	R, W            int           // the workload's read and write levels (0: quorum)
	Writers         int           // concurrent writers (default 8)
	Timeout         time.Duration // deadline of every request (default 2s)
	ConvergeTimeout time.Duration // how long to wait for convergence after the heal (default 60s)
	MaxOps          int           // operations recorded at most (about 100 MB at worst); the workload stops there (default 300,000)
	Log             io.Writer     // progress lines (nil: none)
}

func (o *Options) defaults() {
	setDefault(&o.Duration, 20*time.Second)
	setDefault(&o.Writers, 8)
	setDefault(&o.Timeout, 2*time.Second)
	setDefault(&o.ConvergeTimeout, 60*time.Second)
	setDefault(&o.MaxOps, 300_000)
	if o.Log == nil {
		o.Log = io.Discard
	}
}

func setDefault[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// Validate refuses options no run can use.
func (o Options) Validate() error {
	switch {
	case o.Duration < 0, o.Timeout < 0, o.ConvergeTimeout < 0:
		return fmt.Errorf("%w: durations must not be negative", ErrBadOptions)
	case o.Writers < 0 || o.Writers > 1024:
		return fmt.Errorf("%w: writers %d outside 1..1024", ErrBadOptions, o.Writers)
	case o.R < 0 || o.W < 0:
		return fmt.Errorf("%w: r and w must be 1..N (0: quorum)", ErrBadOptions)
	}
	return nil
}

// Report is a run's result.
type Report struct {
	Seed         uint64        `json:"seed"`
	Nodes        []string      `json:"nodes"`
	Replicas     int           `json:"replicas"` // N as the nodes report it (R of the final reads)
	R            int           `json:"r"`
	W            int           `json:"w"`
	Writers      int           `json:"writers"`
	Nemesis      []Kind        `json:"nemesis"`
	Duration     time.Duration `json:"duration_ns"`
	Prefix       string        `json:"key_prefix"`
	Converged    bool          `json:"converged"`
	ConvergeTime time.Duration `json:"converge_ns"` // from the heal to convergence (or giving up)
	NotConverged string        `json:"not_converged,omitempty"`
	HistoryFull  bool          `json:"history_full,omitempty"`
	HealError    string        `json:"heal_error,omitempty"`
	Verdict
	Activity Activity      `json:"activity"`
	Counts   []OpCount     `json:"operations"`
	Errors   []ErrorCount  `json:"errors,omitempty"`
	Events   []Event       `json:"events"`
	Timeline []Bin         `json:"timeline"`
	HealedAt time.Duration `json:"healed_at_ns"`
	ops      []Op
}

// Failed reports whether the run broke a promise or could not tell.
func (r *Report) Failed() bool { return r.Verdict.Failed() || !r.Converged || r.HealError != "" }

// Run runs the workload and the nemesis against c for o.Duration, heals,
// waits for convergence and checks. An error means the run could not be
// made; a run that found problems returns a report whose Failed is true.
func Run(ctx context.Context, c Cluster, o Options) (*Report, error) {
	o.defaults()
	if err := o.Validate(); err != nil {
		return nil, err
	}
	wl, rf, err := prepare(ctx, c, o)
	if err != nil {
		return nil, err
	}
	defer wl.close()
	rep := &Report{Seed: o.Seed, Nodes: nodeIDs(c), Replicas: rf, R: o.R, W: o.W, Writers: o.Writers,
		Nemesis: o.Nemesis, Duration: o.Duration, Prefix: wl.prefix}
	nem := newNemesis(c, wl.h)
	wl.drive(ctx, nem, o)
	rep.HistoryFull = wl.h.Full()
	fmt.Fprintln(o.Log, "verify: healing every fault")
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	if err := nem.heal(hctx); err != nil {
		rep.HealError = err.Error()
	}
	wl.settle(ctx, rep, o)
	return rep, nil
}

// prepare checks the cluster can do what o asks and builds the workload.
func prepare(ctx context.Context, c Cluster, o Options) (*workload, int, error) {
	if slices.ContainsFunc(o.Nemesis, Kind.network) {
		// Start clean, and find out now if the cluster cannot do it.
		if err := c.Heal(ctx); err != nil {
			return nil, 0, fmt.Errorf("nemesis %s: %w", joinKinds(o.Nemesis), err)
		}
	}
	wl := newWorkload(c, o)
	var st statusView
	err := wl.bounded(ctx, func(cc context.Context) (err error) {
		st, err = statusOf(cc, wl.nodes[0].cl)
		return err
	})
	if err != nil {
		wl.close()
		return nil, 0, fmt.Errorf("verify: status of %s: %w", wl.nodes[0].id, err)
	}
	return wl, min(st.n, len(wl.nodes)), nil
}

func newWorkload(c Cluster, o Options) *workload {
	prefix := fmt.Sprintf("verify/%d-%d/", o.Seed, time.Now().UnixNano())
	wl := &workload{prefix: prefix, h: NewHistory(time.Now(), o.MaxOps), r: o.R, w: o.W, timeout: o.Timeout, errs: newErrorLog(),
		sets: newKeyspace(prefix+"set", setSlots, elementsPerKey), churn: newKeyspace(prefix+"churn", churnSlots, churnWritesKey)}
	for _, n := range c.Nodes() {
		wl.nodes = append(wl.nodes, endpoint{id: n.ID, cl: client.New(n.Addr)})
	}
	return wl
}

func (wl *workload) close() {
	for _, n := range wl.nodes {
		n.cl.Close()
	}
}

// drive runs the workload and the nemesis side by side for o.Duration.
func (wl *workload) drive(ctx context.Context, nem *nemesis, o Options) {
	plan := Plan(o.Seed, o.Nemesis, nodeIDs(nem.c), o.Duration)
	fmt.Fprintf(o.Log, "verify: %d writers for %s, %d faults planned (seed %d), keys under %s\n",
		o.Writers, o.Duration, len(plan), o.Seed, wl.prefix)
	rctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { nem.run(rctx, plan) })
	wl.run(rctx, o.Seed, o.Writers)
	cancel() // a full history ends the nemesis too
	wg.Wait()
}

// settle waits for convergence, reads everything back and checks.
func (wl *workload) settle(ctx context.Context, rep *Report, o Options) {
	healed := time.Now()
	rep.HealedAt = wl.h.Since(healed)
	keys := append(wl.sets.keys(), wl.churn.keys()...)
	fmt.Fprintf(o.Log, "verify: waiting for convergence of %d keys (at most %s)\n", len(keys), o.ConvergeTimeout)
	snap, why := wl.converge(ctx, healed, healed.Add(o.ConvergeTimeout), keys, rep.Replicas)
	rep.ConvergeTime = time.Since(healed)
	rep.Converged, rep.NotConverged = why == "", why
	final := wl.finalReads(ctx, keys, rep.Replicas, snap)
	rep.Activity = wl.activity(ctx)
	ops, events := wl.h.Snapshot()
	rep.Verdict = Check(ops, events, final)
	rep.Counts, rep.Timeline = countOps(ops), timeline(ops)
	rep.Errors, rep.Events, rep.ops = wl.errs.list(), events, ops
}

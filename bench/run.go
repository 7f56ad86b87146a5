package bench

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Run loads the records (unless SkipLoad) and runs the workload against d.
// Cancelling ctx (Ctrl-C) stops both phases early: the result then covers
// what completed and says Interrupted. The caller closes d.
func Run(ctx context.Context, d Driver, opts Options) (*Result, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	if o.Seed == 0 {
		o.Seed = rand.Uint64()
	}
	res := &Result{Workload: o.Workload, Target: o.Target, Records: o.Records, ValueSize: o.ValueSize,
		Clients: o.Clients, Rate: o.Rate, Timeout: o.Timeout, Started: o.Clock.Now()}
	r := &runner{d: d, o: o, values: newValues(o.ValueSize, o.Seed)}
	if !o.SkipLoad {
		load := r.load(ctx)
		res.Load = &load
	}
	if ctx.Err() == nil {
		res.Run = r.run(ctx)
	}
	res.Interrupted = ctx.Err() != nil
	return res, nil
}

type runner struct {
	d      Driver
	o      Options
	values *values
}

// load inserts records 0..Records-1 with Clients closed-loop clients.
func (r *runner) load(ctx context.Context) Phase {
	var next atomic.Int64
	return r.phase(ctx, "load", closedModel(r.o.Clients), func(ctx context.Context, rec *recorder) {
		r.closedLoop(ctx, rec, func(int) (op, bool) {
			n := next.Add(1) - 1
			return op{typ: Insert, num: n}, n < r.o.Records
		}, func(op) {})
	})
}

// run is the measured phase, closed or open loop.
func (r *runner) run(ctx context.Context) Phase {
	extra := int64(0)
	if r.o.Operations > 0 {
		// CoreWorkload's fudge: twice the expected inserts.
		extra = int64(float64(r.o.Operations) * r.o.Workload.InsertProp / totalProp(r.o.Workload) * 2)
	}
	ks := newKeySpace(r.o.Workload, r.o.Records, extra)
	gens := make([]*generator, r.o.Clients)
	for i := range gens {
		gens[i] = ks.generator(r.o.Seed, uint64(i))
	}
	return r.phase(ctx, "run", r.o.Model(), func(ctx context.Context, rec *recorder) {
		if r.o.Rate > 0 {
			r.openLoop(ctx, rec, gens)
			return
		}
		var issued atomic.Int64
		end := rec.start.Add(r.o.Duration)
		r.closedLoop(ctx, rec, func(w int) (op, bool) {
			if r.o.Operations > 0 && issued.Add(1) > r.o.Operations {
				return op{}, false
			}
			if r.o.Duration > 0 && !r.o.Clock.Now().Before(end) {
				return op{}, false
			}
			return gens[w].next(), true
		}, ks.done)
	})
}

func totalProp(w Workload) float64 {
	s := 0.0
	for _, p := range w.props() {
		s += p
	}
	return s
}

// phase runs body with a fresh recorder and the live line, and summarises.
func (r *runner) phase(ctx context.Context, name, model string, body func(context.Context, *recorder)) Phase {
	rec := newRecorder(r.o.Clock.Now())
	stopLive := r.startLive(name, rec)
	body(ctx, rec)
	stopLive()
	p := rec.phase(name, model, r.o.Clock.Now())
	p.Missed = rec.missed
	return p
}

// closedLoop runs Clients workers, each issuing its next operation when the
// last one returns, until next says stop or ctx ends. done runs after every
// operation (it acknowledges inserts).
func (r *runner) closedLoop(ctx context.Context, rec *recorder, next func(worker int) (op, bool), done func(op)) {
	var wg sync.WaitGroup
	for w := range r.o.Clients {
		wg.Go(func() {
			for ctx.Err() == nil {
				o, ok := next(w)
				if !ok {
					return
				}
				start := r.o.Clock.Now()
				notFound, err := r.exec(ctx, o)
				done(o)
				r.finish(ctx, rec, o, start, notFound, err)
			}
		})
	}
	wg.Wait()
}

// openLoop schedules operation i at start + i/Rate and hands it to the
// first free worker. Its latency counts from that intended start, so a
// wait for a worker is part of it. When the duration ends with operations
// still due and every worker busy, those are counted as missed.
func (r *runner) openLoop(ctx context.Context, rec *recorder, gens []*generator) {
	jobs := make(chan time.Time)
	var wg sync.WaitGroup
	for w := range r.o.Clients {
		wg.Go(func() {
			for intended := range jobs {
				o := gens[w].next()
				notFound, err := r.exec(ctx, o)
				gens[w].done(o)
				r.finish(ctx, rec, o, intended, notFound, err)
			}
		})
	}
	rec.missed = r.dispatch(ctx, rec.start, jobs)
	close(jobs)
	wg.Wait()
}

// dispatch sends intended start times to jobs and returns how many due
// operations it could not send before the end.
func (r *runner) dispatch(ctx context.Context, start time.Time, jobs chan<- time.Time) (missed int64) {
	clock, o := r.o.Clock, r.o
	due := int64(math.MaxInt64) // operations due before the end
	if o.Operations > 0 {
		due = o.Operations
	}
	var ended <-chan time.Time
	if o.Duration > 0 {
		due = min(due, int64(math.Ceil(o.Duration.Seconds()*o.Rate)))
		ended = clock.After(o.Duration)
	}
	for i := int64(0); i < due; i++ {
		intended := start.Add(time.Duration(float64(i) / o.Rate * float64(time.Second)))
		if wait := intended.Sub(clock.Now()); wait > 0 {
			select {
			case <-clock.After(wait):
			case <-ctx.Done():
				return 0
			}
		}
		select {
		case jobs <- intended:
		case <-ctx.Done():
			return 0
		case <-ended:
			return due - i
		}
	}
	return 0
}

// exec performs one operation; each driver call has its own deadline.
func (r *runner) exec(ctx context.Context, o op) (notFound bool, err error) {
	key := keyName(o.num, r.o.OrderedInserts)
	switch o.typ {
	case Read:
		_, found, err := r.get(ctx, key)
		return !found, err
	case ReadModifyWrite:
		token, found, err := r.get(ctx, key)
		if err != nil {
			return false, err
		}
		return !found, r.put(ctx, key, token)
	case Insert:
		if ins, ok := r.d.(Inserter); ok {
			ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
			defer cancel()
			return false, ins.Insert(ctx, key, r.values.next())
		}
	}
	return false, r.put(ctx, key, nil)
}

func (r *runner) get(ctx context.Context, key []byte) ([]byte, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	return r.d.Get(ctx, key)
}

func (r *runner) put(ctx context.Context, key, token []byte) error {
	ctx, cancel := context.WithTimeout(ctx, r.o.Timeout)
	defer cancel()
	return r.d.Put(ctx, key, r.values.next(), token)
}

// finish records an operation that started (or was due) at start, unless
// the run was cancelled under it: that failure is ours, not the store's.
func (r *runner) finish(ctx context.Context, rec *recorder, o op, start time.Time, notFound bool, err error) {
	if ctx.Err() != nil {
		return
	}
	now := r.o.Clock.Now()
	rec.record(o.typ, now.Sub(start), notFound, err, now)
}

// values hands out value bytes: windows into one random buffer, so making
// a value costs nothing and values still differ. Drivers must not modify
// them.
type values struct {
	buf  []byte
	size int
	off  atomic.Uint64
}

const valueWindows = 1 << 12

func newValues(size int, seed uint64) *values {
	rng := rand.New(rand.NewPCG(seed, 0x76616c756573))
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	buf := make([]byte, size+valueWindows)
	for i := range buf {
		buf[i] = letters[rng.IntN(len(letters))]
	}
	return &values{buf: buf, size: size}
}

func (v *values) next() []byte {
	off := int(v.off.Add(977) % valueWindows)
	return v.buf[off : off+v.size : off+v.size]
}

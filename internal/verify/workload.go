package verify

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"time"

	"connectrpc.com/connect"

	"github.com/ringkv/ringkv/client"
)

// The workload's shape. Elements per key bound a value to a few hundred
// bytes; churn keys are deleted and created again, so a fifth of the
// writers' operations make tombstones.
const (
	setSlots        = 4
	churnSlots      = 4
	elementsPerKey  = 50
	churnWritesKey  = 20
	churnShare      = 0.2
	maxErrorsListed = 10
)

// endpoint is one node and the client that reaches it.
type endpoint struct {
	id string
	cl *client.Client
}

// workload runs writers and a prober against the nodes, recording every
// operation in h.
type workload struct {
	prefix  string // every key of the run starts with it
	h       *History
	nodes   []endpoint
	sets    *keyspace
	churn   *keyspace
	r, w    int
	timeout time.Duration
	errs    *errorLog
}

// writer is one client of the workload with its own random source and
// element counter.
type writer struct {
	*workload
	id  int
	rng *rand.Rand
	seq uint64
}

// run starts writers writers and one prober and returns when ctx ends or
// the history is full.
func (wl *workload) run(ctx context.Context, seed uint64, writers int) {
	var wg sync.WaitGroup
	for i := 1; i <= writers+1; i++ {
		w := &writer{workload: wl, id: i, rng: rand.New(rand.NewPCG(seed, uint64(i)))}
		loop := w.step
		if i == writers+1 {
			loop = w.probe
		}
		wg.Go(func() {
			for ctx.Err() == nil && !wl.h.Full() {
				loop(ctx)
			}
		})
	}
	wg.Wait()
}

// step does one read-modify-write: an add to a set key, or a delete or
// create of a churn key.
func (w *writer) step(ctx context.Context) {
	if w.rng.Float64() < churnShare {
		w.churnOne(ctx)
		return
	}
	key, slot, gen := w.sets.pick(w.rng)
	n := w.node()
	res, seen, ok := w.read(ctx, n, key, OpRead, w.r)
	if !ok {
		return
	}
	e := w.next()
	op := w.begin(OpAdd, key, n)
	op.Wrote = e
	err := w.bounded(ctx, func(c context.Context) error {
		_, err := n.cl.Put(c, []byte(key), encodeSet(append(seen, e)), res.Context, w.w)
		return err
	})
	w.finish(op, err)
	w.sets.wrote(slot, gen)
}

// churnOne deletes a churn key it read as present, or creates it with a
// new element when it read it as absent, with the read's context either way.
func (w *writer) churnOne(ctx context.Context) {
	key, slot, gen := w.churn.pick(w.rng)
	n := w.node()
	res, seen, ok := w.read(ctx, n, key, OpRead, w.r)
	if !ok {
		return
	}
	var err error
	var op Op
	if len(seen) > 0 {
		op = w.begin(OpDelete, key, n)
		op.Read = seen
		err = w.bounded(ctx, func(c context.Context) error {
			_, err := n.cl.Delete(c, []byte(key), res.Context, w.w)
			return err
		})
	} else {
		op = w.begin(OpCreate, key, n)
		op.Wrote = w.next()
		err = w.bounded(ctx, func(c context.Context) error {
			_, err := n.cl.Put(c, []byte(key), encodeSet([]uint64{op.Wrote}), res.Context, w.w)
			return err
		})
	}
	w.finish(op, err)
	w.churn.wrote(slot, gen)
}

// probe reads a set key at R=1 or R=quorum, alternately, for staleness.
func (w *writer) probe(ctx context.Context) {
	key, _, _ := w.sets.pick(w.rng)
	r := 1
	if w.seq++; w.seq%2 == 0 {
		r = 0
	}
	w.read(ctx, w.node(), key, OpProbe, r)
}

// read reads key and records it; ok is false when it failed.
func (w *writer) read(ctx context.Context, n endpoint, key string, kind OpKind, r int) (client.GetResult, []uint64, bool) {
	op := w.begin(kind, key, n)
	op.R = r
	var res client.GetResult
	err := w.bounded(ctx, func(c context.Context) (err error) {
		res, err = n.cl.Get(c, []byte(key), r)
		return err
	})
	if err == nil {
		op.Read, err = unionOf(res.Values)
	}
	if err != nil {
		err = errors.Join(err, errReadFailed) // a read changes nothing: it failed
	}
	w.finish(op, err)
	return res, op.Read, err == nil
}

var errReadFailed = errors.New("verify: read failed")

func (w *writer) node() endpoint { return w.nodes[w.rng.IntN(len(w.nodes))] }

func (w *writer) next() uint64 {
	w.seq++
	return element(w.id, w.seq)
}

// bounded runs one request under its own deadline. It does not end with
// the run, so an operation in flight when the run ends completes (or times
// out) instead of being cut short into an indeterminate one.
func (wl *workload) bounded(ctx context.Context, call func(context.Context) error) error {
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), wl.timeout)
	defer cancel()
	return call(c)
}

func (w *writer) begin(kind OpKind, key string, n endpoint) Op {
	return Op{Kind: kind, Key: key, Node: n.id, Start: w.h.Since(time.Now())}
}

func (w *writer) finish(op Op, err error) {
	op.End = w.h.Since(time.Now())
	op.Outcome = outcomeOf(err)
	if err != nil {
		op.Err = w.errs.note(err)
	}
	w.h.Add(op)
}

// outcomeOf classifies an error: a write is known not to have happened
// only if it never reached the node or the node refused it as invalid;
// anything else (a timeout, a missed W, a reset connection) may have
// written somewhere, so it is indeterminate.
func outcomeOf(err error) Outcome {
	switch {
	case err == nil:
		return OK
	case errors.Is(err, errReadFailed), errors.Is(err, syscall.ECONNREFUSED),
		connect.CodeOf(err) == connect.CodeInvalidArgument,
		strings.Contains(err.Error(), "connection refused"):
		return Fail
	}
	return Info
}

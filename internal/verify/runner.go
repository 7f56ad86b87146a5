package verify

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// nemesis puts a plan's faults in force one at a time and remembers what
// it must undo, so that heal can restore the cluster whatever happened.
type nemesis struct {
	c       Cluster
	h       *History
	killed  map[string]bool
	paused  map[string]bool
	network bool // a network or disk fault may be in force
}

func newNemesis(c Cluster, h *History) *nemesis {
	return &nemesis{c: c, h: h, killed: map[string]bool{}, paused: map[string]bool{}}
}

// run follows plan until it ends or ctx is done, recording each fault as
// an event. A fault that cannot be put in force is recorded with its error
// and the plan goes on.
func (n *nemesis) run(ctx context.Context, plan []Fault) {
	for _, f := range plan {
		if !wait(ctx, f.Gap) {
			return
		}
		start := time.Now()
		err := n.apply(ctx, f)
		if err == nil {
			wait(ctx, f.Hold)
			// Undo on a context of its own: the run's end must not leave
			// the fault half undone.
			err = n.undo(context.WithoutCancel(ctx), f)
		}
		n.record(f, start, err)
	}
}

func (n *nemesis) record(f Fault, start time.Time, err error) {
	e := Event{Kind: f.Kind, Groups: f.Groups, Delay: f.Delay, Start: n.h.Since(start), End: n.h.Since(time.Now())}
	if f.Node != "" {
		e.Nodes = []string{f.Node}
	}
	if err != nil {
		e.Err = err.Error()
	}
	n.h.AddEvent(e)
}

// wait sleeps d, or less if ctx ends first (false then).
func wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (n *nemesis) apply(ctx context.Context, f Fault) error {
	switch f.Kind {
	case Kill:
		return mark(n.killed, f.Node, n.c.Kill(ctx, f.Node))
	case Pause:
		return mark(n.paused, f.Node, n.c.Pause(ctx, f.Node))
	case Partition:
		n.network = true
		return n.c.Partition(ctx, f.Groups)
	case Slow:
		n.network = true
		return n.c.Slow(ctx, f.Node, f.Delay)
	case SlowDisk:
		n.network = true
		return n.c.SlowDisk(ctx, f.Node, f.Delay)
	}
	return fmt.Errorf("%w: %s", ErrUnsupported, f.Kind)
}

func (n *nemesis) undo(ctx context.Context, f Fault) error {
	switch f.Kind {
	case Kill:
		return n.start(ctx, f.Node)
	case Pause:
		return n.resume(ctx, f.Node)
	case Slow:
		return n.unless(n.c.Slow(ctx, f.Node, 0))
	case SlowDisk:
		return n.unless(n.c.SlowDisk(ctx, f.Node, 0))
	}
	return n.unless(n.c.Heal(ctx))
}

// mark remembers that id needs undoing once the fault is in force.
func mark(set map[string]bool, id string, err error) error {
	if err == nil {
		set[id] = true
	}
	return err
}

// unless clears the network flag once an undo worked.
func (n *nemesis) unless(err error) error {
	if err == nil {
		n.network = false
	}
	return err
}

func (n *nemesis) start(ctx context.Context, id string) error {
	if err := n.c.Start(ctx, id); err != nil {
		return err
	}
	delete(n.killed, id)
	return nil
}

func (n *nemesis) resume(ctx context.Context, id string) error {
	if err := n.c.Resume(ctx, id); err != nil {
		return err
	}
	delete(n.paused, id)
	return nil
}

// heal undoes whatever may still be in force: resumes paused nodes,
// starts killed ones, removes network faults. It tries everything and
// returns every error.
func (n *nemesis) heal(ctx context.Context) error {
	var errs []error
	for id := range n.paused {
		errs = append(errs, n.resume(ctx, id))
	}
	for id := range n.killed {
		errs = append(errs, n.start(ctx, id))
	}
	if n.network {
		errs = append(errs, n.unless(n.c.Heal(ctx)))
	}
	return errors.Join(errs...)
}

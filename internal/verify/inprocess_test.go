package verify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/internal/verify"
	"github.com/ringkv/ringkv/node"
)

// inProcess is an in-process cluster (real nodes, Pebble, memberlist and
// Connect on loopback, their traffic through the test fault network) as
// the nemesis sees it: partitions are real; the rest the process-level
// test covers (clustertest's stop and restart fail the test from the
// nemesis's goroutine, where they must not).
type inProcess struct{ c *clustertest.Cluster }

func (p inProcess) Nodes() []verify.Node {
	var ns []verify.Node
	for _, id := range []string{"n1", "n2", "n3"} {
		ns = append(ns, verify.Node{ID: id, Addr: p.c.Addr(id)})
	}
	return ns
}

func (inProcess) Kill(context.Context, string) error  { return verify.ErrUnsupported }
func (inProcess) Start(context.Context, string) error { return verify.ErrUnsupported }

func (p inProcess) Partition(_ context.Context, groups [][]string) error {
	var gs []string
	for _, g := range groups {
		gs = append(gs, strings.Join(g, " "))
	}
	p.c.Partition(gs...)
	return nil
}

func (p inProcess) Heal(context.Context) error { p.c.Heal(); return nil }

func (inProcess) Pause(context.Context, string) error  { return verify.ErrUnsupported }
func (inProcess) Resume(context.Context, string) error { return verify.ErrUnsupported }
func (inProcess) Slow(context.Context, string, time.Duration) error {
	return verify.ErrUnsupported
}
func (inProcess) SlowDisk(context.Context, string, time.Duration) error {
	return verify.ErrUnsupported
}

// A run with partitions against real nodes: the schedule's splits and
// heals reach the cluster, and the check finds the sibling merge losing
// nothing.
func TestARunWithPartitionsLosesNothing(t *testing.T) {
	kinds, seed := []verify.Kind{verify.Partition}, uint64(1)
	c := clustertest.New(t, 3, func(cfg *node.Config) {
		cfg.AntiEntropyInterval = 2 * time.Second
		cfg.HintWindow, cfg.TombstoneGrace = 3*time.Second, 4*time.Second
		cfg.Partitions = 16
	})
	rep, err := verify.Run(context.Background(), inProcess{c}, verify.Options{
		Duration: 5 * time.Second, Nemesis: kinds, Seed: seed, Writers: 4, ConvergeTimeout: 45 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	rep.WriteText(&b)
	t.Log(b.String())
	if rep.Failed() || rep.Totals.Acknowledged == 0 || len(rep.Events) == 0 || rep.Events[0].Err != "" {
		t.Fatalf("run failed or did nothing (%s):\n%s", rep.Problem(), b.String())
	}
}

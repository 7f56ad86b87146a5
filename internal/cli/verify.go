package cli

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/devcluster"
	"github.com/ringkv/ringkv/internal/verify"
)

// verifyFlags are `ringkv verify`'s flags.
type verifyFlags struct {
	dev     bool
	nodes   int
	addr    string
	dir     string
	nemesis string
	opts    verify.Options
	json    bool
	html    string
}

// verifyServeArgs are the serve flags of the nodes `verify --dev` starts:
// anti-entropy compares every partition every 3 s (so "every partition
// exchanged since the heal" comes within seconds), hints expire after 4 s
// and tombstones may be reaped after 6 s, so that hints expiring, repair
// by anti-entropy and reaping all happen within a short run; 64
// partitions keep those exchanges cheap; no ballast file to write.
var verifyServeArgs = []string{"--ae-interval", "3s", "--hint-window", "4s", "--tombstone-grace", "6s",
	"--partitions", "64", "--disk-ballast-bytes", "0"}

func newVerify(stdio IO) *cobra.Command {
	f := verifyFlags{}
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Check that no acknowledged write is lost under faults (Jepsen's set-full)",
		Long: `Run a set-full workload while a nemesis injects faults, heal, wait until the
cluster has converged, read every key with R=N through every node, and report
acknowledged, lost, indeterminate and resurrected elements, replicas that
differ, the time to converge and the staleness of R=1 and R=quorum reads.
Exits non-zero when anything is lost or resurrected, replicas differ, or the
cluster did not converge.

--dev starts a temporary cluster (--nodes) and removes it afterwards. --dir
targets a running ` + "`ringkv dev`" + ` cluster (it knows the pids to kill and pause).
--addr targets any cluster, with no nemesis.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runVerify(cmd, stdio, &f) },
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.dev, "dev", false, "run against a temporary local cluster, removed afterwards")
	fl.IntVar(&f.nodes, "nodes", 3, "nodes of the --dev cluster")
	fl.StringVar(&f.addr, "addr", "", "nodes of a running cluster, comma-separated host:port (no nemesis)")
	fl.StringVar(&f.dir, "dir", "", "directory of a running dev cluster (as given to ringkv dev up --dir) to target, faults included")
	fl.StringVar(&f.nemesis, "nemesis", "", "faults to inject, comma-separated: "+strings.Join(kindNames(), ","))
	fl.DurationVar(&f.opts.Duration, "duration", 20*time.Second, "how long the workload and the nemesis run")
	fl.Uint64Var(&f.opts.Seed, "seed", 0, "seed of the fault schedule and the writers' choices (0: random, printed)")
	fl.IntVar(&f.opts.R, "r", 0, "replicas that must reply to the writers' reads, 1..N (default: quorum)")
	fl.IntVar(&f.opts.W, "w", 0, "replicas that must acknowledge a write, 1..N (default: quorum)")
	fl.IntVar(&f.opts.Writers, "clients", 8, "concurrent writers")
	fl.IntVar(&f.opts.Writers, "writers", 8, "same as --clients")
	fl.DurationVar(&f.opts.Timeout, "timeout", 2*time.Second, "deadline of every request")
	fl.DurationVar(&f.opts.ConvergeTimeout, "converge-timeout", 60*time.Second, "how long to wait after the heal for the cluster to converge")
	fl.BoolVar(&f.json, "json", false, "print one JSON object")
	fl.StringVar(&f.html, "html", "", "also write a self-contained HTML report with a timeline to this file")
	return cmd
}

func kindNames() []string {
	var s []string
	for _, k := range verify.Kinds {
		s = append(s, string(k))
	}
	return s
}

func runVerify(cmd *cobra.Command, stdio IO, f *verifyFlags) error {
	kinds, err := f.check()
	if err != nil {
		return err
	}
	f.opts.Nemesis, f.opts.Log = kinds, stdio.Err
	if f.opts.Seed == 0 {
		f.opts.Seed = uint64(rand.Uint32())
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	c, teardown, err := f.cluster(ctx, stdio)
	if err != nil {
		return err
	}
	defer teardown()
	rep, err := verify.Run(ctx, c, f.opts)
	if err != nil {
		return err
	}
	if err := writeVerifyReports(stdio, f, rep); err != nil {
		return err
	}
	if rep.Failed() {
		return fmt.Errorf("%w: %s (seed %d)", verify.ErrFailed, rep.Problem(), rep.Seed)
	}
	return nil
}

// check validates the flags that pick the target and the faults.
func (f *verifyFlags) check() ([]verify.Kind, error) {
	kinds, err := verify.ParseKinds(f.nemesis)
	targets := 0
	for _, set := range []bool{f.dev, f.addr != "", f.dir != ""} {
		if set {
			targets++
		}
	}
	switch {
	case err != nil:
		return nil, err
	case targets != 1:
		return nil, errors.New("verify: give exactly one of --dev, --dir or --addr")
	case f.addr != "" && len(kinds) > 0:
		return nil, errors.New("verify: --nemesis needs the nodes' processes: use --dev, or --dir for a running `ringkv dev` cluster; --addr runs without faults")
	case f.dev && (f.nodes < 1 || f.nodes > 50):
		return nil, fmt.Errorf("verify: --nodes %d is outside 1..50", f.nodes)
	}
	return kinds, f.opts.Validate()
}

// cluster builds the run's target: a temporary dev cluster, a running one,
// or bare addresses.
func (f *verifyFlags) cluster(ctx context.Context, stdio IO) (verify.Cluster, func(), error) {
	switch {
	case f.dev:
		c, teardown, err := startTempCluster(ctx, stdio.Err, "ringkv-verify-", f.nodes, verifyServeArgs)
		if err != nil {
			return nil, nil, err
		}
		return devNemesis{c}, teardown, nil
	case f.dir != "":
		c, err := devcluster.Load(f.dir)
		return devNemesis{c}, func() {}, err
	}
	c, err := newAddrCluster(ctx, splitList(f.addr), f.opts.Timeout)
	return c, func() {}, err
}

func writeVerifyReports(stdio IO, f *verifyFlags, rep *verify.Report) error {
	if f.html != "" {
		var b strings.Builder
		if err := rep.WriteHTML(&b); err != nil {
			return err
		}
		if err := os.WriteFile(f.html, []byte(b.String()), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdio.Err, "wrote %s\n", f.html)
	}
	if f.json {
		return rep.WriteJSON(stdio.Out)
	}
	return rep.WriteText(stdio.Out)
}

// devNemesis is a dev cluster as the nemesis sees it: kill, start, pause
// and resume act on the node processes.
type devNemesis struct{ c *devcluster.Cluster }

func (d devNemesis) Nodes() []verify.Node {
	var ns []verify.Node
	for _, n := range d.c.Nodes {
		ns = append(ns, verify.Node{ID: n.ID, Addr: n.Listen})
	}
	return ns
}

func (d devNemesis) Kill(_ context.Context, id string) error { return d.c.Kill(id) }

func (d devNemesis) Start(ctx context.Context, id string) error {
	if err := d.c.Start(id); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	return d.c.WaitServing(ctx, id)
}

func (d devNemesis) Pause(_ context.Context, id string) error {
	return d.c.Signal(id, syscall.SIGSTOP)
}

func (d devNemesis) Resume(_ context.Context, id string) error {
	return d.c.Signal(id, syscall.SIGCONT)
}

// The network and disk faults go through the dev fault layer: each node
// runs with --dev-faults, and devcluster sets and records them.

func (d devNemesis) Partition(ctx context.Context, groups [][]string) error {
	return d.c.Partition(ctx, groups)
}

func (d devNemesis) Heal(ctx context.Context) error { return d.c.Heal(ctx) }

func (d devNemesis) Slow(ctx context.Context, id string, delay time.Duration) error {
	return d.c.Slow(ctx, id, delay)
}

func (d devNemesis) SlowDisk(ctx context.Context, id string, delay time.Duration) error {
	return d.c.SlowDisk(ctx, id, delay)
}

// addrCluster is a cluster known only by its addresses: it can be read
// and written, not faulted.
type addrCluster []verify.Node

// addrCluster asks each node its id, which reads name replicas by.
func newAddrCluster(ctx context.Context, addrs []string, timeout time.Duration) (addrCluster, error) {
	if len(addrs) == 0 {
		return nil, errors.New("verify: --addr names no node")
	}
	var c addrCluster
	for _, a := range addrs {
		st, err := nodeStatus(ctx, a, timeout)
		if err != nil {
			return nil, err
		}
		c = append(c, verify.Node{ID: st.GetNodeId(), Addr: a})
	}
	return c, nil
}

var errNoProcesses = fmt.Errorf("%w: --addr gives no processes to fault", verify.ErrUnsupported)

func (c addrCluster) Nodes() []verify.Node                                { return c }
func (addrCluster) Kill(context.Context, string) error                    { return errNoProcesses }
func (addrCluster) Start(context.Context, string) error                   { return errNoProcesses }
func (addrCluster) Pause(context.Context, string) error                   { return errNoProcesses }
func (addrCluster) Resume(context.Context, string) error                  { return errNoProcesses }
func (addrCluster) Partition(context.Context, [][]string) error           { return errNoProcesses }
func (addrCluster) Heal(context.Context) error                            { return errNoProcesses }
func (addrCluster) Slow(context.Context, string, time.Duration) error     { return errNoProcesses }
func (addrCluster) SlowDisk(context.Context, string, time.Duration) error { return errNoProcesses }

// nodeStatus asks the node at addr for its status within timeout.
func nodeStatus(ctx context.Context, addr string, timeout time.Duration) (*ringkvv1.StatusResponse, error) {
	cl := client.New(addr)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	st, err := cl.Status(ctx)
	if err != nil {
		// describe would print only the Connect message: say which node.
		return nil, fmt.Errorf("cannot reach node %s: %s", addr, describe(err))
	}
	return st, nil
}

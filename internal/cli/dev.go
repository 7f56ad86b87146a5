package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringkv/ringkv/internal/devcluster"
)

func newDev(stdio IO) *cobra.Command {
	var dir string
	dev := &cobra.Command{
		Use:   "dev",
		Short: "Run a local cluster of real node processes on loopback",
		Long: `Run a local cluster of real ringkv node processes on loopback, to start, kill,
pause and restart nodes, cut the network between them (partition, isolate),
slow their links and disks, and watch the cluster heal. Node i serves the API on
127.0.0.1:(base-port+i-1), so the default --addr reaches n1. State and logs
live in --dir, so every dev command works from any shell.`,
	}
	dev.PersistentFlags().StringVar(&dir, "dir", "ringkv-dev", "directory holding the cluster's state, data and logs")
	load := func() (*devcluster.Cluster, error) { return devcluster.Load(dir) }
	dev.AddCommand(newDevUp(stdio, &dir), newDevStatus(stdio, load), newDevDown(stdio, &dir),
		devSignal(stdio, load, "kill", "Kill a node with SIGKILL", func(c *devcluster.Cluster, id string) error { return c.Kill(id) }),
		devSignal(stdio, load, "stop", "Stop a node with SIGTERM (clean shutdown)", func(c *devcluster.Cluster, id string) error {
			return c.Stop(id, 15*time.Second)
		}),
		devSignal(stdio, load, "pause", "Freeze a node with SIGSTOP", func(c *devcluster.Cluster, id string) error { return c.Signal(id, syscall.SIGSTOP) }),
		devSignal(stdio, load, "resume", "Thaw a paused node with SIGCONT", func(c *devcluster.Cluster, id string) error { return c.Signal(id, syscall.SIGCONT) }),
		devSignal(stdio, load, "start", "Restart a node on its data directory, and wait until it serves", func(c *devcluster.Cluster, id string) error {
			if err := c.Start(id); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			return c.WaitServing(ctx, id)
		}),
	)
	dev.AddCommand(newDevFaults(stdio, load)...)
	return dev
}

func devSignal(stdio IO, load func() (*devcluster.Cluster, error), verb, short string, do func(*devcluster.Cluster, string) error) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " ID",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := load()
			if err != nil {
				return err
			}
			if err := do(c, args[0]); err != nil {
				return err
			}
			n, _ := c.Node(args[0])
			fmt.Fprintf(stdio.Out, "%s: %s (pid %d)\n", args[0], c.State(n), n.PID)
			return nil
		},
	}
}

func newDevUp(stdio IO, dir *string) *cobra.Command {
	var nodes, basePort int
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "up [--nodes 3] [--base-port 7070] [-- SERVE-FLAGS...]",
		Short: "Create and start the nodes, and wait until they form one cluster",
		Long: `Create and start nodes n1..nN as background processes, wait until every node
sees every other alive, and print where they are. Flags after -- are passed to
every serve (and reused by dev start), e.g. ringkv dev up -- --n 3.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if nodes < 1 || nodes > 50 {
				return fmt.Errorf("--nodes %d is outside 1..50", nodes)
			}
			return devUp(cmd.Context(), stdio, *dir, nodes, basePort, wait, args)
		},
	}
	cmd.Flags().IntVar(&nodes, "nodes", 3, "number of nodes")
	cmd.Flags().IntVar(&basePort, "base-port", 7070, "API port of n1; node i uses base-port+i-1, gossip base-port+100+i-1")
	cmd.Flags().DurationVar(&wait, "wait", 60*time.Second, "how long to wait for the cluster to form")
	return cmd
}

func devUp(ctx context.Context, stdio IO, dir string, nodes, basePort int, wait time.Duration, serveArgs []string) error {
	if old, err := devcluster.Load(dir); err == nil {
		for i := range old.Nodes {
			if old.State(&old.Nodes[i]) != devcluster.Down {
				return fmt.Errorf("a cluster is already running in %s (ringkv dev status; ringkv dev down)", dir)
			}
		}
	} else if !errors.Is(err, devcluster.ErrNoCluster) {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	c := devcluster.New(dir, nodes, basePort, bin, serveArgs)
	for _, n := range c.Nodes {
		if err := c.Start(n.ID); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if err := c.WaitConverged(ctx, stdio.Err); err != nil {
		return err
	}
	return printDevTable(stdio.Out, c)
}

func printDevTable(w io.Writer, c *devcluster.Cluster) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPID\tSTATE\tADDR\tGOSSIP\tFAULTS\tLOG")
	for i := range c.Nodes {
		n := &c.Nodes[i]
		st := c.State(n)
		pid := "-"
		if st != devcluster.Down {
			pid = fmt.Sprint(n.PID)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, pid, st, n.Listen, n.Gossip, c.Faults.Of(n.ID), c.LogFile(n.ID))
	}
	return tw.Flush()
}

type devNodeJSON struct {
	ID     string `json:"id"`
	PID    int    `json:"pid"`
	State  string `json:"state"`
	Addr   string `json:"addr"`
	Gossip string `json:"gossip"`
	Log    string `json:"log"`
}

func newDevStatus(stdio IO, load func() (*devcluster.Cluster, error)) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each node's process: pid, running/paused/down, addresses",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := load()
			if err != nil {
				return err
			}
			if !asJSON {
				return printDevTable(stdio.Out, c)
			}
			out := []devNodeJSON{}
			for i := range c.Nodes {
				n := &c.Nodes[i]
				out = append(out, devNodeJSON{ID: n.ID, PID: n.PID, State: string(c.State(n)), Addr: n.Listen, Gossip: n.Gossip, Log: c.LogFile(n.ID)})
			}
			return printJSON(stdio.Out, map[string]any{"nodes": out, "faults": c.Faults})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func newDevDown(stdio IO, dir *string) *cobra.Command {
	var purge bool
	cmd := &cobra.Command{
		Use:   "down [--purge]",
		Short: "Stop every node (SIGTERM; data kept unless --purge)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := devcluster.Load(*dir)
			if err != nil {
				return err
			}
			var errs []error
			for i := range c.Nodes {
				n := &c.Nodes[i]
				if c.State(n) == devcluster.Paused {
					_ = c.Signal(n.ID, syscall.SIGCONT) // a stopped process cannot handle SIGTERM
				}
				if c.State(n) != devcluster.Down {
					if err := c.Stop(n.ID, 15*time.Second); err != nil {
						errs = append(errs, err, c.Kill(n.ID))
					}
				}
				fmt.Fprintf(stdio.Out, "%s: down\n", n.ID)
			}
			if err := errors.Join(errs...); err != nil {
				return err
			}
			if purge {
				fmt.Fprintf(stdio.Out, "removed %s\n", *dir)
				return os.RemoveAll(*dir)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&purge, "purge", false, "also delete the cluster's directory (data and logs)")
	return cmd
}

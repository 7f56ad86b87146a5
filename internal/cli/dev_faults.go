package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/ringkv/ringkv/internal/devcluster"
)

// newDevFaults are the dev commands that inject network and disk faults
// through the nodes' fault layer (serve --dev-faults, which dev sets).
func newDevFaults(stdio IO, load func() (*devcluster.Cluster, error)) []*cobra.Command {
	run := func(do func(context.Context, *devcluster.Cluster, []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c, err := load()
			if err != nil {
				return err
			}
			err = do(cmd.Context(), c, args)
			fmt.Fprintf(stdio.Out, "faults in force: %s\n", c.Faults)
			return err
		}
	}
	return []*cobra.Command{
		{
			Use:   "partition GROUP GROUP...",
			Short: "Cut the network between groups of nodes, e.g. partition n1,n2 n3",
			Long: `Cut every path between nodes of different groups, in both directions: gossip
(UDP and TCP), heartbeats, replica streams, hint delivery and anti-entropy.
Clients still reach every node. Each group is a comma-separated list of node
ids; every node must be in one group. Replaces any earlier partition.`,
			Args: cobra.MinimumNArgs(2),
			RunE: run(func(ctx context.Context, c *devcluster.Cluster, args []string) error {
				groups := make([][]string, len(args))
				for i, a := range args {
					groups[i] = splitList(a)
				}
				return c.Partition(ctx, groups)
			}),
		},
		{
			Use:   "isolate ID",
			Short: "Cut one node off from every other node (clients still reach it)",
			Args:  cobra.ExactArgs(1),
			RunE: run(func(ctx context.Context, c *devcluster.Cluster, args []string) error {
				return c.Isolate(ctx, args[0])
			}),
		},
		{
			Use:   "heal",
			Short: "Remove every fault: partition, slow links and slow disks",
			Args:  cobra.NoArgs,
			RunE: run(func(ctx context.Context, c *devcluster.Cluster, _ []string) error {
				return c.Heal(ctx)
			}),
		},
		devLatency(run, "slow", "Add latency to everything a node sends to other nodes (0 removes it)", (*devcluster.Cluster).Slow),
		devLatency(run, "slow-disk", "Add latency to each fsync of a node's data files (0 removes it)", (*devcluster.Cluster).SlowDisk),
	}
}

func devLatency(run func(func(context.Context, *devcluster.Cluster, []string) error) func(*cobra.Command, []string) error,
	verb, short string, set func(*devcluster.Cluster, context.Context, string, time.Duration) error) *cobra.Command {
	return &cobra.Command{
		Use:   verb + " ID LATENCY",
		Short: short,
		Long:  short + ". LATENCY is a Go duration up to 10s, e.g. 50ms.",
		Args:  cobra.ExactArgs(2),
		RunE: run(func(ctx context.Context, c *devcluster.Cluster, args []string) error {
			d, err := time.ParseDuration(args[1])
			if err != nil {
				return fmt.Errorf("latency %q: want a duration such as 50ms: %w", args[1], err)
			}
			return set(c, ctx, args[0], d)
		}),
	}
}

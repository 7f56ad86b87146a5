package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/membership"
	"github.com/ringkv/ringkv/ring"
)

// errNoRing is returned when the node has not learnt a ring yet.
var errNoRing = errors.New("the node has no agreed ring yet (it is still learning it from its seeds)")

type ringMemberJSON struct {
	ID      string `json:"id"`
	Status  string `json:"status"` // active, leaving, removed
	Phase   string `json:"phase"`  // joining, valid, leaving, left, removed, gone
	Owned   int    `json:"owned"`
	Pending int    `json:"pending"`
}

type ringJSON struct {
	Node       string `json:"node"`
	Version    uint64 `json:"version"`
	Digest     string `json:"digest"`
	N          int    `json:"n"`
	Partitions int    `json:"partitions"`
	// InTransfer counts partitions with a pending owner; Transfers the
	// partition-replicas pending.
	InTransfer int              `json:"partitions_in_transfer"`
	Transfers  int              `json:"transfers"`
	Members    []ringMemberJSON `json:"members"`
}

func newRing(stdio IO) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "ring",
		Short: "Show the agreed ring: version, digest, members, partitions owned and pending",
		Long: `Show the agreed ring as one node holds it: its version and digest (equal on
every node once the ring has spread), each member's status, the partitions
it owns (serves reads, counts toward W) and those it is pending for
(receives writes, counts toward nothing until its transfer is done).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				resp, s, err := fetchRing(ctx, c)
				if err != nil {
					return err
				}
				out := toRingJSON(resp, s)
				if f.json {
					return printJSON(stdio.Out, out)
				}
				return printRing(stdio, out)
			})
		},
	}
	f.register(cmd)
	cmd.AddCommand(newRingPlan(stdio))
	return cmd
}

// fetchRing asks the node for its ring and decodes it.
func fetchRing(ctx context.Context, c *client.Client) (*ringkvv1.RingResponse, membership.State, error) {
	resp, err := c.Ring(ctx)
	if err != nil {
		return nil, membership.State{}, err
	}
	if len(resp.GetState()) == 0 {
		return nil, membership.State{}, errNoRing
	}
	cfg := ring.Config{Partitions: int(resp.GetPartitions()), VNodes: int(resp.GetVnodes()), N: int(resp.GetN())}
	s, err := membership.Unmarshal(cfg, resp.GetState())
	if err != nil {
		return nil, membership.State{}, fmt.Errorf("decode the node's ring: %w", err)
	}
	return resp, s, nil
}

func toRingJSON(resp *ringkvv1.RingResponse, s membership.State) ringJSON {
	out := ringJSON{Node: resp.GetNodeId(), Version: s.Version(), Digest: digestString(s.Digest()),
		N: s.Config().N, Partitions: s.Partitions(), Members: []ringMemberJSON{}}
	for p := range s.Partitions() {
		if k := len(s.Pending(p)); k > 0 {
			out.InTransfer++
			out.Transfers += k
		}
	}
	for _, m := range s.Members() {
		out.Members = append(out.Members, ringMemberJSON{ID: m.ID, Status: m.Status.String(), Phase: m.Phase(),
			Owned: m.Owned, Pending: m.Pending})
	}
	return out
}

func printRing(stdio IO, r ringJSON) error {
	fmt.Fprintf(stdio.Out, "ring version %d, digest %s (as node %s holds it), n=%d, partitions=%d\n",
		r.Version, r.Digest, r.Node, r.N, r.Partitions)
	fmt.Fprintf(stdio.Out, "%d partitions in transfer (%d partition-replicas pending)\n\n", r.InTransfer, r.Transfers)
	tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tOWNED\tPENDING")
	for _, m := range r.Members {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", m.ID, m.Phase, m.Owned, m.Pending)
	}
	return tw.Flush()
}

// digestString prints a ring digest as 16 hex digits.
func digestString(d uint64) string { return fmt.Sprintf("%016x", d) }

type planMemberJSON struct {
	ID  string `json:"id"`
	In  int    `json:"in"`  // partition-replicas it would receive
	Out int    `json:"out"` // partition-replicas it would hand off
}

type planJSON struct {
	Changes  []string         `json:"changes"` // e.g. "join n4"
	Moved    int              `json:"moved"`   // partition-replicas that would be copied
	Replicas int              `json:"replicas"`
	Fraction float64          `json:"fraction"`
	Members  []planMemberJSON `json:"members"`
	// Bytes is not estimated yet (null): that needs each owner's
	// per-partition sizes, which come with transfers.
	Bytes *int64 `json:"bytes"`
}

func newRingPlan(stdio IO) *cobra.Command {
	var f clientFlags
	var add, remove []string
	cmd := &cobra.Command{
		Use:   "plan --add ID | --remove ID ...",
		Short: "Show what adding or removing members would move, before anything changes",
		Long: `Compute, from the node's agreed ring, which partition-replicas would move if
the given members joined (--add) or left or were removed (--remove; a leave
and a remove move the same partitions): per member and in total, and the
fraction of the ring's partition-replicas. Nothing is changed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			changes, err := planChanges(add, remove)
			if err != nil {
				return err
			}
			return f.run(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				_, s, err := fetchRing(ctx, c)
				if err != nil {
					return err
				}
				pl, err := s.Plan(changes...)
				if err != nil {
					return fmt.Errorf("plan: %w", err)
				}
				out := toPlanJSON(changes, pl)
				if f.json {
					return printJSON(stdio.Out, out)
				}
				return printPlan(stdio, out)
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringSliceVar(&add, "add", nil, "member id that would join (repeatable, or comma-separated)")
	cmd.Flags().StringSliceVar(&remove, "remove", nil, "member id that would leave or be removed (repeatable, or comma-separated)")
	return cmd
}

func planChanges(add, remove []string) ([]membership.Change, error) {
	if len(add)+len(remove) == 0 {
		return nil, errors.New("ring plan: give at least one --add or --remove")
	}
	var out []membership.Change
	for _, id := range add {
		out = append(out, membership.Change{Op: membership.OpJoin, ID: id})
	}
	for _, id := range remove {
		out = append(out, membership.Change{Op: membership.OpRemove, ID: id})
	}
	return out, nil
}

func toPlanJSON(changes []membership.Change, pl membership.Plan) planJSON {
	out := planJSON{Moved: pl.Moved, Replicas: pl.Replicas, Fraction: round4(pl.Fraction()), Members: []planMemberJSON{}}
	for _, c := range changes {
		out.Changes = append(out.Changes, c.Op.String()+" "+c.ID)
	}
	var ids []string
	for id := range pl.In {
		ids = append(ids, id)
	}
	for id := range pl.Out {
		if _, ok := pl.In[id]; !ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		out.Members = append(out.Members, planMemberJSON{ID: id, In: pl.In[id], Out: pl.Out[id]})
	}
	return out
}

func round4(f float64) float64 { return float64(int64(f*10000+0.5)) / 10000 }

func printPlan(stdio IO, p planJSON) error {
	fmt.Fprintf(stdio.Out, "plan: %v\n", p.Changes)
	fmt.Fprintf(stdio.Out, "%d of %d partition-replicas would move (fraction %.4f)\n", p.Moved, p.Replicas, p.Fraction)
	fmt.Fprintln(stdio.Out, "bytes: not estimated yet (that needs each owner's per-partition sizes; comes with transfers)")
	fmt.Fprintln(stdio.Out)
	tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tIN\tOUT")
	for _, m := range p.Members {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", m.ID, m.In, m.Out)
	}
	return tw.Flush()
}

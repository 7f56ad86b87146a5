package cli

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/client"
)

type memberJSON struct {
	ID         string `json:"id"`
	Addr       string `json:"addr"`
	GossipAddr string `json:"gossip_addr"`
	State      string `json:"state"`
	Partitions uint32 `json:"partitions"`
}

type statusJSON struct {
	Node       string       `json:"node"`
	Actor      string       `json:"actor"`
	N          uint32       `json:"n"`
	Partitions uint32       `json:"partitions"`
	Members    []memberJSON `json:"members"`
}

func newStatus(stdio IO) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the cluster as one node sees it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return f.run(cmd.Context(), func(ctx context.Context, c *client.Client) error {
				st, err := c.Status(ctx)
				if err != nil {
					return err
				}
				if f.json {
					return printJSON(stdio.Out, toStatusJSON(st))
				}
				return printStatus(stdio, st)
			})
		},
	}
	f.register(cmd)
	return cmd
}

func toStatusJSON(st *ringkvv1.StatusResponse) statusJSON {
	out := statusJSON{Node: st.GetNodeId(), Actor: st.GetActor(), N: st.GetN(), Partitions: st.GetPartitions(),
		Members: []memberJSON{}}
	for _, m := range st.GetMembers() {
		out.Members = append(out.Members, memberJSON{ID: m.GetId(), Addr: m.GetAddr(), GossipAddr: m.GetGossipAddr(),
			State: m.GetState(), Partitions: m.GetPartitions()})
	}
	return out
}

func printStatus(stdio IO, st *ringkvv1.StatusResponse) error {
	fmt.Fprintf(stdio.Out, "node %s (actor %s), n=%d, partitions=%d\n\n", st.GetNodeId(), st.GetActor(), st.GetN(), st.GetPartitions())
	tw := tabwriter.NewWriter(stdio.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tADDR\tGOSSIP\tPARTITIONS")
	for _, m := range st.GetMembers() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", m.GetId(), m.GetState(), m.GetAddr(), m.GetGossipAddr(), m.GetPartitions())
	}
	return tw.Flush()
}

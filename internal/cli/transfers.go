package cli

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/client"
)

// transferJSON is one transfer in `ringkv transfers --json`.
type transferJSON struct {
	Partition uint32  `json:"partition"`
	From      string  `json:"from"`
	To        string  `json:"to"`
	Epoch     uint64  `json:"epoch"`
	Role      string  `json:"role"` // send: this node is the donor; receive: the pending owner
	State     string  `json:"state"`
	Keys      int64   `json:"keys"`
	Bytes     int64   `json:"bytes"`
	BytesSent int64   `json:"bytes_sent"`
	Fraction  float64 `json:"fraction"`
	Rate      float64 `json:"rate_bytes_per_s"`
	ETAS      float64 `json:"eta_s"` // -1: unknown
	Attempts  uint32  `json:"failed_attempts"`
	LastError string  `json:"last_error"`
	Started   string  `json:"started"` // RFC 3339
}

type transfersJSON struct {
	Node        string         `json:"node"`
	RateLimit   float64        `json:"rate_limit_bytes_per_s"`
	Concurrency uint32         `json:"concurrency"`
	Transfers   []transferJSON `json:"transfers"`
}

func newTransfers(stdio IO) *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "transfers",
		Short: "List the partition transfers a node sends or receives",
		Long: `List the partition transfers the node sends (as the donor) or receives (as the
pending owner): partition, from, to, keys and bytes done, rate, ETA, state and
the last error. A node lists the transfers it receives from the first batch it
applied since it started.`,
		Args: cobra.NoArgs,
		RunE: show(&f, stdio, (*client.Client).Transfers, func(r *ringkvv1.TransfersResponse) any { return toTransfersJSON(r) },
			func(r *ringkvv1.TransfersResponse) error { return printTransfers(stdio.Out, r) }),
	}
	f.register(cmd)
	return cmd
}

func toTransfersJSON(resp *ringkvv1.TransfersResponse) transfersJSON {
	out := transfersJSON{Node: resp.GetNodeId(), RateLimit: resp.GetRateLimit(), Concurrency: resp.GetConcurrency(),
		Transfers: []transferJSON{}}
	for _, t := range resp.GetTransfers() {
		id := t.GetId()
		eta := -1.0
		if t.GetEtaMs() >= 0 {
			eta = round2(float64(t.GetEtaMs()) / 1000)
		}
		out.Transfers = append(out.Transfers, transferJSON{Partition: id.GetPartition(), From: id.GetFrom(), To: id.GetTo(),
			Epoch: id.GetEpoch(), Role: t.GetRole(), State: t.GetState(), Keys: t.GetKeys(), Bytes: t.GetBytes(),
			BytesSent: t.GetBytesSent(), Fraction: round2(t.GetFraction()), Rate: math.Round(t.GetRate()), ETAS: eta,
			Attempts: t.GetAttempts(), LastError: t.GetLastError(),
			Started: time.UnixMilli(t.GetStartedUnixMs()).UTC().Format(time.RFC3339)})
	}
	return out
}

func printTransfers(w io.Writer, resp *ringkvv1.TransfersResponse) error {
	noun := "transfers"
	if len(resp.GetTransfers()) == 1 {
		noun = "transfer"
	}
	fmt.Fprintf(w, "node %s: %d %s (sending at most %s/s, %d partitions at once)\n", resp.GetNodeId(),
		len(resp.GetTransfers()), noun, humanBytes(uint64(max(resp.GetRateLimit(), 0))), resp.GetConcurrency())
	if len(resp.GetTransfers()) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tFROM\tTO\tROLE\tSTATE\tKEYS\tBYTES\tDONE\tRATE\tETA\tLAST ERROR")
	for _, t := range resp.GetTransfers() {
		id := t.GetId()
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%.0f%%\t%s/s\t%s\t%s\n", id.GetPartition(), id.GetFrom(), id.GetTo(),
			t.GetRole(), t.GetState(), t.GetKeys(), humanBytes(uint64(max(t.GetBytes(), 0))), 100*t.GetFraction(),
			humanBytes(uint64(max(t.GetRate(), 0))), describeETA(t.GetEtaMs()), orDash(t.GetLastError()))
	}
	return tw.Flush()
}

func describeETA(ms int64) string {
	if ms < 0 {
		return "?"
	}
	return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
}

// describeTransfers is `ringkv status`'s line on transfers.
func describeTransfers(t *ringkvv1.TransferTotals) string {
	return fmt.Sprintf("transfers: sending %d, receiving %d; %s sent, %d keys received since start (ringkv transfers lists them)",
		t.GetSending(), t.GetReceiving(), humanBytes(uint64(max(t.GetBytesSent(), 0))), t.GetKeysReceived())
}

// transferTotals is `ringkv status --json`'s summary of transfers.
type transferTotals struct {
	Sending      uint32 `json:"sending"`
	Receiving    uint32 `json:"receiving"`
	BytesSent    int64  `json:"bytes_sent"`
	KeysReceived int64  `json:"keys_received"`
}

func toTransferTotals(t *ringkvv1.TransferTotals) transferTotals {
	return transferTotals{Sending: t.GetSending(), Receiving: t.GetReceiving(), BytesSent: t.GetBytesSent(),
		KeysReceived: t.GetKeysReceived()}
}

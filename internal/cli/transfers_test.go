package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/node"
	"github.com/ringkv/ringkv/transfers"
)

// run runs the command line in process and returns what it printed.
func run(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), args, IO{In: strings.NewReader(""), Out: &out, Err: &errOut}); code != 0 {
		t.Fatalf("ringkv %s: exit %d: %s", strings.Join(args, " "), code, errOut.String())
	}
	return out.String()
}

// `ringkv transfers` lists a running transfer on both of its nodes, as the
// donor's and as the receiver's, and `ringkv status` sums it up.
func TestTransfersCommandListsATransferOnBothSides(t *testing.T) {
	c := clustertest.New(t, 2, func(cfg *node.Config) {
		cfg.N, cfg.Partitions = 1, 16
		// One small batch at once, then one a second: the transfer runs
		// for the length of the test.
		cfg.Transfers = transfers.Config{Rate: 512, BatchKeys: 2, BatchBytes: 512}
	})
	keys := clustertest.KeysOfPartition(16, 5, 40)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, k := range keys {
		if _, err := c.Client("n1").Put(ctx, k, []byte("value"), nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	id := transfers.ID{Partition: 5, From: "n1", To: "n2", Epoch: 1}
	if res, err := c.Client("n2").GetLocal(ctx, keys[0]); err != nil || res.Found {
		id.From, id.To = "n2", "n1"
	}
	if err := c.Node(id.From).StartTransfer(id); err != nil {
		t.Fatal(err)
	}
	var got transfersJSON
	c.Eventually(10*time.Second, "the receiver lists the transfer", func() bool {
		got = transfersJSON{}
		err := json.Unmarshal([]byte(run(t, "transfers", "--json", "--addr", c.Addr(id.To))), &got)
		return err == nil && len(got.Transfers) == 1 && got.Transfers[0].Keys > 0
	})
	if r := got.Transfers[0]; r.Role != "receive" || r.State != "receiving" || r.Partition != 5 || r.From != id.From || r.To != id.To {
		t.Fatalf("the receiver lists %+v", r)
	}
	if err := json.Unmarshal([]byte(run(t, "transfers", "--json", "--addr", c.Addr(id.From))), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Transfers) != 1 || got.Transfers[0].Role != "send" || got.Transfers[0].To != id.To || got.RateLimit != 512 {
		t.Fatalf("the donor lists %+v", got)
	}
	text := run(t, "transfers", "--addr", c.Addr(id.From))
	if !strings.Contains(text, "PARTITION") || !strings.Contains(text, "send") {
		t.Fatalf("ringkv transfers prints:\n%s", text)
	}
	if st := run(t, "status", "--addr", c.Addr(id.From)); !strings.Contains(st, "transfers: sending 1, receiving 0") {
		t.Fatalf("ringkv status prints:\n%s", st)
	}
}

// Bad transfer flags are refused before the node starts.
func TestServeRefusesBadTransferFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--transfer-rate", "0"},
		{"--transfer-rate", "-5"},
		{"--transfer-concurrency", "0"},
		{"--transfer-concurrency", "100000"},
	} {
		var out, errOut bytes.Buffer
		all := append([]string{"serve", "--id", "n1", "--dir", t.TempDir(), "--listen", "127.0.0.1:0", "--gossip", "127.0.0.1:0"}, args...)
		if code := Main(context.Background(), all, IO{In: strings.NewReader(""), Out: &out, Err: &errOut}); code == 0 ||
			!strings.Contains(errOut.String(), args[0]) {
			t.Errorf("serve %v: exit %d, %q; want it refused naming the flag", args, code, errOut.String())
		}
	}
}

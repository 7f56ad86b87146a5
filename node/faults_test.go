package node_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/internal/faults"
	"github.com/ringkv/ringkv/node"
)

// startAlone starts a one-node cluster with deps, its config adjusted by opts.
func startAlone(t *testing.T, deps node.Deps, opts ...func(*node.Config)) *node.Node {
	t.Helper()
	cfg := node.Config{ID: "n1", Dir: t.TempDir(), Listen: "127.0.0.1:0", Gossip: "127.0.0.1:0", N: 1, Partitions: 16}
	for _, o := range opts {
		o(&cfg)
	}
	n, err := node.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	return n
}

func faultClient(n *node.Node) ringkvv1connect.FaultServiceClient {
	return ringkvv1connect.NewFaultServiceClient(http.DefaultClient, "http://"+n.Addr())
}

func setFaults(n *node.Node, f *ringkvv1.Faults) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := faultClient(n).SetFaults(ctx, connect.NewRequest(&ringkvv1.SetFaultsRequest{Faults: f}))
	return err
}

func TestFaultCallsNeedTheDevFaultsFlag(t *testing.T) {
	n := startAlone(t, node.Deps{})
	err := setFaults(n, &ringkvv1.Faults{SlowUs: 1000})
	if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "--dev-faults") {
		t.Fatalf("SetFaults on a node without the fault layer: %v, want FailedPrecondition naming --dev-faults", err)
	}
	_, err = faultClient(n).GetFaults(context.Background(), connect.NewRequest(&ringkvv1.GetFaultsRequest{}))
	if connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("GetFaults on a node without the fault layer: %v, want FailedPrecondition", err)
	}
}

// With the layer, bad faults are refused with InvalidArgument, good ones
// show in GetFaults and Status, and the replica service refuses calls
// from a node across the partition (named by the caller's header) while
// clients still reach the node.
func TestFaultLayerRefusesBadInputAndCutSenders(t *testing.T) {
	layer := faults.NewLayer("n1", slog.New(slog.DiscardHandler))
	n := startAlone(t, node.Deps{Faults: layer, GossipTransport: layer.Transport, Dial: layer.Dialer(nil)})
	for _, bad := range []*ringkvv1.Faults{
		{SlowUs: 11_000_000},
		{SlowDiskUs: -1},
		{SlowUs: 1 << 62},
		{Groups: []*ringkvv1.FaultGroup{{Nodes: []string{"n1"}}, {}}},
	} {
		if err := setFaults(n, bad); connect.CodeOf(err) != connect.CodeInvalidArgument {
			t.Errorf("SetFaults(%v): %v, want InvalidArgument", bad, err)
		}
	}
	good := &ringkvv1.Faults{Groups: []*ringkvv1.FaultGroup{{Nodes: []string{"n1"}}, {Nodes: []string{"n2"}}}, SlowDiskUs: 2000}
	if err := setFaults(n, good); err != nil {
		t.Fatal(err)
	}
	st := nodeStatus(t, n)
	if f := st.GetFaults(); !f.GetEnabled() || len(f.GetGroups()) != 2 || f.GetSlowDiskUs() != 2000 {
		t.Fatalf("Status shows faults %v, want the partition and the slow disk", f)
	}

	replica := ringkvv1connect.NewReplicaServiceClient(http.DefaultClient, "http://"+n.Addr())
	read := func(from string) error {
		req := connect.NewRequest(&ringkvv1.ReadRequest{Key: []byte("k")})
		if from != "" {
			req.Header().Set("Ringkv-From", from)
		}
		_, err := replica.Read(context.Background(), req)
		return err
	}
	if err := read("n2"); connect.CodeOf(err) != connect.CodeUnavailable || !strings.Contains(err.Error(), "n1 refuses calls from n2") {
		t.Fatalf("replica read from n2 across the partition: %v, want Unavailable", err)
	}
	if err := read(""); err != nil {
		t.Fatalf("replica read from an unnamed caller: %v", err)
	}
	if err := setFaults(n, &ringkvv1.Faults{}); err != nil {
		t.Fatal(err)
	}
	if err := read("n2"); err != nil {
		t.Fatalf("replica read from n2 after the heal: %v", err)
	}
}

func nodeStatus(t *testing.T, n *node.Node) *ringkvv1.StatusResponse {
	t.Helper()
	admin := ringkvv1connect.NewAdminServiceClient(http.DefaultClient, "http://"+n.Addr())
	resp, err := admin.Status(context.Background(), connect.NewRequest(&ringkvv1.StatusRequest{}))
	if err != nil {
		t.Fatal(err)
	}
	return resp.Msg
}

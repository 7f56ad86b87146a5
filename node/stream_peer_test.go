package node_test

import (
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/vclock"
)

// peerClient talks to a node's replica service as another node would.
func peerClient(t *testing.T, addr string) ringkvv1connect.ReplicaServiceClient {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	return ringkvv1connect.NewReplicaServiceClient(&http.Client{Transport: tr}, "http://"+addr)
}

// Whatever a peer puts on a replica stream, the node answers each
// operation with a clear code, applies the good ones and keeps serving.
func TestReplicaStreamAnswersBadOperationsAndKeepsServing(t *testing.T) {
	c := clustertest.New(t, 1)
	st := peerClient(t, c.Addr("n1")).Stream(ctxT(t))
	good := vclock.Update(vclock.Set{}, vclock.VV{}, 7, []byte("v"), false).Encode()
	const second = 1_000_000
	ops := []*ringkvv1.ReplicaOp{
		{Id: 1, Kind: ringkvv1.ReplicaOp_KIND_WRITE, Key: []byte("k"), Set: good, TimeoutUs: second},
		{Id: 2, Kind: ringkvv1.ReplicaOp_Kind(99), Key: []byte("k"), TimeoutUs: second},
		{Id: 3, Kind: ringkvv1.ReplicaOp_KIND_READ, TimeoutUs: second},
		{Id: 4, Kind: ringkvv1.ReplicaOp_KIND_READ, Key: make([]byte, 3000), TimeoutUs: second},
		{Id: 5, Kind: ringkvv1.ReplicaOp_KIND_WRITE, Key: []byte("k2"), Set: []byte("garbage"), TimeoutUs: second},
		{Id: 6, Kind: ringkvv1.ReplicaOp_KIND_HINT, Key: []byte("k"), Set: good, Target: "not a node id!", TimeoutUs: second},
		{Id: 7, Kind: ringkvv1.ReplicaOp_KIND_WRITE, Key: []byte("k3"), Set: good, TimeoutUs: 0},
		{Id: 8, Kind: ringkvv1.ReplicaOp_KIND_WRITE, Key: []byte("k4"), Set: good, TimeoutUs: -5},
		{Id: 9, Kind: ringkvv1.ReplicaOp_KIND_READ, Key: []byte("k"), TimeoutUs: math.MaxInt64},
	}
	if err := st.Send(&ringkvv1.ReplicaBatch{Ops: ops}); err != nil {
		t.Fatal(err)
	}
	want := map[uint64]connect.Code{1: 0, 2: connect.CodeInvalidArgument, 3: connect.CodeInvalidArgument,
		4: connect.CodeInvalidArgument, 5: connect.CodeInvalidArgument, 6: connect.CodeInvalidArgument,
		7: connect.CodeDeadlineExceeded, 8: connect.CodeDeadlineExceeded, 9: 0}
	expectCodes(t, want, func() ([]*ringkvv1.ReplicaResult, error) {
		msg, err := st.Receive()
		return msg.GetResults(), err
	})
	// A batch past the limit ends the stream with InvalidArgument.
	if err := st.Send(&ringkvv1.ReplicaBatch{Ops: slices.Repeat([]*ringkvv1.ReplicaOp{ops[0]}, 5000)}); err != nil {
		t.Fatal(err)
	}
	_, err := st.Receive()
	if connect.CodeOf(err) != connect.CodeInvalidArgument || !strings.Contains(err.Error(), "limit is 4096") {
		t.Fatalf("oversized batch: %v", err)
	}
	// The good write landed, the refused ones did not, and the node serves.
	if got := values(mustGet(t, c.Client("n1"), "k", 1)); !slices.Equal(got, []string{"v"}) {
		t.Fatalf("k = %q after the stream, want the good write", got)
	}
	for _, k := range []string{"k2", "k3", "k4"} {
		if res := mustGet(t, c.Client("n1"), k, 1); res.Found {
			t.Fatalf("%s was written by a refused operation", k)
		}
	}
}

// result is what every streamed result carries.
type result interface {
	GetId() uint64
	GetCode() uint32
	GetError() string
}

// expectCodes receives results until every operation in want has its
// answer, and checks each answer's code; a refusal must say why.
func expectCodes[R result](t *testing.T, want map[uint64]connect.Code, receive func() ([]R, error)) {
	t.Helper()
	got := map[uint64]connect.Code{}
	for len(got) < len(want) {
		results, err := receive()
		if err != nil {
			t.Fatalf("stream ended after %d answers: %v", len(got), err)
		}
		for _, r := range results {
			got[r.GetId()] = connect.Code(r.GetCode())
			if r.GetCode() != 0 && r.GetError() == "" {
				t.Errorf("op %d refused with no message", r.GetId())
			}
		}
	}
	for id, code := range want {
		if got[id] != code {
			t.Errorf("op %d answered %v, want %v", id, got[id], code)
		}
	}
}

package node_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/client"
	"github.com/ringkv/ringkv/internal/clustertest"
)

// pipelined returns a pipelined client of node id, closed at cleanup.
func pipelined(t *testing.T, c *clustertest.Cluster, id string) *client.Client {
	cl := client.New(c.Addr(id), client.Pipelined())
	t.Cleanup(cl.Close)
	return cl
}

// Many callers share one pipelined client: every write is acknowledged by
// a quorum, reads through either kind of client see it, and contexts from
// the stream work for overwrites and deletes.
func TestPipelinedClientReadsAndWritesLikeUnaryCalls(t *testing.T) {
	c := clustertest.New(t, 3)
	pc := pipelined(t, c, "n1")
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			key, val := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
			res, err := pc.Put(ctxT(t), []byte(key), []byte(val), nil, 2)
			if err != nil || len(res.Acks) < 2 || len(res.Context) == 0 {
				t.Errorf("put %s: %+v, %v", key, res, err)
				return
			}
			got, err := pc.Get(ctxT(t), []byte(key), 2)
			if err != nil || !slices.Equal(values(got), []string{val}) {
				t.Errorf("get %s through the stream: %q, %v", key, values(got), err)
			}
		})
	}
	wg.Wait()
	if got := values(mustGet(t, c.Client("n2"), "k7", 3)); !slices.Equal(got, []string{"v7"}) {
		t.Fatalf("unary get of k7 = %q", got)
	}
	cur, err := pc.Get(ctxT(t), []byte("k7"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Put(ctxT(t), []byte("k7"), []byte("w7"), cur.Context, 2); err != nil {
		t.Fatal(err)
	}
	if got := values(mustGet(t, c.Client("n3"), "k7", 2)); !slices.Equal(got, []string{"w7"}) {
		t.Fatalf("k7 after an overwrite with the stream's context = %q, want one sibling", got)
	}
	cur, _ = pc.Get(ctxT(t), []byte("k7"), 2)
	if _, err := pc.Delete(ctxT(t), []byte("k7"), cur.Context, 2); err != nil {
		t.Fatal(err)
	}
	if res := mustGet(t, c.Client("n1"), "k7", 2); res.Found {
		t.Fatalf("k7 found after a delete through the stream: %q", values(res))
	}
	if res, err := pc.GetLocal(ctxT(t), []byte("k8")); err != nil || !slices.Equal(values(res), []string{"v8"}) {
		t.Fatalf("local get of k8 through the stream: %q, %v", values(res), err)
	}
}

// A refused request gets the code and message its unary call would, once.
func TestPipelinedClientKeepsErrorsAndTheirCodes(t *testing.T) {
	c := clustertest.New(t, 3)
	pc := pipelined(t, c, "n1")
	for _, tc := range []struct {
		name string
		do   func() error
		code connect.Code
		msg  string
	}{
		{"empty key", func() error { _, err := pc.Get(ctxT(t), nil, 0); return err }, connect.CodeInvalidArgument, "key is empty"},
		{"r past n", func() error { _, err := pc.Get(ctxT(t), []byte("k"), 5); return err }, connect.CodeInvalidArgument, "r=5"},
		{"value past the limit", func() error {
			_, err := pc.Put(ctxT(t), []byte("k"), make([]byte, 1<<20+1), nil, 0)
			return err
		}, connect.CodeInvalidArgument, "limit is 1048576 bytes"},
		{"bad context", func() error {
			_, err := pc.Put(ctxT(t), []byte("k"), []byte("v"), []byte("garbage"), 0)
			return err
		}, connect.CodeInvalidArgument, "context"},
	} {
		err := tc.do()
		if connect.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: %v, want %v mentioning %q", tc.name, err, tc.code, tc.msg)
		}
		if err != nil && strings.Count(err.Error(), tc.code.String()) > 1 {
			t.Errorf("%s: code repeated in %q", tc.name, err)
		}
	}
	// The stream survived every refusal.
	if _, err := pc.Put(ctxT(t), []byte("k"), []byte("v"), nil, 0); err != nil {
		t.Fatal(err)
	}
}

// After Close, a pipelined client refuses requests instead of reopening.
func TestPipelinedClientRefusesAfterClose(t *testing.T) {
	c := clustertest.New(t, 1)
	pc := client.New(c.Addr("n1"), client.Pipelined())
	if _, err := pc.Put(ctxT(t), []byte("k"), []byte("v"), nil, 1); err != nil {
		t.Fatal(err)
	}
	pc.Close()
	_, err := pc.Get(ctxT(t), []byte("k"), 1)
	if !errors.Is(err, client.ErrClosed) && !errors.Is(err, context.Canceled) {
		t.Fatalf("get after close: %v", err)
	}
}

// Whatever a client puts on a KV stream, the node answers each operation
// with a clear code and keeps serving.
func TestKVStreamAnswersBadOperationsAndKeepsServing(t *testing.T) {
	c := clustertest.New(t, 1)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	t.Cleanup(tr.CloseIdleConnections)
	st := ringkvv1connect.NewKVServiceClient(&http.Client{Transport: tr}, "http://"+c.Addr("n1")).Stream(ctxT(t))
	const second = 1_000_000
	put := func(key string) *ringkvv1.PutRequest {
		return &ringkvv1.PutRequest{Key: []byte(key), Value: []byte("v")}
	}
	ops := []*ringkvv1.KVOp{
		{Id: 1, TimeoutUs: second, Request: &ringkvv1.KVOp_Put{Put: put("k1")}},
		{Id: 2, TimeoutUs: second},
		{Id: 3, TimeoutUs: -1, Request: &ringkvv1.KVOp_Put{Put: put("k3")}},
		{Id: 4, TimeoutUs: second, Request: &ringkvv1.KVOp_Get{Get: &ringkvv1.GetRequest{Key: make([]byte, 3000)}}},
		{Id: 5, TimeoutUs: second, Request: &ringkvv1.KVOp_Delete{Delete: &ringkvv1.DeleteRequest{Key: []byte("k1"), W: 9}}},
		{Id: 6, TimeoutUs: second, Request: &ringkvv1.KVOp_Get{}},
	}
	if err := st.Send(&ringkvv1.KVBatch{Ops: ops}); err != nil {
		t.Fatal(err)
	}
	want := map[uint64]connect.Code{1: 0, 2: connect.CodeInvalidArgument, 3: connect.CodeDeadlineExceeded,
		4: connect.CodeInvalidArgument, 5: connect.CodeInvalidArgument, 6: connect.CodeInvalidArgument}
	expectCodes(t, want, func() ([]*ringkvv1.KVResult, error) {
		msg, err := st.Receive()
		return msg.GetResults(), err
	})
	if got := values(mustGet(t, c.Client("n1"), "k1", 1)); !slices.Equal(got, []string{"v"}) {
		t.Fatalf("k1 = %q, want the good write", got)
	}
	if res := mustGet(t, c.Client("n1"), "k3", 1); res.Found {
		t.Fatal("k3 was written by an operation past its deadline")
	}
}

// A pipelined client whose node restarts fails the requests made while it
// is down, then reopens its stream and serves again.
func TestPipelinedClientReconnectsAfterItsNodeRestarts(t *testing.T) {
	c := clustertest.New(t, 1)
	pc := pipelined(t, c, "n1")
	if _, err := pc.Put(ctxT(t), []byte("k"), []byte("v"), nil, 1); err != nil {
		t.Fatal(err)
	}
	c.Stop("n1")
	if _, err := pc.Get(ctxT(t), []byte("k"), 1); err == nil {
		t.Fatal("get with the node down succeeded")
	}
	c.Restart("n1")
	c.Eventually(20*time.Second, "the pipelined client serves again", func() bool {
		res, err := pc.Get(ctxT(t), []byte("k"), 1)
		return err == nil && slices.Equal(values(res), []string{"v"})
	})
}

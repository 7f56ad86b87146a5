package node_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"runtime"
	"testing"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/internal/clustertest"
	"github.com/ringkv/ringkv/internal/opstream"
	"github.com/ringkv/ringkv/internal/testwait"
)

// A client that puts Gets of a large value on its stream and never reads
// the answers costs the node one window of answers, not one per Get: an
// answer counts against the stream's window until it is sent, so the
// node stops reading that stream, its heap stays under the window times
// the answer size, and other clients are served meanwhile. (Before, the
// node read on and kept every answer: 2,000 such Gets took its heap from
// 4 to 528 MiB.)
func TestKVStreamClientThatNeverReadsCostsOneWindow(t *testing.T) {
	const (
		valueSize = 256 << 10
		answer    = valueSize + 8<<10 // an answer holds a copy of the value, and some
		gets      = 3 * opstream.MaxInFlight
		slack     = 64 << 20 // the test's own clients, HTTP/2 buffers, the runtime
	)
	c := clustertest.New(t, 1)
	value := make([]byte, valueSize)
	rand.Read(value) // incompressible: answers over 4 KiB are gzipped
	mustPut(t, c.Client("n1"), "big", string(value), nil, 1)
	baseline := liveHeap()
	st := neverReadingStream(t, c.Addr("n1"))
	for first := 1; first <= gets; first += 100 {
		if err := st.Send(getBatch("big", uint64(first), 100)); err != nil {
			t.Fatal(err)
		}
	}
	getsOK := `ringkv_requests_total{op="Get",outcome="ok",service="KVService"}`
	testwait.Until(t, time.Minute, "the node answers a window of Gets", func() bool {
		return scrape(t, c.Addr("n1"), getsOK) >= opstream.MaxInFlight
	})
	bound := baseline + opstream.MaxInFlight*answer + slack
	for i := range 50 {
		if h := liveHeap(); h > bound {
			t.Fatalf("round %d: heap %d MiB with a client that never reads, want at most %d MiB (%d MiB before it; %.0f Gets answered)",
				i, h>>20, bound>>20, baseline>>20, scrape(t, c.Addr("n1"), getsOK))
		}
		mustPut(t, c.Client("n1"), "small", "v", nil, 1)
		mustGet(t, c.Client("n1"), "small", 1)
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// neverReadingStream opens a KV stream to addr over its own HTTP/2
// connection; the test never reads it. It is reset at cleanup, before the
// cluster closes.
func neverReadingStream(t *testing.T, addr string) *connect.BidiStreamForClient[ringkvv1.KVBatch, ringkvv1.KVResults] {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(tr.CloseIdleConnections)
	t.Cleanup(cancel)
	return ringkvv1connect.NewKVServiceClient(&http.Client{Transport: tr}, "http://"+addr).Stream(ctx)
}

// getBatch is n Gets of key with ids from first, a minute to run each.
func getBatch(key string, first uint64, n int) *ringkvv1.KVBatch {
	b := &ringkvv1.KVBatch{}
	for i := range n {
		b.Ops = append(b.Ops, &ringkvv1.KVOp{Id: first + uint64(i), TimeoutUs: int64(time.Minute / time.Microsecond),
			Request: &ringkvv1.KVOp_Get{Get: &ringkvv1.GetRequest{Key: []byte(key), R: 1}}})
	}
	return b
}

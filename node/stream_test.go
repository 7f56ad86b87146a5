package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/gossip"
	"github.com/ringkv/ringkv/internal/opstream"
	"github.com/ringkv/ringkv/internal/testwait"
)

// These tests drive a replicaStream against peers that misbehave on
// purpose, served by real Connect handlers over HTTP/2 on loopback.

type peerStream = connect.BidiStream[ringkvv1.ReplicaBatch, ringkvv1.ReplicaResults]

// fakePeer serves ReplicaService.Stream with a scripted behaviour.
type fakePeer struct {
	ringkvv1connect.UnimplementedReplicaServiceHandler
	stream func(context.Context, *peerStream) error
}

func (f fakePeer) Stream(ctx context.Context, st *peerStream) error { return f.stream(ctx, st) }

// dialFakePeer serves behaviour on loopback and opens a stream to it that
// is torn down after stall. Everything stops at cleanup.
func dialFakePeer(t *testing.T, stall time.Duration, behaviour func(context.Context, *peerStream) error) *replicaStream {
	t.Helper()
	url := serveFakePeer(t, behaviour)
	pool := newPeerPool(nil)
	t.Cleanup(pool.http.CloseIdleConnections)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	client := ringkvv1connect.NewReplicaServiceClient(pool.http, url)
	s := openStream(ctx, &wg, "peer", client, stall)
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return s
}

// serveFakePeer serves behaviour over HTTP/2 on loopback until cleanup and
// returns its URL.
func serveFakePeer(t *testing.T, behaviour func(context.Context, *peerStream) error) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(ringkvv1connect.NewReplicaServiceHandler(fakePeer{stream: behaviour}))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = serverProtocols()
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// reversingPeer answers every batch with each op's key as its set, in
// reverse order, so answers never arrive in the order ops were sent.
func reversingPeer(sizes chan<- int) func(context.Context, *peerStream) error {
	return func(_ context.Context, st *peerStream) error {
		for {
			batch, err := st.Receive()
			if err != nil {
				return nil
			}
			sizes <- len(batch.GetOps())
			var res []*ringkvv1.ReplicaResult
			for _, op := range slices.Backward(batch.GetOps()) {
				res = append(res, &ringkvv1.ReplicaResult{Id: op.GetId(), Set: op.GetKey()})
			}
			if err := st.Send(&ringkvv1.ReplicaResults{Results: res}); err != nil {
				return nil
			}
		}
	}
}

func TestStreamMatchesAnswersToCallersByID(t *testing.T) {
	sizes := make(chan int, 10000)
	s := dialFakePeer(t, time.Minute, reversingPeer(sizes))
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			key := fmt.Appendf(nil, "key-%d", i)
			got, err := replicaDo(ctx, s, ringkvv1.ReplicaOp_KIND_READ, "", key, nil)
			if err != nil || !bytes.Equal(got, key) {
				t.Errorf("caller %d got %q, %v; want its own key back", i, got, err)
			}
		})
	}
	wg.Wait()
	close(sizes)
	total := 0
	for n := range sizes {
		total += n
	}
	if total != 200 {
		t.Fatalf("peer received %d ops, want 200 (each exactly once)", total)
	}
}

func TestStreamCarriesPeerErrorsWithTheirCode(t *testing.T) {
	s := dialFakePeer(t, time.Minute, func(_ context.Context, st *peerStream) error {
		for {
			batch, err := st.Receive()
			if err != nil {
				return nil
			}
			var res []*ringkvv1.ReplicaResult
			for _, op := range batch.GetOps() {
				res = append(res, &ringkvv1.ReplicaResult{Id: op.GetId(),
					Code: uint32(connect.CodeResourceExhausted), Error: "hint budget full"})
			}
			if err := st.Send(&ringkvv1.ReplicaResults{Results: res}); err != nil {
				return nil
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := replicaDo(ctx, s, ringkvv1.ReplicaOp_KIND_HINT, "n3", []byte("k"), []byte("set"))
	if connect.CodeOf(err) != connect.CodeResourceExhausted || !strings.Contains(err.Error(), "hint budget full") {
		t.Fatalf("err = %v, want the peer's ResourceExhausted", err)
	}
}

// One slow operation does not hold back those queued behind its batch: a
// batch leaves the window of batches awaiting answers at its first
// answer, not its last.
func TestStreamSlowOperationDoesNotHoldTheWindow(t *testing.T) {
	seen := make(chan string, 100)
	release := make(chan struct{})
	s := dialFakePeer(t, time.Minute, func(_ context.Context, st *peerStream) error {
		var sendMu sync.Mutex // answers come from several goroutines
		for {
			batch, err := st.Receive()
			if err != nil {
				return nil
			}
			for _, op := range batch.GetOps() {
				answer := func() {
					sendMu.Lock()
					defer sendMu.Unlock()
					st.Send(&ringkvv1.ReplicaResults{Results: []*ringkvv1.ReplicaResult{{Id: op.GetId()}}})
				}
				key := string(op.GetKey())
				seen <- key
				switch {
				case strings.HasPrefix(key, "slow"): // never answered
				case key == "gate":
					go func() { <-release; answer() }()
				default:
					answer()
				}
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel() // the slow operations give up first
	start := func(key string) {
		wg.Go(func() { replicaDo(ctx, s, ringkvv1.ReplicaOp_KIND_READ, "", []byte(key), nil) })
	}
	waitSeen := func(key string) {
		t.Helper()
		for got := range seen {
			if got == key {
				return
			}
		}
	}
	// Two batches, unanswered: the window is full.
	start("slowA")
	waitSeen("slowA")
	start("gate")
	waitSeen("gate")
	// These two queue, then go as one batch once the gate is answered.
	start("slowB")
	fast := make(chan error, 1)
	wg.Go(func() {
		_, err := replicaDo(ctx, s, ringkvv1.ReplicaOp_KIND_READ, "", []byte("fastB"), nil)
		fast <- err
	})
	testwait.Until(t, 10*time.Second, "slowB and fastB queued", func() bool { return s.Queued() == 2 })
	close(release)
	if err := <-fast; err != nil {
		t.Fatalf("fastB: %v", err)
	}
	// slowA's batch never answers and slowB's never finishes; the window
	// still has room.
	for i := range 5 {
		if _, err := replicaDo(ctx, s, ringkvv1.ReplicaOp_KIND_READ, "", fmt.Appendf(nil, "fast%d", i), nil); err != nil {
			t.Fatalf("fast%d behind two slow operations: %v", i, err)
		}
	}
}

// A peer that reads but never answers: callers give up at their own
// deadlines, and once the operations in flight have gone unanswered for
// the stall time past their deadlines the stream fails and refuses new
// operations at once.
func TestStreamFailsWhenThePeerNeverAnswers(t *testing.T) {
	s := dialFakePeer(t, 300*time.Millisecond, func(_ context.Context, st *peerStream) error {
		for {
			if _, err := st.Receive(); err != nil {
				return nil
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := replicaDo(ctx, s, ringkvv1.ReplicaOp_KIND_WRITE, "", []byte("k"), []byte("set")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
	testwait.Until(t, 10*time.Second, "the silent peer's stream fails", func() bool { return ended(s) })
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Hour)
	defer cancel2()
	_, err := replicaDo(ctx2, s, ringkvv1.ReplicaOp_KIND_READ, "", []byte("k"), nil)
	if err == nil || !strings.Contains(err.Error(), "unanswered") {
		t.Fatalf("err = %v, want the stream's failure", err)
	}
}

// A peer that stops reading: once HTTP/2 flow control fills, Send blocks.
// Each operation fails at its own deadline; once the peer has left every
// operation in flight unanswered for the stall time past its deadline, it
// is stuck: the stream is torn down, which unblocks Send, and new
// operations are refused at once.
func TestStreamFailsWhenThePeerStopsReading(t *testing.T) {
	s := dialFakePeer(t, 300*time.Millisecond, func(ctx context.Context, _ *peerStream) error {
		<-ctx.Done()
		return nil
	})
	big := make([]byte, 900<<10) // two of these fill the peer's 1 MiB window
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := replicaDo(ctx, s, ringkvv1.ReplicaOp_KIND_WRITE, "", fmt.Appendf(nil, "k%d", i), big)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("op %d: %v, want its own deadline", i, err)
			}
		})
	}
	wg.Wait()
	testwait.Until(t, 10*time.Second, "the stuck peer's stream fails", func() bool { return ended(s) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	_, err := replicaDo(ctx, s, ringkvv1.ReplicaOp_KIND_READ, "", []byte("k"), nil)
	if err == nil || !strings.Contains(err.Error(), "unanswered") {
		t.Fatalf("err = %v, want the stream's failure", err)
	}
}

// A peer slower than the stall time is not a stuck one: an operation
// whose own deadline has not passed is waited for, whether the peer holds
// its answer (the batch goes unanswered) or stops reading for a while (the
// send blocks under HTTP/2 flow control), and even while an operation it
// lost is long past its own deadline. Issue 10: a stream was torn down 5 s
// after its oldest batch went unanswered, failing every operation in
// flight whatever their deadlines.
func TestStreamWaitsOutEachOperationsOwnDeadline(t *testing.T) {
	const answerAfter = opstream.DefaultStall + time.Second
	for _, tc := range []struct {
		name string
		peer func(context.Context, *peerStream) error
		size int
	}{
		{"peer answers late", answeringAfter(answerAfter), 0},
		{"peer reads late", readingAfter(answerAfter), 900 << 10}, // two of these fill the peer's 1 MiB window
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := dialFakePeer(t, opstream.DefaultStall, tc.peer)
			lost, cancelLost := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancelLost()
			if _, err := replicaDo(lost, s, ringkvv1.ReplicaOp_KIND_READ, "", []byte("lost"), nil); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("lost op: %v, want its own deadline", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			for i := range 3 {
				wg.Go(func() {
					key := fmt.Appendf(nil, "k%d", i)
					got, err := replicaDo(ctx, s, ringkvv1.ReplicaOp_KIND_WRITE, "", key, make([]byte, tc.size))
					if err != nil || !bytes.Equal(got, key) {
						t.Errorf("op %d with 20 s to run, over a peer that answers after %v: %q, %v", i, answerAfter, got, err)
					}
				})
			}
			wg.Wait()
		})
	}
}

// answeringAfter answers each operation with its key, d after reading it,
// except those whose key is "lost".
func answeringAfter(d time.Duration) func(context.Context, *peerStream) error {
	return func(ctx context.Context, st *peerStream) error {
		var sendMu sync.Mutex // answers come from timers
		var answers sync.WaitGroup
		defer answers.Wait() // the stream ends when this returns
		for {
			batch, err := st.Receive()
			if err != nil {
				return nil
			}
			for _, op := range batch.GetOps() {
				if string(op.GetKey()) == "lost" {
					continue
				}
				answers.Add(1)
				time.AfterFunc(d, func() {
					defer answers.Done()
					sendMu.Lock()
					defer sendMu.Unlock()
					st.Send(&ringkvv1.ReplicaResults{Results: []*ringkvv1.ReplicaResult{{Id: op.GetId(), Set: op.GetKey()}}})
				})
			}
		}
	}
}

// readingAfter reads nothing for d, then answers each operation with its
// key at once, except those whose key is "lost".
func readingAfter(d time.Duration) func(context.Context, *peerStream) error {
	return func(ctx context.Context, st *peerStream) error {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return nil
		}
		return answeringAfter(0)(ctx, st)
	}
}

// ended reports whether s has failed.
func ended(s *replicaStream) bool {
	_, err := s.Failure()
	return err != nil
}

// A peer that refuses every stream: operations fail with its error, and
// streams are reopened only after a backoff, not once per operation.
func TestStreamReopensOnlyAfterABackoff(t *testing.T) {
	var opens atomic.Int32
	url := serveFakePeer(t, func(context.Context, *peerStream) error {
		opens.Add(1)
		return connect.NewError(connect.CodeUnavailable, errors.New("not taking streams"))
	})
	p := newPeers("n1", nil, nil, 1<<20, nil)
	t.Cleanup(p.close)
	p.setAddrs(map[string]gossip.Member{"n2": {RPCAddr: strings.TrimPrefix(url, "http://")}})
	for range 200 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := p.Read(ctx, "n2", []byte("k"))
		cancel()
		if err == nil {
			t.Fatal("read through a peer that refuses streams succeeded")
		}
	}
	if n := opens.Load(); n < 1 || n > 20 {
		t.Fatalf("200 failing operations opened %d streams; want a few (backoff), not one each", n)
	}
}

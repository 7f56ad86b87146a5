package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/pprof"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/quorum"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/vclock"
)

// routes mounts every service and /metrics on one mux.
func (n *Node) routes() http.Handler {
	mux := http.NewServeMux()
	// A client message carries one value plus key and context, or a batch
	// of streamed requests cut at 1 MiB; a replica message may carry a
	// full sibling set.
	clientMax := max(n.cfg.MaxValueBytes, 1<<20) + MaxKeyBytes + 64<<10
	replicaMax := n.cfg.MaxValueBytes*(n.cfg.MaxSiblings+1) + 64<<10
	// Compress only responses big enough to gain from it, for clients
	// that ask for gzip.
	icpt := connect.WithHandlerOptions(connect.WithInterceptors(n.metrics.interceptor()), connect.WithCompressMinBytes(4<<10))
	// Client requests, and writes other nodes forward, pass admission;
	// replica streams are bounded per stream instead.
	admit := connect.WithInterceptors(n.admit.interceptor())
	mux.Handle(ringkvv1connect.NewKVServiceHandler(kvHandler{n}, icpt, admit, connect.WithReadMaxBytes(clientMax)))
	mux.Handle(ringkvv1connect.NewAdminServiceHandler(adminHandler{n}, icpt, connect.WithReadMaxBytes(64<<10)))
	peer := connect.WithHandlerOptions() // the fault layer's refusals come first
	if n.faults != nil {
		peer = connect.WithInterceptors(refuser{n.faults})
	}
	mux.Handle(ringkvv1connect.NewReplicaServiceHandler(replicaHandler{n}, peer, icpt, admit, connect.WithReadMaxBytes(replicaMax)))
	mux.Handle(ringkvv1connect.NewAntiEntropyServiceHandler(entropyHandler{n}, peer, icpt, connect.WithReadMaxBytes(1<<20)))
	mux.Handle(ringkvv1connect.NewTransferServiceHandler(transferHandler{n}, peer, icpt, connect.WithReadMaxBytes(n.transferReadMax())))
	mux.Handle(ringkvv1connect.NewFaultServiceHandler(faultHandler{n}, icpt, connect.WithReadMaxBytes(64<<10)))
	mux.Handle("/metrics", promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{}))
	if n.cfg.EnablePprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	}
	return mux
}

// withDeadline gives a request without a deadline the default one, and caps
// an extravagant one, so nothing waits unbounded.
func (n *Node) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	limit := time.Now().Add(10 * n.cfg.RequestTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(limit) {
		return context.WithCancel(ctx)
	}
	if _, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, limit)
	}
	return context.WithTimeout(ctx, n.cfg.RequestTimeout)
}

func (n *Node) checkKey(key []byte) error {
	if len(key) == 0 {
		return connect.NewError(connect.CodeInvalidArgument, errors.New("key is empty; keys are 1..2048 bytes"))
	}
	if len(key) > MaxKeyBytes {
		return connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("key is %d bytes; the limit is %d bytes", len(key), MaxKeyBytes))
	}
	return nil
}

func (n *Node) checkValue(value []byte) error {
	if len(value) > n.cfg.MaxValueBytes {
		return connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("value is %d bytes; the limit is %d bytes (--max-value-bytes)", len(value), n.cfg.MaxValueBytes))
	}
	return nil
}

func decodeContext(b []byte) (vclock.VV, error) {
	if len(b) == 0 {
		return vclock.VV{}, nil
	}
	vv, err := vclock.DecodeVV(b)
	if err == nil {
		err = checkCounters(vv)
	}
	if err != nil {
		return vclock.VV{}, connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("context is not one ringkv returned (pass the context from a get, or none): %w", err))
	}
	return vv, nil
}

// maxContextCounter bounds a client context's counters far above anything
// a replica mints (2^48 writes), so a forged context cannot push a
// replica's counter to overflow.
const maxContextCounter = 1 << 48

func checkCounters(vv vclock.VV) error {
	for _, e := range vv.Entries() {
		if e.Counter > maxContextCounter {
			return fmt.Errorf("counter %d of actor %v is beyond any real write", e.Counter, e.Actor)
		}
	}
	return nil
}

// notReplicaHeader marks a forwarded write refused by a node that is not
// a replica of its key in its own view: it stored nothing, so the
// forwarder may try another replica.
const notReplicaHeader = "Ringkv-Not-Replica"

// rpcError converts a library error into a Connect error at the edge.
func rpcError(err error) error {
	var ce *connect.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce) && ce == err:
		return err // a peer's answer, passed through as it came
	case errors.Is(err, quorum.ErrInvalidQuorum):
		return connect.NewError(connect.CodeInvalidArgument, err)
	case errors.Is(err, quorum.ErrNotReplica):
		ce := connect.NewError(connect.CodeFailedPrecondition, err)
		ce.Meta().Set(notReplicaHeader, "1")
		return ce
	case errors.Is(err, storage.ErrTooManySiblings):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, quorum.ErrIndeterminate), errors.Is(err, quorum.ErrTooFewReplies):
		return connect.NewError(connect.CodeUnavailable, err)
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, err)
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, err)
	case errors.Is(err, storage.ErrClosed):
		return connect.NewError(connect.CodeUnavailable, err)
	case errors.Is(err, storage.ErrHintBudget), errors.Is(err, storage.ErrDiskFull):
		return connect.NewError(connect.CodeResourceExhausted, err)
	default:
		return connect.NewError(connect.CodeInternal, err)
	}
}

// localReplica is the coordinator's access to this node's storage.
type localReplica struct{ n *Node }

func (l localReplica) Update(_ context.Context, key []byte, wctx vclock.VV, value []byte, tombstone bool) (vclock.Set, func() error, error) {
	return l.n.store.UpdateAsync(key, wctx, value, tombstone, l.n.cfg.MaxSiblings)
}

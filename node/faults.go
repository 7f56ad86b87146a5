package node

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/internal/faults"
)

// The dev-only fault layer (serve --dev-faults, Deps.Faults): a node that
// has it names itself on every call to a peer (fromHeader), and refuses
// replica and anti-entropy calls from a node on the other side of a
// partition, so a cut holds both ways even when the far side never heard
// of it (it was paused, or restarted). Without the layer none of this is
// installed.

// fromHeader carries the calling node's id on peer calls.
const fromHeader = "Ringkv-From"

// errFaultsOff answers the fault calls of a node started without the layer.
var errFaultsOff = errors.New("node: the fault layer is off on this node: start it with `ringkv serve --dev-faults` (ringkv dev does)")

// sender sets fromHeader on every call of a peer client.
type sender string

func (s sender) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set(fromHeader, string(s))
		return next(ctx, req)
	}
}

func (s sender) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set(fromHeader, string(s))
		return conn
	}
}

func (s sender) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// refuser refuses the peer calls of nodes the fault layer cuts off: a
// unary call when it arrives, a stream at its start and at every message,
// since a stream opened before the partition may go on after it. A call
// it lets through names its connection for the layer, which can then
// close it at a partition and delay this node's answers on it.
type refuser struct{ layer *faults.Layer }

// connKey holds, in a request's context, the connection it came on.
type connKey struct{}

// withConn is the server's ConnContext while the fault layer is on.
func withConn(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, c)
}

func (r refuser) check(ctx context.Context, h http.Header) error {
	from := h.Get(fromHeader)
	if err := r.layer.Refuses(from); err != nil {
		return connect.NewError(connect.CodeUnavailable, err)
	}
	if c, ok := ctx.Value(connKey{}).(net.Conn); ok {
		r.layer.Named(c, from)
	}
	return nil
}

func (r refuser) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if err := r.check(ctx, req.Header()); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (r refuser) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (r refuser) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := r.check(ctx, conn.RequestHeader()); err != nil {
			return err
		}
		return next(ctx, refusingConn{conn, r, ctx})
	}
}

type refusingConn struct {
	connect.StreamingHandlerConn
	r   refuser
	ctx context.Context
}

func (c refusingConn) Receive(m any) error {
	if err := c.r.check(c.ctx, c.RequestHeader()); err != nil {
		return err
	}
	return c.StreamingHandlerConn.Receive(m)
}

// faultHandler serves FaultService.
type faultHandler struct{ n *Node }

func (h faultHandler) SetFaults(_ context.Context, req *connect.Request[ringkvv1.SetFaultsRequest]) (*connect.Response[ringkvv1.SetFaultsResponse], error) {
	l := h.n.faults
	if l == nil {
		return nil, connect.NewError(connect.CodeFailedPrecondition, errFaultsOff)
	}
	if err := l.Set(specFromProto(req.Msg.GetFaults())); err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	return connect.NewResponse(&ringkvv1.SetFaultsResponse{Faults: faultsProto(l)}), nil
}

func (h faultHandler) GetFaults(context.Context, *connect.Request[ringkvv1.GetFaultsRequest]) (*connect.Response[ringkvv1.GetFaultsResponse], error) {
	if h.n.faults == nil {
		return nil, connect.NewError(connect.CodeFailedPrecondition, errFaultsOff)
	}
	return connect.NewResponse(&ringkvv1.GetFaultsResponse{Faults: faultsProto(h.n.faults)}), nil
}

// specFromProto converts f; Validate checks what it holds.
func specFromProto(f *ringkvv1.Faults) faults.Spec {
	s := faults.Spec{Slow: time.Duration(f.GetSlowUs()) * time.Microsecond,
		SlowDisk: time.Duration(f.GetSlowDiskUs()) * time.Microsecond}
	if f.GetSlowUs() > int64(faults.MaxDelay/time.Microsecond) {
		s.Slow = faults.MaxDelay + 1 // refused, without overflowing
	}
	if f.GetSlowDiskUs() > int64(faults.MaxDelay/time.Microsecond) {
		s.SlowDisk = faults.MaxDelay + 1
	}
	for _, g := range f.GetGroups() {
		s.Groups = append(s.Groups, g.GetNodes())
	}
	return s
}

// faultsProto is the faults in force on a node with layer l (nil: off).
func faultsProto(l *faults.Layer) *ringkvv1.Faults {
	if l == nil {
		return &ringkvv1.Faults{}
	}
	s := l.Get()
	f := &ringkvv1.Faults{Enabled: true, SlowUs: s.Slow.Microseconds(), SlowDiskUs: s.SlowDisk.Microseconds()}
	for _, g := range s.Groups {
		f.Groups = append(f.Groups, &ringkvv1.FaultGroup{Nodes: g})
	}
	return f
}

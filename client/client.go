// Package client is a small Go client for ringkv's Connect API. The CLI and
// the benchmark use it; any gRPC or Connect client works as well.
//
// A Client talks to one node, which coordinates each request. Contexts are
// opaque bytes: pass the one a Get returned to the next Put or Delete of the
// same key so the write replaces exactly the siblings it read.
package client

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/internal/opstream"
)

// Client is safe for concurrent use.
type Client struct {
	http  *http.Client
	kv    ringkvv1connect.KVServiceClient
	admin ringkvv1connect.AdminServiceClient
	pipe  *pipeline // nil: one unary call per request
}

// maxPipelinedBytes is the request size past which a pipelined client
// makes a call of its own (see Pipelined).
const maxPipelinedBytes = 64 << 10

// Option configures a Client.
type Option func(*options)

type options struct {
	httpClient *http.Client
	pipelined  bool
}

// WithHTTPClient uses hc instead of the default HTTP/2-without-TLS client.
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.httpClient = hc } }

// Pipelined sends Get, Put and Delete on one long-lived stream
// (KVService.Stream) instead of a call each: requests made while earlier
// ones are in flight travel together, which costs the client and the node
// far less CPU per request under concurrency. Results and errors are the
// same. Writes bigger than 64 KiB still go as calls of their own: they
// gain nothing from sharing a message and would hold up those behind them.
// A request without a deadline gets 5 seconds, what a node's default
// --request-timeout gives a unary one. It needs HTTP/2 (the default
// client's); call Close when done.
func Pipelined() Option { return func(o *options) { o.pipelined = true } }

// New returns a client of the node at addr ("host:port" or a URL).
func New(addr string, opts ...Option) *Client {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.httpClient == nil {
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		o.httpClient = &http.Client{Transport: opstream.Transport(tr)}
	}
	base := addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	// No gzip: for small values on a LAN it costs more CPU than it saves.
	noGzip := connect.WithAcceptCompression("gzip", nil, nil)
	c := &Client{
		http:  o.httpClient,
		kv:    ringkvv1connect.NewKVServiceClient(o.httpClient, base, noGzip),
		admin: ringkvv1connect.NewAdminServiceClient(o.httpClient, base, noGzip),
	}
	if o.pipelined {
		c.pipe = newPipeline(addr, c.kv)
	}
	return c
}

// Close ends the pipeline's stream, if any, and releases idle
// connections. Requests still waiting on the stream fail.
func (c *Client) Close() {
	if c.pipe != nil {
		c.pipe.close()
	}
	c.http.CloseIdleConnections()
}

// GetResult is what a read returns.
type GetResult struct {
	Found   bool
	Values  [][]byte // one per live sibling
	Context []byte   // pass to the next write of this key
	Replied []string // replicas whose answers were merged
}

// Get reads key; r is how many replicas must reply (0: the default quorum).
func (c *Client) Get(ctx context.Context, key []byte, r int) (GetResult, error) {
	lvl, err := level("r", r)
	if err != nil {
		return GetResult{}, err
	}
	return c.get(ctx, &ringkvv1.GetRequest{Key: key, R: lvl})
}

// level is a request's R or W for the wire, where 0 asks for the node's
// default; the node refuses values over N with the limits named.
func level(name string, v int) (uint32, error) {
	if v < 0 || v > math.MaxUint32 {
		return 0, connect.NewError(connect.CodeInvalidArgument,
			fmt.Errorf("%s=%d is outside 1..N (0 or none: the default, quorum)", name, v))
	}
	return uint32(v), nil
}

// GetLocal reads only the node's own replica of key: no quorum, no read
// repair. It shows what one replica holds, e.g. to watch data arrive.
func (c *Client) GetLocal(ctx context.Context, key []byte) (GetResult, error) {
	return c.get(ctx, &ringkvv1.GetRequest{Key: key, Local: true})
}

func (c *Client) get(ctx context.Context, req *ringkvv1.GetRequest) (GetResult, error) {
	var m *ringkvv1.GetResponse
	if c.pipe != nil && len(req.GetKey()) <= maxPipelinedBytes {
		r, err := c.pipe.do(ctx, &ringkvv1.KVOp{Request: &ringkvv1.KVOp_Get{Get: req}})
		if err != nil {
			return GetResult{}, err
		}
		m = r.GetGet()
	} else {
		resp, err := c.kv.Get(ctx, connect.NewRequest(req))
		if err != nil {
			return GetResult{}, err
		}
		m = resp.Msg
	}
	return GetResult{Found: m.GetFound(), Values: m.GetValues(), Context: m.GetContext(), Replied: m.GetReplied()}, nil
}

// Ack is one replica's durable acknowledgement of a write.
type Ack struct {
	Node    string
	HintFor string // set when Node stored the write as a hint for that replica
}

// WriteResult is what a put or delete returns.
type WriteResult struct {
	Context []byte
	Acks    []Ack
}

// Put writes value under the context from an earlier Get (nil: a blind
// write); w is how many replicas must acknowledge (0: the default quorum).
func (c *Client) Put(ctx context.Context, key, value, wctx []byte, w int) (WriteResult, error) {
	lvl, err := level("w", w)
	if err != nil {
		return WriteResult{}, err
	}
	req := &ringkvv1.PutRequest{Key: key, Value: value, Context: wctx, W: lvl}
	if c.pipe != nil && len(key)+len(value)+len(wctx) <= maxPipelinedBytes {
		r, err := c.pipe.do(ctx, &ringkvv1.KVOp{Request: &ringkvv1.KVOp_Put{Put: req}})
		if err != nil {
			return WriteResult{}, err
		}
		return writeResult(r.GetPut().GetContext(), r.GetPut().GetAcks()), nil
	}
	resp, err := c.kv.Put(ctx, connect.NewRequest(req))
	if err != nil {
		return WriteResult{}, err
	}
	return writeResult(resp.Msg.GetContext(), resp.Msg.GetAcks()), nil
}

// Delete writes a tombstone under the context from an earlier Get.
func (c *Client) Delete(ctx context.Context, key, wctx []byte, w int) (WriteResult, error) {
	lvl, err := level("w", w)
	if err != nil {
		return WriteResult{}, err
	}
	req := &ringkvv1.DeleteRequest{Key: key, Context: wctx, W: lvl}
	if c.pipe != nil && len(key)+len(wctx) <= maxPipelinedBytes {
		r, err := c.pipe.do(ctx, &ringkvv1.KVOp{Request: &ringkvv1.KVOp_Delete{Delete: req}})
		if err != nil {
			return WriteResult{}, err
		}
		return writeResult(r.GetDelete().GetContext(), r.GetDelete().GetAcks()), nil
	}
	resp, err := c.kv.Delete(ctx, connect.NewRequest(req))
	if err != nil {
		return WriteResult{}, err
	}
	return writeResult(resp.Msg.GetContext(), resp.Msg.GetAcks()), nil
}

func writeResult(wctx []byte, acks []*ringkvv1.Ack) WriteResult {
	res := WriteResult{Context: wctx, Acks: make([]Ack, len(acks))}
	for i, a := range acks {
		res.Acks[i] = Ack{Node: a.GetNode(), HintFor: a.GetHintFor()}
	}
	return res
}

// Status returns the cluster as the node sees it.
// Ring returns the node's agreed ring (decode its State with package
// membership).
func (c *Client) Ring(ctx context.Context) (*ringkvv1.RingResponse, error) {
	resp, err := c.admin.Ring(ctx, connect.NewRequest(&ringkvv1.RingRequest{}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func (c *Client) Status(ctx context.Context) (*ringkvv1.StatusResponse, error) {
	resp, err := c.admin.Status(ctx, connect.NewRequest(&ringkvv1.StatusRequest{}))
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

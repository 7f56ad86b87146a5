package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/gossip"
	"github.com/ringkv/ringkv/internal/opstream"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/vclock"
)

// errUnknownPeer is returned for a node whose address gossip has not told us.
var errUnknownPeer = errors.New("node: no address known for peer")

// peers is the quorum.Replicas transport. Foreground operations for other
// nodes ride one long-lived stream per peer (replicaStream); background
// work (hint delivery, anti-entropy repairs) rides a second stream per
// peer on connections of its own, so it never queues in front of
// foreground writes (tree comparisons are unary calls on those
// connections). This node's own replica is reached by direct Pebble
// calls. Replica traffic is not compressed: on a LAN gzip costs more CPU
// than it saves.
type peers struct {
	self      string
	store     *storage.Store
	storeHint func(target string, key []byte, set vclock.Set) error // this node's hint store
	maxRead   int
	fg, bulk  peerPool // foreground streams; background calls

	// clientOpts are added to every peer client's options.
	clientOpts []connect.ClientOption

	// observe, when set, records each foreground operation sent to a peer.
	observe func(peer string, kind ringkvv1.ReplicaOp_Kind, err error, d time.Duration)

	ctx     context.Context // ends the streams on close
	cancel  context.CancelFunc
	streams sync.WaitGroup // the streams' goroutines

	mu       sync.Mutex
	addrs    map[string]string
	open     map[string]*streamSlot // foreground streams, by address
	bulkOpen map[string]*streamSlot // background streams, by address
}

// peerPool is one HTTP/2 client and the replica clients on it, by address.
type peerPool struct {
	http    *http.Client
	clients map[string]ringkvv1connect.ReplicaServiceClient
	entropy map[string]entropyClient
	// transfer holds the TransferService clients (bulk pool only).
	transfer map[string]transferClient
}

// entropyClient is a peer's anti-entropy service.
type entropyClient = ringkvv1connect.AntiEntropyServiceClient

// newPeerPool's connections are opened by dial; nil means a net.Dialer.
func newPeerPool(dial dialFunc) peerPool {
	tr := &http.Transport{Protocols: new(http.Protocols), DialContext: dial}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return peerPool{http: &http.Client{Transport: opstream.Transport(tr)}, clients: map[string]ringkvv1connect.ReplicaServiceClient{},
		entropy: map[string]entropyClient{}, transfer: map[string]transferClient{}}
}

// entropyClient returns node id's anti-entropy client, on the bulk
// connections like hint delivery.
func (p *peers) entropyClient(id string) (entropyClient, error) {
	return bulkClient(p, p.bulk.entropy, id, ringkvv1connect.NewAntiEntropyServiceClient)
}

// bulkClient returns the client of node id cached in m, made by mk on the
// bulk connections the first time.
func bulkClient[C any](p *peers, m map[string]C, id string, mk func(connect.HTTPClient, string, ...connect.ClientOption) C) (C, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr, err := p.addrLocked(id)
	if err != nil {
		var none C
		return none, err
	}
	c, ok := m[addr]
	if !ok {
		c = mk(p.bulk.http, "http://"+addr, p.options()...)
		m[addr] = c
	}
	return c, nil
}

// dialFunc opens a connection to a peer, as net.Dialer.DialContext does.
type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

func newPeers(self string, store *storage.Store, storeHint func(string, []byte, vclock.Set) error, maxRead int, dial dialFunc) *peers {
	ctx, cancel := context.WithCancel(context.Background())
	return &peers{self: self, store: store, storeHint: storeHint, maxRead: maxRead,
		fg: newPeerPool(dial), bulk: newPeerPool(dial), ctx: ctx, cancel: cancel,
		addrs: map[string]string{}, open: map[string]*streamSlot{}, bulkOpen: map[string]*streamSlot{}}
}

// stream returns the open foreground stream to node id, opening one if
// there is none or, after a backoff, if the last one failed (see
// opstream.Slot).
func (p *peers) stream(id string) (*replicaStream, error) { return p.streamIn(&p.fg, p.open, id) }

// bulkStream is stream for background work, on the bulk connections.
func (p *peers) bulkStream(id string) (*replicaStream, error) {
	return p.streamIn(&p.bulk, p.bulkOpen, id)
}

func (p *peers) streamIn(pool *peerPool, open map[string]*streamSlot, id string) (*replicaStream, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr, err := p.addrLocked(id)
	if err != nil {
		return nil, err
	}
	slot := open[addr]
	if slot == nil {
		slot = &streamSlot{}
		open[addr] = slot
	}
	return slot.Get(time.Now(), func() (*replicaStream, error) {
		if p.ctx.Err() != nil {
			return nil, storage.ErrClosed
		}
		c, err := p.clientLocked(pool, id)
		if err != nil {
			return nil, err
		}
		return openStream(p.ctx, &p.streams, id, c, opstream.DefaultStall), nil
	})
}

// streamSlot is the stream to one peer address.
type streamSlot = opstream.Slot[ringkvv1.ReplicaBatch, ringkvv1.ReplicaOp, ringkvv1.ReplicaResults, ringkvv1.ReplicaResult]

// do runs one foreground operation on node id's stream.
func (p *peers) do(ctx context.Context, id string, kind ringkvv1.ReplicaOp_Kind, target string, key, set []byte) ([]byte, error) {
	start := time.Now()
	s, err := p.stream(id)
	var res []byte
	if err == nil {
		res, err = replicaDo(ctx, s, kind, target, key, set)
	}
	if p.observe != nil {
		p.observe(id, kind, err, time.Since(start))
	}
	return res, err
}

func (p *peers) setAddrs(members map[string]gossip.Member) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, m := range members {
		if m.RPCAddr != "" {
			p.addrs[id] = m.RPCAddr
		}
	}
}

func (p *peers) clientIn(pool *peerPool, id string) (ringkvv1connect.ReplicaServiceClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clientLocked(pool, id)
}

// options are the peer clients' options.
func (p *peers) options() []connect.ClientOption {
	return append([]connect.ClientOption{connect.WithAcceptCompression("gzip", nil, nil), connect.WithReadMaxBytes(p.maxRead)},
		p.clientOpts...)
}

// addrLocked is node id's address; the caller holds p.mu.
func (p *peers) addrLocked(id string) (string, error) {
	addr, ok := p.addrs[id]
	if !ok {
		return "", fmt.Errorf("%w %s", errUnknownPeer, id)
	}
	return addr, nil
}

// clientLocked is clientIn for a caller that holds p.mu.
func (p *peers) clientLocked(pool *peerPool, id string) (ringkvv1connect.ReplicaServiceClient, error) {
	addr, err := p.addrLocked(id)
	if err != nil {
		return nil, err
	}
	c, ok := pool.clients[addr]
	if !ok {
		c = ringkvv1connect.NewReplicaServiceClient(pool.http, "http://"+addr, p.options()...)
		pool.clients[addr] = c
	}
	return c, nil
}

func (p *peers) Read(ctx context.Context, node string, key []byte) ([]byte, error) {
	if node == p.self {
		return p.store.ReadRaw(key)
	}
	return p.do(ctx, node, ringkvv1.ReplicaOp_KIND_READ, "", key, nil)
}

func (p *peers) Write(ctx context.Context, node string, key, set []byte) error {
	if node == p.self {
		s, err := vclock.Decode(set)
		if err != nil {
			return err
		}
		_, err = p.store.Merge(key, s)
		return err
	}
	_, err := p.do(ctx, node, ringkvv1.ReplicaOp_KIND_WRITE, "", key, set)
	return err
}

func (p *peers) Hint(ctx context.Context, node, target string, key, set []byte) error {
	if node == p.self {
		s, err := vclock.Decode(set)
		if err != nil {
			return err
		}
		return p.storeHint(target, key, s)
	}
	_, err := p.do(ctx, node, ringkvv1.ReplicaOp_KIND_HINT, target, key, set)
	return err
}

// bulkWrite is Write on node's background stream, for hint delivery and
// anti-entropy repairs: batched like foreground writes, but never queued
// in front of them.
func (p *peers) bulkWrite(ctx context.Context, node string, key, set []byte) error {
	_, err := p.bulkDo(ctx, node, ringkvv1.ReplicaOp_KIND_WRITE, key, set)
	return err
}

// bulkRead is Read on node's background stream.
func (p *peers) bulkRead(ctx context.Context, node string, key []byte) ([]byte, error) {
	return p.bulkDo(ctx, node, ringkvv1.ReplicaOp_KIND_READ, key, nil)
}

func (p *peers) bulkDo(ctx context.Context, node string, kind ringkvv1.ReplicaOp_Kind, key, set []byte) ([]byte, error) {
	s, err := p.bulkStream(node)
	if err != nil {
		return nil, err
	}
	return replicaDo(ctx, s, kind, "", key, set)
}

// close ends every stream and closes idle connections.
func (p *peers) close() {
	p.mu.Lock() // stream opens streams under mu only while ctx lives
	p.cancel()
	p.mu.Unlock()
	p.streams.Wait()
	p.fg.http.CloseIdleConnections()
	p.bulk.http.CloseIdleConnections()
}

// isDialError reports whether err means the request never reached the
// peer, so retrying elsewhere cannot apply it twice.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.Is(err, errUnknownPeer) || (errors.As(err, &op) && op.Op == "dial")
}

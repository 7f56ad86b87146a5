package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"connectrpc.com/connect"

	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/api/ringkv/v1/ringkvv1connect"
	"github.com/ringkv/ringkv/gossip"
	"github.com/ringkv/ringkv/vclock"
)

// errUnknownPeer is returned for a node whose address gossip has not told us.
var errUnknownPeer = errors.New("node: no address known for peer")

// peers is the quorum.Replicas transport: unary Connect calls to other
// nodes, and direct Pebble calls for this node. Replica traffic is not
// compressed: on a LAN gzip costs more CPU than it saves.
type peers struct {
	self      string
	store     *Store
	storeHint func(target string, key []byte, set vclock.Set) error // this node's hint store
	maxRead   int
	fg, bulk  peerPool // foreground requests; hint delivery (its own connections)

	mu    sync.Mutex
	addrs map[string]string
}

// peerPool is one HTTP/2 client and the replica clients on it, by address.
type peerPool struct {
	http    *http.Client
	clients map[string]ringkvv1connect.ReplicaServiceClient
	entropy map[string]entropyClient
}

// entropyClient is a peer's anti-entropy service.
type entropyClient = ringkvv1connect.AntiEntropyServiceClient

func newPeerPool() peerPool {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return peerPool{http: &http.Client{Transport: tr}, clients: map[string]ringkvv1connect.ReplicaServiceClient{},
		entropy: map[string]entropyClient{}}
}

// entropyClient returns node id's anti-entropy client, on the bulk
// connections like hint delivery.
func (p *peers) entropyClient(id string) (entropyClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr, ok := p.addrs[id]
	if !ok {
		return nil, fmt.Errorf("%w %s", errUnknownPeer, id)
	}
	c, ok := p.bulk.entropy[addr]
	if !ok {
		c = ringkvv1connect.NewAntiEntropyServiceClient(p.bulk.http, "http://"+addr,
			connect.WithAcceptCompression("gzip", nil, nil), connect.WithReadMaxBytes(p.maxRead))
		p.bulk.entropy[addr] = c
	}
	return c, nil
}

func newPeers(self string, store *Store, storeHint func(string, []byte, vclock.Set) error, maxRead int) *peers {
	return &peers{self: self, store: store, storeHint: storeHint, maxRead: maxRead,
		fg: newPeerPool(), bulk: newPeerPool(), addrs: map[string]string{}}
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

// client returns the foreground replica client for node id.
func (p *peers) client(id string) (ringkvv1connect.ReplicaServiceClient, error) {
	return p.clientIn(&p.fg, id)
}

func (p *peers) clientIn(pool *peerPool, id string) (ringkvv1connect.ReplicaServiceClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr, ok := p.addrs[id]
	if !ok {
		return nil, fmt.Errorf("%w %s", errUnknownPeer, id)
	}
	c, ok := pool.clients[addr]
	if !ok {
		c = ringkvv1connect.NewReplicaServiceClient(pool.http, "http://"+addr,
			connect.WithAcceptCompression("gzip", nil, nil), connect.WithReadMaxBytes(p.maxRead))
		pool.clients[addr] = c
	}
	return c, nil
}

func (p *peers) Read(ctx context.Context, node string, key []byte) ([]byte, error) {
	if node == p.self {
		return p.store.ReadRaw(key)
	}
	return p.readIn(ctx, &p.fg, node, key)
}

// readIn reads key from a remote node over pool's connections.
func (p *peers) readIn(ctx context.Context, pool *peerPool, node string, key []byte) ([]byte, error) {
	c, err := p.clientIn(pool, node)
	if err != nil {
		return nil, err
	}
	resp, err := c.Read(ctx, connect.NewRequest(&ringkvv1.ReadRequest{Key: key}))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetSet(), nil
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
	return p.writeIn(ctx, &p.fg, node, key, set)
}

// writeIn merges set into a remote node's copy over pool's connections.
func (p *peers) writeIn(ctx context.Context, pool *peerPool, node string, key, set []byte) error {
	c, err := p.clientIn(pool, node)
	if err != nil {
		return err
	}
	_, err = c.Write(ctx, connect.NewRequest(&ringkvv1.WriteRequest{Key: key, Set: set}))
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
	c, err := p.client(node)
	if err != nil {
		return err
	}
	_, err = c.Hint(ctx, connect.NewRequest(&ringkvv1.HintRequest{Target: target, Key: key, Set: set}))
	return err
}

// bulkWrite is Write over the bulk connections, for background work (hint
// delivery, anti-entropy repairs), so it never queues in front of
// foreground requests.
func (p *peers) bulkWrite(ctx context.Context, node string, key, set []byte) error {
	return p.writeIn(ctx, &p.bulk, node, key, set)
}

// bulkRead is Read over the bulk connections.
func (p *peers) bulkRead(ctx context.Context, node string, key []byte) ([]byte, error) {
	return p.readIn(ctx, &p.bulk, node, key)
}

func (p *peers) close() {
	p.fg.http.CloseIdleConnections()
	p.bulk.http.CloseIdleConnections()
}

// isDialError reports whether err means the request never reached the
// peer, so retrying elsewhere cannot apply it twice.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.Is(err, errUnknownPeer) || (errors.As(err, &op) && op.Op == "dial")
}

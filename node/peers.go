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
	self    string
	store   *Store
	http    *http.Client
	maxRead int

	mu      sync.Mutex
	addrs   map[string]string
	clients map[string]ringkvv1connect.ReplicaServiceClient // by address
}

func newPeers(self string, store *Store, maxRead int) *peers {
	tr := &http.Transport{Protocols: new(http.Protocols), MaxIdleConnsPerHost: 4}
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &peers{self: self, store: store, http: &http.Client{Transport: tr}, maxRead: maxRead,
		addrs: map[string]string{}, clients: map[string]ringkvv1connect.ReplicaServiceClient{}}
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

// client returns the replica client for node id.
func (p *peers) client(id string) (ringkvv1connect.ReplicaServiceClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	addr, ok := p.addrs[id]
	if !ok {
		return nil, fmt.Errorf("%w %s", errUnknownPeer, id)
	}
	c, ok := p.clients[addr]
	if !ok {
		c = ringkvv1connect.NewReplicaServiceClient(p.http, "http://"+addr,
			connect.WithAcceptCompression("gzip", nil, nil), connect.WithReadMaxBytes(p.maxRead))
		p.clients[addr] = c
	}
	return c, nil
}

func (p *peers) Read(ctx context.Context, node string, key []byte) ([]byte, error) {
	if node == p.self {
		return p.store.ReadRaw(key)
	}
	c, err := p.client(node)
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
	c, err := p.client(node)
	if err != nil {
		return err
	}
	_, err = c.Write(ctx, connect.NewRequest(&ringkvv1.WriteRequest{Key: key, Set: set}))
	return err
}

func (p *peers) close() { p.http.CloseIdleConnections() }

// isDialError reports whether err means the request never reached the
// peer, so retrying elsewhere cannot apply it twice.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.Is(err, errUnknownPeer) || (errors.As(err, &op) && op.Op == "dial")
}

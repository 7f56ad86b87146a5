package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hashicorp/memberlist"
	"golang.org/x/time/rate"

	"github.com/ringkv/ringkv/gossip"
	"github.com/ringkv/ringkv/internal/faults"
	"github.com/ringkv/ringkv/quorum"
	"github.com/ringkv/ringkv/storage"
	"github.com/ringkv/ringkv/vclock"
)

// Deps are the seams a Node is built on. Every field is optional; the zero
// value selects the real thing.
type Deps struct {
	FS         vfs.FS                   // Pebble's filesystem; nil → disk
	Listener   net.Listener             // the API listener; nil → listen on Config.Listen
	TuneGossip func(*memberlist.Config) // adjusts memberlist timings (tests)
	// GossipTransport wraps memberlist's network transport, and Dial opens
	// the connections to peers' API servers (nil → a net.Dialer): tests
	// partition a cluster through both (see internal/faults).
	GossipTransport func(memberlist.NodeAwareTransport) memberlist.NodeAwareTransport
	Dial            func(ctx context.Context, network, addr string) (net.Conn, error)
	// Faults is the dev-only fault layer (serve --dev-faults), which the
	// caller also puts in the seams above; nil leaves it off: then the
	// node does not name itself on peer calls, refuses none, and answers
	// FaultService with FailedPrecondition.
	Faults *faults.Layer
}

// Node is one running ringkv server.
type Node struct {
	cfg      Config
	log      *slog.Logger
	store    *storage.Store
	gossip   *gossip.Gossip
	view     atomic.Pointer[view]
	viewMu   sync.Mutex    // serialises replacing the view
	ringMu   sync.Mutex    // serialises changes of the agreed ring (merges, join)
	ringKick chan struct{} // capacity 1: compare ring digests with peers now
	ringIn   chan []byte   // capacity 1: a ring a peer sent in push/pull
	coord    *quorum.Coordinator
	peers    *peers
	admit    *admission
	metrics  *metrics
	srv      *http.Server
	handlers *inflight // the server's handlers running
	addr     string
	faults   *faults.Layer // nil unless serve --dev-faults

	handoff   *handoff
	entropy   *entropy
	xfer      *transferHost // partition transfers, both sides
	hintsIn   atomic.Uint64 // hints stored here
	hintsDrop atomic.Uint64 // hints refused by the budget
	// suspicions counts members seen going from alive to suspect.
	suspicions atomic.Uint64

	changed   chan struct{} // membership changed; capacity 1
	draining  chan struct{} // closed when the server shuts down: streams end
	stop      chan struct{}
	loops     sync.WaitGroup
	closeOnce sync.Once
	stopped   chan struct{} // closed when Close's shutdown is done
	closeErr  error
}

// New opens the data directory, joins the cluster and starts serving. The
// returned Node runs until Close.
func New(cfg Config, deps Deps) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	n := &Node{cfg: cfg, log: cfg.Logger.With("node", cfg.ID), changed: make(chan struct{}, 1), ringKick: make(chan struct{}, 1), ringIn: make(chan []byte, 1),
		draining: make(chan struct{}), stop: make(chan struct{}), stopped: make(chan struct{})}
	store, err := storage.Open(storage.Options{Dir: cfg.Dir, FS: deps.FS, Logger: n.log, TreeDepth: cfg.TreeDepth,
		Settings: storage.Settings{N: cfg.N, Partitions: cfg.Partitions}, MinSyncInterval: max(cfg.MinSyncInterval, 0),
		DiskReserveBytes: cfg.DiskReserveBytes, DiskBallastBytes: cfg.DiskBallastBytes})
	if err != nil {
		return nil, err
	}
	n.store = store
	if err := n.start(deps); err != nil {
		n.abort()
		return nil, err
	}
	return n, nil
}

func (n *Node) start(deps Deps) error {
	n.faults = deps.Faults
	if err := n.startTransfers(); err != nil {
		return err
	}
	ln := deps.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", n.cfg.Listen); err != nil {
			return fmt.Errorf("node: listen on %s: %w", n.cfg.Listen, err)
		}
	}
	n.addr = ln.Addr().String()
	if n.faults != nil {
		ln = n.faults.Listener(ln)
	}
	n.peers = newPeers(n.cfg.ID, n.store, n.storeHint, n.cfg.MaxValueBytes*(n.cfg.MaxSiblings+1), deps.Dial)
	if n.faults != nil {
		n.peers.clientOpts = []connect.ClientOption{connect.WithInterceptors(sender(n.cfg.ID))}
	}
	n.coord = quorum.New(quorum.Config{Self: n.cfg.ID, N: n.cfg.N, Replicas: n.peers,
		Local: localReplica{n}, Timeout: n.cfg.RequestTimeout, ReplicaTimeout: n.cfg.ReplicaTimeout,
		HintedHandoff: !n.cfg.DisableHintedHandoff, Healthy: n.healthy})
	n.handoff = n.newHandoff()
	n.entropy = n.newEntropy()
	n.metrics = newMetrics(n)
	n.peers.observe = n.metrics.observeReplicaOp
	n.admit = newAdmission(n.cfg.MaxRequests)
	n.handlers = newInflight()
	n.srv = &http.Server{Handler: n.handlers.wrap(n.routes()), ReadHeaderTimeout: 10 * time.Second, Protocols: serverProtocols()}
	if n.faults != nil {
		n.srv.ConnContext = withConn
	}
	// Shutdown waits for connections to fall idle; peers' replica streams
	// never would, so they end when it starts.
	n.srv.RegisterOnShutdown(func() { close(n.draining) })
	// Gossip and the agreed ring come before serving: every handler may
	// rely on both. Peers' calls wait in the listen backlog meanwhile,
	// under their own deadlines.
	initial, err := n.initialRing()
	if err != nil {
		ln.Close()
		return err
	}
	n.view.Store(&view{agreed: initial, routes: routesOf(initial)})
	g, err := gossip.New(n.gossipConfig(deps))
	if err == nil {
		n.gossip = g
		err = n.startRing(initial)
	}
	if err != nil {
		ln.Close()
		return err
	}
	n.loops.Go(func() {
		if err := n.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("api server stopped", "err", err)
		}
	})
	n.loops.Go(n.watchMembership)
	n.loops.Go(n.ringSyncLoop)
	hctx, cancel := context.WithCancel(context.Background())
	n.loops.Go(func() { <-n.stop; cancel() })
	n.loops.Go(func() { n.handoff.run(hctx) })
	if !n.cfg.DisableAntiEntropy {
		n.loops.Go(func() { n.entropy.run(hctx) })
	}
	n.log.Info("node started", "addr", n.addr, "gossip", g.LocalAddr(), "actor", fmt.Sprintf("%016x", uint64(n.store.Actor())))
	return nil
}

func (n *Node) gossipConfig(deps Deps) gossip.Config {
	gc := gossip.DefaultConfig()
	gc.NodeID = n.cfg.ID
	gc.BindAddr = n.cfg.Gossip
	gc.RPCAddr = n.addr
	gc.Seeds = n.cfg.Seeds
	gc.Settings = gossip.Settings{N: n.cfg.N, Partitions: n.cfg.Partitions}
	gc.JoinTimeout = n.cfg.JoinTimeout
	gc.PhiThreshold = n.cfg.PhiThreshold
	gc.HeartbeatInterval = n.cfg.HeartbeatInterval
	gc.Logger = n.log.With("component", "gossip")
	gc.Tune = deps.TuneGossip
	gc.WrapTransport = deps.GossipTransport
	gc.OnChange = n.notifyChanged
	gc.RingState, gc.OnRing = n.localRingState, n.receivedRing
	var known []gossip.Member
	if _, err := n.store.LoadMembers(&known); err != nil {
		n.log.Warn("ignoring remembered members", "err", err)
	}
	gc.Known = known
	return gc
}

// healthy says whether requests should go to node id: this node always,
// others while gossip finds them alive and the phi detector does not
// suspect them.
func (n *Node) healthy(id string) bool {
	return id == n.cfg.ID || (n.gossip != nil && n.gossip.Healthy(id))
}

// storeHint keeps a version set here as a hint for target.
func (n *Node) storeHint(target string, key []byte, set vclock.Set) error {
	err := n.store.StoreHint(target, key, set, time.Now(), n.cfg.HintBudgetBytes)
	switch {
	case err == nil:
		n.hintsIn.Add(1)
	case errors.Is(err, storage.ErrHintBudget):
		n.hintsDrop.Add(1)
	}
	return err
}

func (n *Node) newHandoff() *handoff {
	return &handoff{
		store: n.store, send: n.peers.bulkWrite, healthy: n.healthy,
		log:         n.log.With("component", "handoff"),
		limiter:     rate.NewLimiter(rate.Limit(n.cfg.HandoffRate), max(1, n.cfg.HandoffConcurrency)),
		concurrency: n.cfg.HandoffConcurrency, window: n.cfg.HintWindow, now: time.Now,
		kick: make(chan struct{}, 1), backoff: map[string]retryState{},
	}
}

// Addr is the address the API listens on.
func (n *Node) Addr() string { return n.addr }

// ID is the node's id.
func (n *Node) ID() string { return n.cfg.ID }

// GossipAddr is the address memberlist listens on.
func (n *Node) GossipAddr() string { return n.gossip.LocalAddr() }

// ErrCloseTimeout is returned by a Close whose context ended before the
// node had stopped.
var ErrCloseTimeout = errors.New("node: close did not finish before its deadline")

// Close leaves gossip, stops accepting requests, lets in-flight ones finish
// (until ctx ends), waits for background replica calls and closes Pebble.
// It returns when the node has stopped or when ctx ends, whichever comes
// first: storage that cannot close (a hung disk, a write that never syncs)
// must not keep a process from exiting. When ctx ends first, Close returns
// ErrCloseTimeout and the shutdown goes on in the background; the caller
// should exit, which loses nothing acknowledged (every acknowledged write
// is synced). It is idempotent: a later call waits for the same shutdown.
func (n *Node) Close(ctx context.Context) error {
	n.closeOnce.Do(func() {
		go func() {
			defer close(n.stopped)
			n.shutdown(ctx)
		}()
	})
	select {
	case <-n.stopped:
		return n.closeErr
	default:
	}
	select {
	case <-n.stopped:
		return n.closeErr
	case <-ctx.Done():
		n.log.Error("node did not stop in time; giving up on a clean shutdown", "err", context.Cause(ctx))
		return fmt.Errorf("%w: %w", ErrCloseTimeout, context.Cause(ctx))
	}
}

// shutdown is Close's work.
func (n *Node) shutdown(ctx context.Context) {
	if n.gossip != nil {
		if err := n.gossip.Leave(time.Second); err != nil {
			n.log.Warn("gossip leave", "err", err)
		}
	}
	if err := n.srv.Shutdown(ctx); err != nil {
		n.log.Warn("api shutdown", "err", err)
		n.srv.Close()
	}
	n.handlers.closeAndWait()
	n.coord.Wait()
	n.abort()
	n.log.Info("node stopped")
}

// abort releases whatever start acquired, in reverse order.
func (n *Node) abort() {
	close(n.stop)
	if n.srv != nil {
		n.srv.Close()
	}
	if n.gossip != nil {
		n.gossip.Close()
	}
	n.loops.Wait()
	if n.peers != nil {
		n.peers.close()
	}
	n.closeErr = n.store.Close()
}

// serverProtocols serves HTTP/1.1 (plain curl with JSON) and HTTP/2
// without TLS (gRPC, streams) on one port.
func serverProtocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

// DotConflicts counts the merges on this node, since it started, that met
// one dot with two different contents (ringkv_dot_conflicts_total).
func (n *Node) DotConflicts() uint64 { return n.store.DotConflicts() }

// hintsDropped counts hints refused by the budget or expired by the window.
func (n *Node) hintsDropped() uint64 { return n.hintsDrop.Load() + n.handoff.dropped.Load() }

package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"

	"github.com/ringkv/ringkv/client"
)

// UpdateMode is how the ringkv driver writes without a token (UPDATE
// operations; inserts are always blind writes of new keys).
type UpdateMode string

const (
	// Blind writes with no context, as YCSB's update is one write. In
	// ringkv a blind write keeps whatever the key holds as siblings, so
	// a key updated blindly again and again gathers siblings until the
	// node's limit (--max-siblings, 100) refuses further writes.
	Blind UpdateMode = "blind"
	// ReadFirst reads the key's context, then writes under it: an
	// overwrite, as a ringkv application does it, costing a read and a
	// write (both inside the operation's latency).
	ReadFirst UpdateMode = "read-first"
	// Remembered writes under the last context this driver saw for the
	// key (from any worker's read or write answer), as an application
	// that keeps what it read would: one write per update, and siblings
	// only between writes that were truly concurrent. Keys it has not
	// seen are written blindly. The default.
	Remembered UpdateMode = "remembered"
)

// contextCache remembers the latest context per key, bounded: a full
// shard forgets an arbitrary key.
type contextCache struct {
	shards [64]struct {
		mu sync.Mutex
		m  map[string][]byte
	}
}

// contextCacheShardCap bounds the cache to 64 × this many keys.
const contextCacheShardCap = 1 << 14

func (c *contextCache) shard(key []byte) int { return int(xxhash.Sum64(key) % uint64(len(c.shards))) }

func (c *contextCache) get(key []byte) []byte {
	sh := &c.shards[c.shard(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.m[string(key)]
}

func (c *contextCache) put(key, wctx []byte) {
	sh := &c.shards[c.shard(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.m == nil {
		sh.m = map[string][]byte{}
	}
	if _, ok := sh.m[string(key)]; !ok && len(sh.m) >= contextCacheShardCap {
		for k := range sh.m {
			delete(sh.m, k)
			break
		}
	}
	sh.m[string(key)] = wctx
}

// RingkvOptions configure the ringkv driver.
type RingkvOptions struct {
	R, W    int        // replicas per read / write; 0 → the node's quorum
	Updates UpdateMode // zero → Remembered
	// Unary makes one call per request instead of pipelining every
	// worker's requests to a node on one stream (client.Pipelined).
	Unary bool
}

// Ringkv is the driver for a ringkv cluster: requests go round-robin to
// the given nodes, each of which coordinates the requests it receives.
type Ringkv struct {
	addrs   []string
	clients []*client.Client
	next    atomic.Uint64
	opts    RingkvOptions
	seen    contextCache // Remembered mode only
}

// NewRingkv returns a driver of the nodes at addrs ("host:port" or URLs).
func NewRingkv(addrs []string, opts RingkvOptions) (*Ringkv, error) {
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: no node addresses", ErrInvalid)
	}
	switch opts.Updates {
	case "":
		opts.Updates = Remembered
	case Blind, ReadFirst, Remembered:
	default:
		return nil, fmt.Errorf("%w: update mode %q (want %s, %s or %s)", ErrInvalid, opts.Updates, Remembered, Blind, ReadFirst)
	}
	d := &Ringkv{opts: opts, addrs: append([]string(nil), addrs...)}
	for _, a := range addrs {
		if opts.Unary {
			d.clients = append(d.clients, client.New(a))
		} else {
			d.clients = append(d.clients, client.New(a, client.Pipelined()))
		}
	}
	return d, nil
}

func (d *Ringkv) pick() *client.Client {
	return d.clients[(d.next.Add(1)-1)%uint64(len(d.clients))]
}

// Get reads key with R replicas; the token is its causal context.
func (d *Ringkv) Get(ctx context.Context, key []byte) ([]byte, bool, error) {
	res, err := d.pick().Get(ctx, key, d.opts.R)
	if err != nil {
		return nil, false, err
	}
	d.remember(key, res.Context)
	return res.Context, res.Found, nil
}

func (d *Ringkv) remember(key, wctx []byte) {
	if d.opts.Updates == Remembered {
		d.seen.put(key, wctx)
	}
}

// Put writes with W acknowledgements under token (a context from Get).
// Without a token it writes blindly, or reads the context first in
// ReadFirst mode.
func (d *Ringkv) Put(ctx context.Context, key, value, token []byte) error {
	switch {
	case token != nil:
	case d.opts.Updates == ReadFirst:
		res, err := d.pick().Get(ctx, key, d.opts.R)
		if err != nil {
			return fmt.Errorf("read the context before writing: %w", err)
		}
		token = res.Context
	case d.opts.Updates == Remembered:
		token = d.seen.get(key)
	}
	res, err := d.pick().Put(ctx, key, value, token, d.opts.W)
	if err == nil {
		d.remember(key, res.Context)
	}
	return err
}

// Insert writes a new key blindly in every mode: it has no context to
// read.
func (d *Ringkv) Insert(ctx context.Context, key, value []byte) error {
	res, err := d.pick().Put(ctx, key, value, nil, d.opts.W)
	if err == nil {
		d.remember(key, res.Context)
	}
	return err
}

// Close releases every connection.
func (d *Ringkv) Close() error {
	for _, c := range d.clients {
		c.Close()
	}
	return nil
}

// Describe says what the driver measures, for Options.Target.
func (d *Ringkv) Describe() string {
	level := func(n int) string {
		if n == 0 {
			return "quorum"
		}
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("ringkv at %s (r=%s, w=%s, %s updates)", strings.Join(d.addrs, ","), level(d.opts.R), level(d.opts.W), d.opts.Updates)
}

var (
	_ Driver   = (*Ringkv)(nil)
	_ Inserter = (*Ringkv)(nil)
)

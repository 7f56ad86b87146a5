package node

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/time/rate"

	"github.com/ringkv/ringkv/antientropy"
	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/vclock"
)

// entropy runs anti-entropy: partition by partition, it compares this
// node's Merkle tree with another healthy replica's, descends only into
// differing subtrees, and syncs the differing keys both ways through the
// normal replica write path (so trees and metrics see the repair). A full
// pass over the partitions this node replicates is paced to take 3/4 of
// Interval, so every partition is compared at least once per Interval even
// when some exchanges are slow. The position and each partition's last
// exchange are persisted: a restarted node resumes where it stopped, and
// its entropy age counts the time it was down.
//
// It also reaps tombstones: a tombstone-only key older than the grace
// period is deleted once every other primary of its partition was found
// holding exactly what this node holds, by an exchange that started after
// this node first held the tombstone.
type entropy struct {
	n        *Node
	log      *slog.Logger
	interval time.Duration
	grace    time.Duration
	limiter  *rate.Limiter // keys repaired per second
	now      func() time.Time
	started  time.Time

	mu        sync.Mutex
	cursor    int                          // next partition to visit
	turn      map[int]int                  // per partition: which other replica is next
	exchanged map[int]time.Time            // per partition: last completed exchange
	verified  map[int]map[string]time.Time // per partition, per peer: start of the last exchange that found no difference

	exchanges, pulled, pushed, bytes, reaped atomic.Uint64
}

var metaAECursor = []byte("maecursor")

// metaAEExchanged is the meta key of partition p's last completed exchange
// (Unix nanoseconds, 8 bytes big-endian).
func metaAEExchanged(p int) []byte {
	return binary.BigEndian.AppendUint32([]byte("maeexchanged"), uint32(p))
}

func (n *Node) newEntropy() *entropy {
	e := &entropy{
		n: n, log: n.log.With("component", "anti-entropy"), interval: n.cfg.AntiEntropyInterval,
		grace: n.cfg.TombstoneGrace, now: time.Now, started: time.Now(),
		limiter:   rate.NewLimiter(rate.Limit(n.cfg.AntiEntropyRepairRate), 64),
		turn:      map[int]int{},
		exchanged: map[int]time.Time{},
		verified:  map[int]map[string]time.Time{},
	}
	if raw, err := n.store.getRaw(metaAECursor); err == nil && len(raw) == 8 {
		e.cursor = int(binary.BigEndian.Uint64(raw)) % n.cfg.Partitions
	}
	for p := range n.cfg.Partitions {
		if raw, err := n.store.getRaw(metaAEExchanged(p)); err == nil && len(raw) == 8 {
			e.exchanged[p] = time.Unix(0, int64(binary.BigEndian.Uint64(raw)))
		}
	}
	return e
}

// run visits one partition per tick until ctx ends.
func (e *entropy) run(ctx context.Context) {
	tick := time.NewTicker(max(time.Millisecond, e.interval*3/4/time.Duration(e.n.cfg.Partitions)))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if p, ok := e.next(); ok {
			e.visit(ctx, p)
		}
	}
}

// next returns the next partition this node replicates, advancing and
// persisting the cursor.
func (e *entropy) next() (int, bool) {
	v := e.n.view.Load()
	parts := e.n.cfg.Partitions
	e.mu.Lock()
	defer e.mu.Unlock()
	for range parts {
		p := e.cursor
		e.cursor = (e.cursor + 1) % parts
		if e.replicates(v, p) {
			_ = e.n.store.setMeta(metaAECursor, binary.BigEndian.AppendUint64(nil, uint64(e.cursor)))
			return p, true
		}
	}
	return 0, false
}

func (e *entropy) replicates(v *view, p int) bool {
	for _, id := range v.ring.Preference(p) {
		if id == e.n.cfg.ID {
			return true
		}
	}
	return false
}

// visit exchanges partition p with its next healthy replica, then reaps
// what it may.
func (e *entropy) visit(ctx context.Context, p int) {
	peer, ok := e.peerFor(p)
	if !ok {
		return
	}
	start := e.now()
	diffs, err := e.exchange(ctx, p, peer)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Debug("exchange failed", "partition", p, "peer", peer, "err", err)
		}
		return
	}
	done := e.now()
	_ = e.n.store.setMeta(metaAEExchanged(p), binary.BigEndian.AppendUint64(nil, uint64(done.UnixNano())))
	e.mu.Lock()
	e.exchanged[p] = done
	if diffs == 0 {
		if e.verified[p] == nil {
			e.verified[p] = map[string]time.Time{}
		}
		e.verified[p][peer] = start
	}
	e.mu.Unlock()
	e.reap(p)
}

// peerFor picks the other primaries of p in turn, skipping unhealthy ones.
func (e *entropy) peerFor(p int) (string, bool) {
	var others []string
	for _, id := range e.n.view.Load().ring.Preference(p) {
		if id != e.n.cfg.ID && e.n.healthy(id) {
			others = append(others, id)
		}
	}
	if len(others) == 0 {
		return "", false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.turn[p]++
	return others[e.turn[p]%len(others)], true
}

// exchange compares p's trees with peer and repairs what differs. It
// returns how many keys differed other than tombstones one side has
// already reaped (or never needed): for reaping, a replica lacking a key is
// as safe as one holding its tombstone.
func (e *entropy) exchange(ctx context.Context, p int, peer string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	remote, err := e.n.peers.entropyClient(peer)
	if err != nil {
		return 0, err
	}
	diffs, stats, err := antientropy.Compare(ctx, localSide{e.n.store, p}, remoteSide{remote, p}, e.n.store.trees.cfg, p)
	e.exchanges.Add(1)
	e.bytes.Add(uint64(stats.Bytes))
	if err != nil {
		return 0, err
	}
	return e.repairAll(ctx, peer, diffs)
}

// repairAll repairs the differing keys, a few at a time to hide round
// trips, paced by the repair rate. It returns how many differed other than
// tombstones one side lacks, and the first error.
func (e *entropy) repairAll(ctx context.Context, peer string, diffs []antientropy.Diff) (int, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var differing atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, repairConcurrency)
	for _, d := range diffs {
		if e.limiter.Wait(ctx) != nil {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			lacksTombstone, err := e.repair(ctx, peer, d)
			switch {
			case err != nil:
				cancel(err)
			case !lacksTombstone:
				differing.Add(1)
			}
		})
	}
	wg.Wait()
	return int(differing.Load()), context.Cause(ctx)
}

// repairConcurrency bounds the keys one exchange repairs at once.
const repairConcurrency = 8

// repair syncs one differing key with peer in both directions. It reports
// whether the difference was only a tombstone that one side lacks, which
// it leaves alone: lacking a key reads the same as its tombstone, and the
// lack may be a tombstone already reaped.
func (e *entropy) repair(ctx context.Context, peer string, d antientropy.Diff) (bool, error) {
	local, err := e.n.store.Read(d.Key)
	if err != nil {
		return false, err
	}
	raw, err := e.n.peers.bulkRead(ctx, peer, d.Key)
	if err != nil {
		return false, err
	}
	var remote vclock.Set
	if len(raw) > 0 {
		if remote, err = vclock.Decode(raw); err != nil {
			return false, err
		}
	}
	e.bytes.Add(uint64(len(raw)))
	if (local.IsEmpty() && tombstoneOnly(remote)) || (remote.IsEmpty() && tombstoneOnly(local)) {
		return true, nil
	}
	merged := vclock.Sync(local, remote)
	if !vclock.Equal(merged, local) {
		if _, err := e.n.store.Merge(d.Key, remote); err != nil {
			return false, err
		}
		e.pulled.Add(1)
	}
	if !vclock.Equal(merged, remote) {
		enc := merged.Encode()
		e.bytes.Add(uint64(len(enc)))
		if err := e.n.peers.bulkWrite(ctx, peer, d.Key, enc); err != nil {
			return false, err
		}
		e.pushed.Add(1)
	}
	return false, nil
}

// reap deletes p's tombstones that are past the grace period and that
// every other primary of p was verified to hold.
func (e *entropy) reap(p int) {
	others := e.otherPrimaries(p)
	lo, hi := e.n.store.trees.hashRange(p)
	now := e.now()
	err := e.n.store.ScanTombstones(lo, hi, func(ts Tombstone) bool {
		if now.Sub(ts.Since) < e.grace || !e.allVerifiedSince(p, others, ts.Since) {
			return true
		}
		if ok, _ := e.n.store.Reap(ts.Key, ts.Digest); ok {
			e.reaped.Add(1)
		}
		return true
	})
	if err != nil && !errors.Is(err, ErrClosed) {
		e.log.Warn("reap tombstones", "partition", p, "err", err)
	}
}

func (e *entropy) otherPrimaries(p int) []string {
	var out []string
	for _, id := range e.n.view.Load().ring.Preference(p) {
		if id != e.n.cfg.ID {
			out = append(out, id)
		}
	}
	return out
}

func (e *entropy) allVerifiedSince(p int, peers []string, since time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, peer := range peers {
		if !e.verified[p][peer].After(since) {
			return false
		}
	}
	return true
}

// age is the entropy age: how long ago the least recently exchanged
// partition this node replicates was last exchanged (since start if never).
func (e *entropy) age() time.Duration {
	v := e.n.view.Load()
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	oldest := now
	for p := range e.n.cfg.Partitions {
		if !e.replicates(v, p) {
			continue
		}
		t, ok := e.exchanged[p]
		if !ok {
			t = e.started
		}
		if t.Before(oldest) {
			oldest = t
		}
	}
	return now.Sub(oldest)
}

// localSide answers an exchange from this node's trees and Pebble.
type localSide struct {
	store *Store
	p     int
}

func (l localSide) Hashes(_ context.Context, level int, indexes []int) ([]uint64, error) {
	return l.store.TreeHashes(l.p, level, indexes)
}

func (l localSide) Keys(_ context.Context, leaves []int) ([]antientropy.KeyDigest, error) {
	return l.store.LeafKeys(l.p, leaves)
}

// remoteSide asks a peer's AntiEntropyService.
type remoteSide struct {
	c entropyClient
	p int
}

func (r remoteSide) Hashes(ctx context.Context, level int, indexes []int) ([]uint64, error) {
	req := &ringkvv1.TreeHashesRequest{Partition: uint32(r.p), Level: uint32(level), Indexes: toU32(indexes)}
	resp, err := r.c.TreeHashes(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetHashes(), nil
}

func (r remoteSide) Keys(ctx context.Context, leaves []int) ([]antientropy.KeyDigest, error) {
	resp, err := r.c.LeafKeys(ctx, connect.NewRequest(&ringkvv1.LeafKeysRequest{Partition: uint32(r.p), Leaves: toU32(leaves)}))
	if err != nil {
		return nil, err
	}
	keys, digests := resp.Msg.GetKeys(), resp.Msg.GetDigests()
	if len(keys) != len(digests) {
		return nil, errors.New("node: leaf keys and digests differ in number")
	}
	out := make([]antientropy.KeyDigest, len(keys))
	for i := range keys {
		out[i] = antientropy.KeyDigest{Key: keys[i], Digest: digests[i]}
	}
	return out, nil
}

func toU32(xs []int) []uint32 {
	out := make([]uint32, len(xs))
	for i, x := range xs {
		out[i] = uint32(x)
	}
	return out
}

func (e *entropy) status() *ringkvv1.AntiEntropy {
	return &ringkvv1.AntiEntropy{
		Enabled:          !e.n.cfg.DisableAntiEntropy,
		Exchanges:        e.exchanges.Load(),
		KeysPulled:       e.pulled.Load(),
		KeysPushed:       e.pushed.Load(),
		Bytes:            e.bytes.Load(),
		EntropyAgeMs:     e.age().Milliseconds(),
		IntervalMs:       e.interval.Milliseconds(),
		TreeBytes:        uint64(e.n.store.TreeBytes()),
		TombstonesReaped: e.reaped.Load(),
	}
}

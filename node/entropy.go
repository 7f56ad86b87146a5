package node

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/time/rate"

	"github.com/ringkv/ringkv/antientropy"
	ringkvv1 "github.com/ringkv/ringkv/api/ringkv/v1"
	"github.com/ringkv/ringkv/reap"
	"github.com/ringkv/ringkv/storage"
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
// An exchange counts (the partition exchanged, the peer perhaps verified)
// only when it ran to the end: every page of differing keys listed and
// every difference resolved. One cut short by its deadline, by the repair
// budget or by any error counts as incomplete and changes nothing else.
// A tombstone on one side against nothing on the other needs no repair
// and costs no budget (antientropy.Diff.NeedsRepair).
//
// It also reaps tombstones, by the rule of package reap: a tombstone-only
// key is deleted once the grace period has passed since this node first
// held it and every other primary of its partition was verified by a
// complete exchange, started after that, that needed no repair.
type entropy struct {
	n        *Node
	log      *slog.Logger
	interval time.Duration
	rule     reap.Rule
	limiter  *rate.Limiter // keys repaired per second
	now      func() time.Time
	started  time.Time

	mu        sync.Mutex
	cursor    int                  // next partition to visit
	turn      map[int]int          // per partition: which other replica is next
	exchanged map[int]time.Time    // per partition: last completed exchange
	verified  map[int]*reap.Ledger // per partition: which peers complete exchanges verified, when

	exchanges, incomplete, pulled, pushed, bytes, reaped atomic.Uint64
}

// exchangeTimeout bounds one exchange, repairs included. One that would
// need longer (a large repair at a low rate) is cut short and counted
// incomplete; its repairs are kept, so the next exchange has less to do.
const exchangeTimeout = 30 * time.Second

// errCutShort wraps the reason an exchange stopped before its end.
var errCutShort = errors.New("node: exchange cut short")

var metaAECursor = []byte("maecursor")

// metaAEExchanged is the meta key of partition p's last completed exchange
// (Unix nanoseconds, 8 bytes big-endian).
func metaAEExchanged(p int) []byte {
	return binary.BigEndian.AppendUint32([]byte("maeexchanged"), uint32(p))
}

func (n *Node) newEntropy() *entropy {
	e := &entropy{
		n: n, log: n.log.With("component", "anti-entropy"), interval: n.cfg.AntiEntropyInterval,
		rule: reap.Rule{Grace: n.cfg.TombstoneGrace}, now: time.Now, started: time.Now(),
		limiter:   rate.NewLimiter(rate.Limit(n.cfg.AntiEntropyRepairRate), 64),
		turn:      map[int]int{},
		exchanged: map[int]time.Time{},
		verified:  map[int]*reap.Ledger{},
	}
	if raw, err := n.store.Meta(metaAECursor); err == nil && len(raw) == 8 {
		e.cursor = int(binary.BigEndian.Uint64(raw)) % n.cfg.Partitions
	}
	for p := range n.cfg.Partitions {
		if raw, err := n.store.Meta(metaAEExchanged(p)); err == nil && len(raw) == 8 {
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
			_ = e.n.store.SetMeta(metaAECursor, binary.BigEndian.AppendUint64(nil, uint64(e.cursor)))
			return p, true
		}
	}
	return 0, false
}

// replicates reports whether this node owns p in the agreed ring. A
// pending owner does not exchange p yet: its transfer fills it.
func (e *entropy) replicates(v *view, p int) bool {
	return slices.Contains(v.owners(p), e.n.cfg.ID)
}

// visit exchanges partition p with its next healthy replica, then reaps
// what it may. An incomplete exchange is counted and changes nothing else:
// the partition is not marked exchanged and the peer not verified.
func (e *entropy) visit(ctx context.Context, p int) {
	peer, ok := e.peerFor(p)
	if !ok {
		return
	}
	o := reap.Outcome{Peer: peer, Start: e.now()}
	var err error
	o.Repairs, err = e.exchange(ctx, p, peer)
	o.Complete = err == nil
	e.record(p, o)
	if err != nil {
		e.incomplete.Add(1)
		if ctx.Err() == nil {
			e.log.Debug("exchange incomplete", "partition", p, "peer", peer, "err", err)
		}
		return
	}
	e.reap(p)
}

// record takes an exchange's outcome into p's ledger and, if it ran to the
// end, marks p exchanged now.
func (e *entropy) record(p int, o reap.Outcome) {
	done := e.now()
	if o.Complete {
		_ = e.n.store.SetMeta(metaAEExchanged(p), binary.BigEndian.AppendUint64(nil, uint64(done.UnixNano())))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if o.Complete {
		e.exchanged[p] = done
	}
	if e.verified[p] == nil {
		e.verified[p] = &reap.Ledger{}
	}
	e.verified[p].Record(o)
}

// peerFor picks the other primaries of p in turn, skipping unhealthy ones.
func (e *entropy) peerFor(p int) (string, bool) {
	var others []string
	for _, id := range e.n.view.Load().owners(p) {
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

// exchange compares p's trees with peer and repairs what differs, page by
// page. It returns how many differences needed a repair, or why it stopped
// before the end.
func (e *entropy) exchange(ctx context.Context, p int, peer string) (int, error) {
	e.exchanges.Add(1)
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	defer cancel()
	remote, err := e.n.peers.entropyClient(peer)
	if err != nil {
		return 0, err
	}
	r := newRepairs(ctx, e, peer)
	pageBytes := e.pageBytes()
	stats, err := antientropy.CompareEach(r.ctx, localSide{e.n.store, p, pageBytes}, remoteSide{remote, p, pageBytes},
		e.n.store.TreeConfig(), p, antientropy.Options{PageLeaves: maxLeaves}, r.page)
	e.bytes.Add(uint64(stats.Bytes))
	return r.wait(err)
}

// pageBytes is the budget of one page of leaf keys: half of what this node
// reads in one message from a peer, so that an answer always fits.
func (e *entropy) pageBytes() int {
	return max(1<<10, min(e.n.peers.maxRead/2, storage.DefaultPageBytes))
}

// repairs runs one exchange's repairs, a few at a time to hide round
// trips, paced by the repair rate. The first failure cancels the exchange.
type repairs struct {
	e      *entropy
	peer   string
	ctx    context.Context
	cancel context.CancelCauseFunc
	sem    chan struct{}
	wg     sync.WaitGroup
	needed atomic.Int64 // differences that needed a repair
}

func newRepairs(ctx context.Context, e *entropy, peer string) *repairs {
	r := &repairs{e: e, peer: peer, sem: make(chan struct{}, repairConcurrency)}
	r.ctx, r.cancel = context.WithCancelCause(ctx)
	return r
}

// page starts the repairs of one page of differences. Tombstones one side
// lacks need none and take no budget; when the budget would outlast the
// exchange's deadline, the exchange is cut short.
func (r *repairs) page(diffs []antientropy.Diff) error {
	for _, d := range diffs {
		if !d.NeedsRepair() {
			continue
		}
		r.needed.Add(1)
		if err := context.Cause(r.ctx); err != nil {
			return err
		}
		if err := r.e.limiter.Wait(r.ctx); err != nil {
			return fmt.Errorf("%w: repair budget: %w", errCutShort, err)
		}
		r.sem <- struct{}{}
		r.wg.Go(func() {
			defer func() { <-r.sem }()
			if err := r.e.repair(r.ctx, r.peer, d); err != nil {
				r.cancel(fmt.Errorf("%w: repair %q: %w", errCutShort, d.Key, err))
			}
		})
	}
	return nil
}

// wait waits for the repairs in flight and returns how many differences
// needed one, and err or else the first repair's failure.
func (r *repairs) wait(err error) (int, error) {
	r.wg.Wait()
	// A failed repair cancelled the exchange: say why, not "cancelled".
	if cause := context.Cause(r.ctx); err == nil || errors.Is(cause, errCutShort) {
		err = cause
	}
	r.cancel(nil)
	return int(r.needed.Load()), err
}

// repairConcurrency bounds the keys one exchange repairs at once.
const repairConcurrency = 8

// repair syncs one differing key with peer in both directions. A
// tombstone against nothing (the peer's listing raced a write, or it did
// not say which keys are tombstones) is left alone, as NeedsRepair would.
func (e *entropy) repair(ctx context.Context, peer string, d antientropy.Diff) error {
	local, err := e.n.store.Read(d.Key)
	if err != nil {
		return err
	}
	raw, err := e.n.peers.bulkRead(ctx, peer, d.Key)
	if err != nil {
		return err
	}
	var remote vclock.Set
	if len(raw) > 0 {
		if remote, err = vclock.Decode(raw); err != nil {
			return err
		}
	}
	e.bytes.Add(uint64(len(raw)))
	if (local.IsEmpty() && storage.TombstoneOnly(remote)) || (remote.IsEmpty() && storage.TombstoneOnly(local)) {
		return nil
	}
	return e.sync(ctx, peer, d.Key, local, remote)
}

// sync makes both sides hold the merge of local and remote.
func (e *entropy) sync(ctx context.Context, peer string, key []byte, local, remote vclock.Set) error {
	merged := vclock.Sync(local, remote)
	if !vclock.Equal(merged, local) {
		if _, err := e.n.store.Merge(key, remote); err != nil {
			return err
		}
		e.pulled.Add(1)
	}
	if !vclock.Equal(merged, remote) {
		enc := merged.Encode()
		e.bytes.Add(uint64(len(enc)))
		if err := e.n.peers.bulkWrite(ctx, peer, key, enc); err != nil {
			return err
		}
		e.pushed.Add(1)
	}
	return nil
}

// reap deletes p's tombstones that the reap rule allows. It pauses while p
// has a pending owner: that owner's copy is still being filled, and a
// tombstone reaped meanwhile could let it keep a value the tombstone
// deleted.
func (e *entropy) reap(p int) {
	if len(e.n.view.Load().routes[p].Pending) > 0 {
		return
	}
	others := e.otherPrimaries(p)
	lo, hi := e.n.store.HashRange(p)
	now := e.now()
	err := e.n.store.ScanTombstones(lo, hi, func(ts storage.Tombstone) bool {
		if !e.mayReap(p, others, ts.Since, now) {
			return true
		}
		if ok, _ := e.n.store.Reap(ts.Key, ts.Digest); ok {
			e.reaped.Add(1)
		}
		return true
	})
	if err != nil && !errors.Is(err, storage.ErrClosed) {
		e.log.Warn("reap tombstones", "partition", p, "err", err)
	}
}

func (e *entropy) otherPrimaries(p int) []string {
	var out []string
	for _, id := range e.n.view.Load().owners(p) {
		if id != e.n.cfg.ID {
			out = append(out, id)
		}
	}
	return out
}

func (e *entropy) mayReap(p int, peers []string, since, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rule.MayReap(e.verified[p], peers, since, now)
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
	store     *storage.Store
	p         int
	pageBytes int
}

func (l localSide) Hashes(_ context.Context, level int, indexes []int) ([]uint64, error) {
	return l.store.TreeHashes(l.p, level, indexes)
}

func (l localSide) Keys(_ context.Context, q antientropy.KeysQuery) (antientropy.KeysPage, error) {
	return l.store.LeafKeysPage(l.p, q, l.pageBytes)
}

// remoteSide asks a peer's AntiEntropyService.
type remoteSide struct {
	c         entropyClient
	p         int
	pageBytes int
}

func (r remoteSide) Hashes(ctx context.Context, level int, indexes []int) ([]uint64, error) {
	req := &ringkvv1.TreeHashesRequest{Partition: uint32(r.p), Level: uint32(level), Indexes: toU32(indexes)}
	resp, err := r.c.TreeHashes(ctx, connect.NewRequest(req))
	if err != nil {
		return nil, err
	}
	return resp.Msg.GetHashes(), nil
}

// errLeafKeys is a peer's LeafKeys answer whose lists differ in length.
var errLeafKeys = errors.New("node: leaf keys, digests and tombstones differ in number")

func (r remoteSide) Keys(ctx context.Context, q antientropy.KeysQuery) (antientropy.KeysPage, error) {
	resp, err := r.c.LeafKeys(ctx, connect.NewRequest(&ringkvv1.LeafKeysRequest{Partition: uint32(r.p),
		Leaves: toU32(q.Leaves), After: q.After, Until: q.Until, Limit: uint32(q.Limit), MaxBytes: uint32(r.pageBytes)}))
	if err != nil {
		return antientropy.KeysPage{}, err
	}
	keys, digests, tombs := resp.Msg.GetKeys(), resp.Msg.GetDigests(), resp.Msg.GetTombstones()
	if tombs == nil {
		// A peer that predates tombstone flags: every difference with it
		// is read and synced, none skipped, none verified (repair).
		tombs = make([]bool, len(keys))
	}
	if len(keys) != len(digests) || len(keys) != len(tombs) {
		return antientropy.KeysPage{}, errLeafKeys
	}
	page := antientropy.KeysPage{More: resp.Msg.GetMore(), Keys: make([]antientropy.KeyDigest, len(keys))}
	for i := range keys {
		page.Keys[i] = antientropy.KeyDigest{Key: keys[i], Digest: digests[i], Tombstone: tombs[i]}
	}
	return page, nil
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
		Enabled:             !e.n.cfg.DisableAntiEntropy,
		Exchanges:           e.exchanges.Load(),
		KeysPulled:          e.pulled.Load(),
		KeysPushed:          e.pushed.Load(),
		Bytes:               e.bytes.Load(),
		EntropyAgeMs:        e.age().Milliseconds(),
		IntervalMs:          e.interval.Milliseconds(),
		TreeBytes:           uint64(e.n.store.TreeBytes()),
		TombstonesReaped:    e.reaped.Load(),
		ExchangesIncomplete: e.incomplete.Load(),
	}
}

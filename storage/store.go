package storage

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/ringkv/ringkv/antientropy"
	"github.com/ringkv/ringkv/ring"
	"github.com/ringkv/ringkv/vclock"
)

// Key layout in Pebble. Data keys carry the key's ring hash so a partition's
// keys are one contiguous range (anti-entropy scans a partition at a time).
const (
	prefixData = 'd' // 'd' | xxhash(key) big-endian | key → encoded vclock.Set
	prefixMeta = 'm' // 'm' | name → node identity and cluster state
	// prefixHint ('h') is described in hints.go, prefixHintIndex ('e') in
	// hintindex.go, prefixTombstone ('x') in tombstones.go.
)

var (
	metaActor    = []byte("mactor")
	metaSettings = []byte("msettings")
	metaMembers  = []byte("mmembers")
)

var (
	// ErrTooManySiblings refuses a write that would leave more siblings
	// than the configured limit.
	ErrTooManySiblings = errors.New("storage: too many siblings")
	// ErrSettingsChanged refuses to open a data directory created with
	// different cluster settings.
	ErrSettingsChanged = errors.New("storage: data directory has different cluster settings")
	// ErrClosed is returned for writes after the store closed.
	ErrClosed = errors.New("storage: store closed")
)

// Settings are the cluster settings a data directory was created with.
type Settings struct {
	N          int `json:"n"`
	Partitions int `json:"partitions"`
}

// Store is one node's Pebble database: version sets per key, the node's
// actor id and its remembered cluster state.
type Store struct {
	db    *pebble.DB
	actor vclock.Actor
	// issued is the highest counter this actor has put on any key. Every
	// write takes a counter above it (and above the key's clock and the
	// client's context), so no two writes get one dot, even when a key is
	// forgotten by reaping and written again.
	issued atomic.Uint64
	// dotConflicts counts merges that met one dot with two contents.
	dotConflicts atomic.Uint64
	locks        keyLocks
	hints        hintBook
	trees        *trees
	now          func() time.Time
	disk         *diskGuard    // free-space admission (disk.go)
	plog         *pebbleLogger // Pebble's log, rate-limited

	mu     sync.RWMutex // guards closed; writers hold it shared
	closed bool
}

// Options configures Open.
type Options struct {
	Dir       string
	FS        vfs.FS // nil → the real filesystem
	Settings  Settings
	TreeDepth int              // Merkle tree depth (antientropy.Config.Depth); 0 → default
	Now       func() time.Time // nil → time.Now; stamps tombstones
	Logger    *slog.Logger
	// MinSyncInterval is the least time between WAL fsyncs (see
	// Config.MinSyncInterval); 0: none.
	MinSyncInterval time.Duration
	// DiskReserveBytes and DiskBallastBytes configure free-space admission
	// (see Config and disk.go); 0: no reserve, no ballast.
	DiskReserveBytes, DiskBallastBytes int64
}

// Open opens (or creates) the database in dir. Every opening gets a
// fresh random actor id (see mintIdentity); an existing directory must have
// been created with the same cluster settings.
func Open(o Options) (*Store, error) {
	plog := newPebbleLogger(o.Logger, nil)
	opts := &pebble.Options{Logger: plog,
		// Every replica write reads the key first. A bigger memtable keeps
		// recently written keys there (Pebble's 4 MB flushed every few
		// seconds under load, sending reads to L0 files), and bloom filters
		// let lookups of absent keys skip the files that lack them.
		MemTableSize:       32 << 20,
		WALMinSyncInterval: func() time.Duration { return o.MinSyncInterval }}
	for i := range opts.Levels {
		opts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	disk, err := openStoreDisk(o)
	if err != nil {
		return nil, err
	}
	opts.FS = disk.wrap()
	db, err := pebble.Open(o.Dir, opts)
	if err != nil {
		disk.close()
		return nil, fmt.Errorf("storage: open pebble in %s: %w", o.Dir, err)
	}
	s := &Store{db: db, now: o.Now, disk: disk, plog: plog}
	if s.now == nil {
		s.now = time.Now
	}
	err = s.initIdentity(o.Settings)
	if err == nil {
		err = s.loadHintStats()
	}
	if err == nil {
		err = s.initTrees(o)
	}
	if err != nil {
		db.Close()
		disk.close()
		return nil, err
	}
	return s, nil
}

// initTrees builds the Merkle trees from disk, logging how long it took.
func (s *Store) initTrees(o Options) error {
	parts := o.Settings.Partitions
	if parts == 0 {
		parts = 1
	}
	cfg := antientropy.Config{PartitionBits: bits.TrailingZeros(uint(parts)), Depth: o.TreeDepth}
	if err := cfg.Validate(); err != nil {
		return err
	}
	s.trees = newTrees(cfg)
	start := time.Now()
	n, err := s.buildTrees()
	if err != nil {
		return fmt.Errorf("storage: build Merkle trees: %w", err)
	}
	if o.Logger != nil {
		o.Logger.Info("Merkle trees built", "keys", n, "partitions", parts, "took", time.Since(start).Round(time.Millisecond),
			"memory_bytes", s.trees.memoryBytes())
	}
	return nil
}

func (s *Store) initIdentity(want Settings) error {
	var have Settings
	found, err := s.getMetaJSON(metaSettings, &have)
	if err != nil {
		return err
	}
	if found && have != want {
		return fmt.Errorf("%w: it was created with n=%d partitions=%d, this node was started with n=%d partitions=%d",
			ErrSettingsChanged, have.N, have.Partitions, want.N, want.Partitions)
	}
	if unsafeDots && found {
		return s.loadActor()
	}
	return s.mintIdentity(want)
}

// mintIdentity gives this opening of the data directory a new actor id: an
// epoch per start, as Riak's fix for KV679. Counters are kept in memory
// only, so a node that crashed before syncing its latest writes, a
// directory restored from a backup, or a copy opened on a second node all
// number their writes under an actor nobody used before, and never issue a
// dot that some replica already holds with other contents. The cost is one
// clock entry per start for the keys this node coordinates writes to.
func (s *Store) mintIdentity(settings Settings) error {
	var raw [8]byte
	for binary.BigEndian.Uint64(raw[:]) == 0 {
		if _, err := rand.Read(raw[:]); err != nil {
			return fmt.Errorf("storage: mint actor id: %w", err)
		}
	}
	js, err := json.Marshal(settings)
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer b.Close()
	_ = b.Set(metaActor, raw[:], nil)
	_ = b.Set(metaSettings, js, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("storage: store identity: %w", err)
	}
	s.actor = vclock.Actor(binary.BigEndian.Uint64(raw[:]))
	return nil
}

// loadActor reads the actor id stored by the last opening; only a build
// with unsafeDots reuses it.
func (s *Store) loadActor() error {
	raw, err := s.getRaw(metaActor)
	if err != nil || len(raw) != 8 {
		return fmt.Errorf("storage: stored actor id %x: %w", raw, err)
	}
	s.actor = vclock.Actor(binary.BigEndian.Uint64(raw))
	return nil
}

// mint returns the dot of this actor's next write to a key whose state is
// cur, under context ctx. The caller holds the key's lock.
func (s *Store) mint(cur vclock.Set, ctx vclock.VV) vclock.Dot {
	if unsafeDots {
		return vclock.Dot{Actor: s.actor, Counter: vclock.Next(cur, ctx, s.actor, 0)}
	}
	for {
		old := s.issued.Load()
		n := vclock.Next(cur, ctx, s.actor, old)
		if s.issued.CompareAndSwap(old, n) {
			return vclock.Dot{Actor: s.actor, Counter: n}
		}
	}
}

// DotConflicts counts the merges that met one dot with two different
// contents since the store opened: zero unless some replica numbered two
// writes alike, or a peer sent corrupt or forged versions.
func (s *Store) DotConflicts() uint64 { return s.dotConflicts.Load() }

// Actor is this data directory's actor id.
func (s *Store) Actor() vclock.Actor { return s.actor }

func dataKey(key []byte) []byte {
	k := make([]byte, 9+len(key))
	k[0] = prefixData
	binary.BigEndian.PutUint64(k[1:9], ring.KeyHash(key))
	copy(k[9:], key)
	return k
}

// getRaw returns a copy of the encoded set stored under dk, nil if none.
func (s *Store) getRaw(dk []byte) ([]byte, error) {
	v, closer, err := s.db.Get(dk)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: read: %w", err)
	}
	out := bytes.Clone(v)
	closer.Close()
	return out, nil
}

// ReadRaw returns the encoded version set for key, or nil when none. The
// bytes may be shared: do not modify them.
func (s *Store) ReadRaw(key []byte) ([]byte, error) {
	dk := dataKey(key)
	st := s.locks.lock(dk)
	defer st.Unlock()
	return s.readLocked(st, dk)
}

// readLocked returns dk's encoded set, from st's cache or else from Pebble
// (and then caches it); the caller holds st's lock.
func (s *Store) readLocked(st *stripe, dk []byte) ([]byte, error) {
	if raw, ok := st.cached(dk); ok {
		return raw, nil
	}
	raw, err := s.getRaw(dk)
	if err == nil && raw != nil {
		st.remember(dk, raw)
	}
	return raw, err
}

// Read returns the decoded version set for key (empty when none).
func (s *Store) Read(key []byte) (vclock.Set, error) {
	raw, err := s.ReadRaw(key)
	if err != nil || raw == nil {
		return vclock.Set{}, err
	}
	set, err := vclock.Decode(raw)
	if err != nil {
		return vclock.Set{}, fmt.Errorf("storage: stored version set for %q: %w", key, err)
	}
	return set, nil
}

// modify runs a read-modify-write of key under the key's lock, then waits
// for the fsync after releasing the lock, so writes to any keys share
// fsyncs (group commit) and a lock is never held across one.
func (s *Store) modify(key []byte, f func(cur vclock.Set) (vclock.Set, error)) (vclock.Set, error) {
	next, wait, err := s.modifyAsync(key, f)
	if err != nil {
		return vclock.Set{}, err
	}
	return next, wait()
}

// modifyAsync is modify without the wait: the result is applied (visible
// to readers) when it returns, and durable once wait returns nil. The
// caller must call wait exactly once. A coordinator uses the gap to send
// the new version to the other replicas while its own fsync runs.
func (s *Store) modifyAsync(key []byte, f func(cur vclock.Set) (vclock.Set, error)) (vclock.Set, func() error, error) {
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return vclock.Set{}, nil, ErrClosed
	}
	if err := s.disk.admit(); err != nil {
		s.mu.RUnlock()
		return vclock.Set{}, nil, err
	}
	dk := dataKey(key)
	st := s.locks.lock(dk)
	next, b, err := s.apply(st, dk, f)
	st.Unlock()
	if err != nil {
		s.mu.RUnlock()
		return vclock.Set{}, nil, err
	}
	// Close waits for the read lock, so Pebble stays open until the sync
	// completes.
	wait := func() error {
		defer s.mu.RUnlock()
		defer b.Close()
		if err := b.SyncWait(); err != nil {
			return fmt.Errorf("storage: sync: %w", err)
		}
		return nil
	}
	return next, wait, nil
}

// apply is modify's locked part (the caller holds st's lock): read,
// compute, and apply without waiting for the fsync.
func (s *Store) apply(st *stripe, dk []byte, f func(cur vclock.Set) (vclock.Set, error)) (vclock.Set, *pebble.Batch, error) {
	raw, err := s.readLocked(st, dk)
	if err != nil {
		return vclock.Set{}, nil, err
	}
	var cur vclock.Set
	if raw != nil {
		if cur, err = vclock.Decode(raw); err != nil {
			return vclock.Set{}, nil, fmt.Errorf("storage: stored version set: %w", err)
		}
	}
	next, err := f(cur)
	if err != nil {
		return vclock.Set{}, nil, err
	}
	enc := next.Encode()
	b := s.db.NewBatch()
	_ = b.Set(dk, enc, nil)
	s.indexTombstone(b, dk, raw != nil && TombstoneOnly(cur), TombstoneOnly(next))
	if err := s.db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		b.Close()
		st.forget(dk)
		return vclock.Set{}, nil, fmt.Errorf("storage: write: %w", err)
	}
	st.remember(dk, enc)
	s.trees.update(binary.BigEndian.Uint64(dk[1:9]), dk[9:], digestOf(raw), digestOf(enc))
	return next, b, nil
}

// Update applies a client write at this replica as coordinator and returns
// once it is durable. It refuses a write that would leave more than
// maxSiblings siblings.
func (s *Store) Update(key []byte, ctx vclock.VV, value []byte, tombstone bool, maxSiblings int) (vclock.Set, error) {
	next, wait, err := s.UpdateAsync(key, ctx, value, tombstone, maxSiblings)
	if err != nil {
		return vclock.Set{}, err
	}
	return next, wait()
}

// UpdateAsync is Update returning before the fsync: the write is durable
// once wait returns nil; wait must be called exactly once.
func (s *Store) UpdateAsync(key []byte, ctx vclock.VV, value []byte, tombstone bool, maxSiblings int) (vclock.Set, func() error, error) {
	return s.modifyAsync(key, func(cur vclock.Set) (vclock.Set, error) {
		if lastWriteWins {
			ctx = cur.Clock // the broken build overwrites what it holds
		}
		next := vclock.UpdateDot(cur, ctx, s.mint(cur, ctx), value, tombstone)
		if n := len(next.Siblings); maxSiblings > 0 && n > maxSiblings {
			return vclock.Set{}, fmt.Errorf("%w: the write would leave %d siblings, the limit is %d; "+
				"read the key and write back with its context to resolve them", ErrTooManySiblings, n, maxSiblings)
		}
		return next, nil
	})
}

// Merge syncs an incoming version set from another replica into this one
// and returns once the result is durable.
func (s *Store) Merge(key []byte, in vclock.Set) (vclock.Set, error) {
	return s.modify(key, func(cur vclock.Set) (vclock.Set, error) {
		return s.sync(cur, in), nil
	})
}

// sync merges in into cur, counting dots met with two contents.
func (s *Store) sync(cur, in vclock.Set) vclock.Set {
	out, conflicts := vclock.SyncCounting(cur, in)
	if conflicts > 0 {
		s.dotConflicts.Add(uint64(conflicts))
	}
	if lastWriteWins {
		out = keepLast(out)
	}
	return out
}

// SaveMembers remembers the cluster's members so a restarted node knows its
// ring before gossip catches up.
func (s *Store) SaveMembers(v any) error {
	js, err := json.Marshal(v)
	if err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.Set(metaMembers, js, pebble.NoSync)
}

// SetMeta stores a small piece of node state (under a key that starts with
// 'm'), unsynced: losing the last
// update in a crash costs only a little repeated work.
func (s *Store) SetMeta(k, v []byte) error { return s.setMeta(k, v, pebble.NoSync) }

// SyncMeta stores v under meta key k and returns once it is durable: for
// state a node acts on only after it survives a crash (the agreed ring).
func (s *Store) SyncMeta(k, v []byte) error { return s.setMeta(k, v, pebble.Sync) }

func (s *Store) setMeta(k, v []byte, o *pebble.WriteOptions) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.Set(k, v, o)
}

// DeleteMeta removes what SetMeta stored under k, unsynced.
func (s *Store) DeleteMeta(k []byte) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.Delete(k, pebble.NoSync)
}

// Meta returns a copy of what SetMeta stored under k, nil if nothing.
func (s *Store) Meta(k []byte) ([]byte, error) { return s.getRaw(k) }

// LoadMembers reads what SaveMembers stored into v; false when none.
func (s *Store) LoadMembers(v any) (bool, error) { return s.getMetaJSON(metaMembers, v) }

func (s *Store) getMetaJSON(k []byte, v any) (bool, error) {
	raw, err := s.getRaw(k)
	if err != nil || raw == nil {
		return false, err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("storage: stored %s: %w", k[1:], err)
	}
	return true, nil
}

// Flush writes the memtable out to an sstable now.
func (s *Store) Flush() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return s.db.Flush()
}

// TableIterators is how many sstable iterators are open: none while
// nothing reads.
func (s *Store) TableIterators() int64 { return s.db.Metrics().TableIters }

// Close waits for in-flight writes and closes the database. Idempotent.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.disk.close()
	return s.db.Close()
}

package antientropy

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// KeyDigest is one key and the Digest of its version set, as a Side lists
// it, and whether the set holds only tombstones (a deleted key).
type KeyDigest struct {
	Key       []byte
	Digest    uint64
	Tombstone bool
}

// KeysQuery asks a Side for one page of the keys in some leaves.
type KeysQuery struct {
	// Leaves are the leaves to list, ascending.
	Leaves []int
	// After, if not empty, excludes it and every key before it in KeyOrder:
	// the page resumes after the last key of the previous one.
	After []byte
	// Until, if not empty, excludes every key after it in KeyOrder.
	Until []byte
	// Limit is the most keys the page may hold (at least 1).
	Limit int
}

// KeysPage is one page of a KeysQuery's answer.
type KeysPage struct {
	// Keys are the page's keys in ascending KeyOrder, each once.
	Keys []KeyDigest
	// More says the side stopped before Until (or, with no Until, before
	// the last key of the leaves): at Limit, or at a byte budget of its
	// own. Keys then holds at least one key.
	More bool
}

// Side is one replica's view of one partition during an exchange: the local
// node's tree and store, or a peer behind an RPC. Compare does not modify or
// retain the slices it passes, and a Side must not modify them either.
type Side interface {
	// Hashes returns the hashes of the nodes at level with the given
	// indexes, in that order (Tree.Hashes).
	Hashes(ctx context.Context, level int, indexes []int) ([]uint64, error)
	// Keys returns the first page of the keys in q.Leaves that come after
	// q.After and not after q.Until, in KeyOrder, with their non-zero
	// digests. Keys are never empty.
	Keys(ctx context.Context, q KeysQuery) (KeysPage, error)
}

// KeyOrder compares two keys as a Side lists them: by xxhash64, then
// bytewise. It is the order of a node's store, which lays keys out by hash
// so that a leaf is one contiguous range.
func KeyOrder(a, b []byte) int {
	if c := cmp.Compare(xxhash.Sum64(a), xxhash.Sum64(b)); c != 0 {
		return c
	}
	return bytes.Compare(a, b)
}

// State is what one replica holds of a key.
type State uint8

// The states of a key on a replica.
const (
	Absent    State = iota // nothing: never held, or reaped
	Tombstone              // only tombstones: deleted
	Live                   // at least one live value
)

// Diff is a key whose version sets differ between the two sides, with both
// digests (0 means the key is absent on that side) and whether each side
// holds only tombstones.
type Diff struct {
	Key                             []byte
	Local, Remote                   uint64
	LocalTombstone, RemoteTombstone bool
}

// States returns what each side holds of d's key.
func (d Diff) States() (local, remote State) {
	return state(d.Local, d.LocalTombstone), state(d.Remote, d.RemoteTombstone)
}

func state(digest uint64, tombstone bool) State {
	switch {
	case digest == 0:
		return Absent
	case tombstone:
		return Tombstone
	default:
		return Live
	}
}

// NeedsRepair reports whether d needs a sync to resolve it. A tombstone
// on one side against nothing on the other does not: both read as not
// found, the absent side may well have reaped that tombstone already (and
// pushing it back would make the replicas reap it in turn, round and round),
// and for reaping "absent" is as safe as the tombstone (package reap). Such
// a difference lasts until the side holding the tombstone reaps it.
// Anything else (a live value on either side, or two different tombstones)
// does.
func (d Diff) NeedsRepair() bool {
	l, r := d.States()
	return !(l == Absent && r == Tombstone || l == Tombstone && r == Absent)
}

// Stats is the cost of one Compare. Only traffic to the remote side counts
// as wire traffic: the local side is in-process.
type Stats struct {
	// Rounds is the number of request rounds (one call to each side).
	Rounds int
	// Hashes is the number of hashes received from the remote.
	Hashes int
	// Keys is the number of key digests received from the remote.
	Keys int
	// Bytes estimates the wire bytes to and from the remote: 4 per requested
	// node or leaf index, 8 per hash, len(key)+8 per key digest, and the
	// page bounds. Framing is not counted.
	Bytes int64
}

// Wire sizes Stats.Bytes counts.
const (
	indexBytes  = 4
	hashBytes   = 8
	digestBytes = 8
)

// Paging defaults (Options).
const (
	// DefaultPageKeys is the keys one Keys call asks for when
	// Options.PageKeys is zero.
	DefaultPageKeys = 1024
	// DefaultPageLeaves is the leaves one Keys call names when
	// Options.PageLeaves is zero.
	DefaultPageLeaves = 4096
)

// Options tune how Compare pages the key lists of differing leaves, so
// that no answer grows with the partition: a replica that lost everything
// is refilled page by page.
type Options struct {
	// PageKeys is KeysQuery.Limit; 0 → DefaultPageKeys.
	PageKeys int
	// PageLeaves bounds KeysQuery.Leaves; 0 → DefaultPageLeaves.
	PageLeaves int
}

func (o Options) withDefaults() Options {
	if o.PageKeys <= 0 {
		o.PageKeys = DefaultPageKeys
	}
	if o.PageLeaves <= 0 {
		o.PageLeaves = DefaultPageLeaves
	}
	return o
}

// Compare finds the keys of partition whose digests differ between local and
// remote, sorted by key, with default Options. It holds every difference in
// memory at once; CompareEach hands them over a page at a time.
func Compare(ctx context.Context, local, remote Side, cfg Config, partition int) ([]Diff, Stats, error) {
	var all []Diff
	st, err := CompareEach(ctx, local, remote, cfg, partition, Options{}, func(page []Diff) error {
		all = append(all, page...)
		return nil
	})
	if err != nil {
		return nil, st, err
	}
	slices.SortFunc(all, func(a, b Diff) int { return bytes.Compare(a.Key, b.Key) })
	return all, st, nil
}

// CompareEach finds the keys of partition whose digests differ between
// local and remote and hands them to fn a page at a time, in KeyOrder. Both
// sides must hold trees of shape cfg. An error from fn stops the exchange
// and is returned as is.
//
// It compares roots, then descends level by level into the children of the
// nodes that differ only, with one Hashes call per side per level, and
// finally lists the keys of the differing leaves, page by page (Options), on
// both sides. Its cost grows with the number of differences (at most
// 16·Depth hashes and one leaf's keys per differing key), not with the
// partition's size, and no call's answer exceeds one page. A partition in
// sync costs one round and one hash.
//
// The sides may change while Compare runs (the node keeps writing): nodes
// that stop differing are simply not descended, and the result reflects the
// keys as the Keys calls saw them. A write racing the exchange may be
// missed; the next exchange finds it.
//
// A side that answers the wrong number of hashes, a key outside the
// requested leaves of partition or the page's bounds, keys out of order or
// twice, an empty key, a zero digest, more keys than asked, or "more" with no
// keys, makes Compare return an error wrapping ErrProtocol. Errors from the
// sides and from ctx are returned wrapped. Diff keys alias the slices the
// sides returned.
func CompareEach(ctx context.Context, local, remote Side, cfg Config, partition int, opts Options, fn func([]Diff) error) (Stats, error) {
	if err := cfg.Validate(); err != nil {
		return Stats{}, err
	}
	x := exchange{local: local, remote: remote, shape: newShape(cfg), partition: partition, opts: opts.withDefaults()}
	if partition < 0 || partition >= x.shape.partitions() {
		return Stats{}, fmt.Errorf("%w: partition %d not in 0..%d",
			ErrOutOfRange, partition, x.shape.partitions()-1)
	}
	differing := []int{0}
	for level := 0; level <= x.shape.depth; level++ {
		if level > 0 {
			differing = children(differing)
		}
		var err error
		if differing, err = x.differingNodes(ctx, level, differing); err != nil || len(differing) == 0 {
			return x.stats, err
		}
	}
	for chunk := range slices.Chunk(differing, x.opts.PageLeaves) {
		if err := x.diffLeaves(ctx, chunk, fn); err != nil {
			return x.stats, err
		}
	}
	return x.stats, nil
}

// exchange is the state of one Compare.
type exchange struct {
	local, remote Side
	shape         shape
	partition     int
	opts          Options
	stats         Stats
}

// children returns the children of nodes, in order: ascending if nodes is.
func children(nodes []int) []int {
	out := make([]int, 0, len(nodes)*Fanout)
	for _, n := range nodes {
		for c := range Fanout {
			out = append(out, n*Fanout+c)
		}
	}
	return out
}

// differingNodes fetches the hashes of nodes at level from both sides and
// returns the nodes whose hashes differ.
func (x *exchange) differingNodes(ctx context.Context, level int, nodes []int) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("antientropy: compare: %w", err)
	}
	x.stats.Rounds++
	lh, err := fetchHashes(ctx, "local", x.local, level, nodes)
	if err != nil {
		return nil, err
	}
	x.stats.Bytes += int64(indexBytes * len(nodes))
	rh, err := fetchHashes(ctx, "remote", x.remote, level, nodes)
	if err != nil {
		return nil, err
	}
	x.stats.Hashes += len(rh)
	x.stats.Bytes += int64(hashBytes * len(rh))
	var out []int
	for i, n := range nodes {
		if lh[i] != rh[i] {
			out = append(out, n)
		}
	}
	return out, nil
}

func fetchHashes(ctx context.Context, name string, s Side, level int, nodes []int) ([]uint64, error) {
	h, err := s.Hashes(ctx, level, nodes)
	if err != nil {
		return nil, fmt.Errorf("antientropy: %s hashes at level %d: %w", name, level, err)
	}
	if len(h) != len(nodes) {
		return nil, fmt.Errorf("%w: %s answered %d hashes for %d nodes at level %d",
			ErrProtocol, name, len(h), len(nodes), level)
	}
	return h, nil
}

// diffLeaves lists the keys of leaves (ascending) on both sides, a page at
// a time, and hands fn the keys whose digests differ. Each round takes a
// page from the local side, then the remote's keys up to the last local key
// (all of them if the local page was the last), and compares the range both
// pages cover; local keys past the end of a full remote page are listed
// again next round. So each remote key crosses the wire once.
func (x *exchange) diffLeaves(ctx context.Context, leaves []int, fn func([]Diff) error) error {
	var after []byte
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("antientropy: compare: %w", err)
		}
		x.stats.Rounds++
		q := KeysQuery{Leaves: leaves, After: after, Limit: x.opts.PageKeys}
		lp, err := x.fetchKeys(ctx, "local", x.local, q)
		if err != nil {
			return err
		}
		if lp.More {
			q.Until = lp.Keys[len(lp.Keys)-1].Key
		}
		x.stats.Bytes += int64(indexBytes*len(leaves) + len(q.After) + len(q.Until))
		rp, err := x.fetchKeys(ctx, "remote", x.remote, q)
		if err != nil {
			return err
		}
		x.countKeys(rp.Keys)
		end, more := q.Until, lp.More
		if rp.More {
			end, more = rp.Keys[len(rp.Keys)-1].Key, true
		}
		if diffs := diffPages(lp.Keys, rp.Keys, end, more); len(diffs) > 0 {
			if err := fn(diffs); err != nil {
				return err
			}
		}
		if !more {
			return nil
		}
		after = end
	}
}

func (x *exchange) countKeys(kds []KeyDigest) {
	x.stats.Keys += len(kds)
	for _, kd := range kds {
		x.stats.Bytes += int64(len(kd.Key) + digestBytes)
	}
}

// diffPages merges two pages in KeyOrder and returns the keys whose digests
// differ, up to end (inclusive) when more, else all.
func diffPages(local, remote []KeyDigest, end []byte, more bool) []Diff {
	var diffs []Diff
	i, j := 0, 0
	for i < len(local) || j < len(remote) {
		var c int
		switch {
		case i == len(local):
			c = 1
		case j == len(remote):
			c = -1
		default:
			c = KeyOrder(local[i].Key, remote[j].Key)
		}
		var d Diff
		switch {
		case c < 0:
			d = Diff{Key: local[i].Key, Local: local[i].Digest, LocalTombstone: local[i].Tombstone}
			i++
		case c > 0:
			d = Diff{Key: remote[j].Key, Remote: remote[j].Digest, RemoteTombstone: remote[j].Tombstone}
			j++
		default:
			d = Diff{Key: local[i].Key, Local: local[i].Digest, Remote: remote[j].Digest,
				LocalTombstone: local[i].Tombstone, RemoteTombstone: remote[j].Tombstone}
			i, j = i+1, j+1
		}
		if more && KeyOrder(d.Key, end) > 0 {
			break
		}
		if d.Local != d.Remote {
			diffs = append(diffs, d)
		}
	}
	return diffs
}

// fetchKeys asks s for one page of q and checks the answer.
func (x *exchange) fetchKeys(ctx context.Context, name string, s Side, q KeysQuery) (KeysPage, error) {
	page, err := s.Keys(ctx, q)
	if err != nil {
		return KeysPage{}, fmt.Errorf("antientropy: %s keys: %w", name, err)
	}
	if err := x.checkPage(q, page); err != nil {
		return KeysPage{}, fmt.Errorf("%w: %s: %w", ErrProtocol, name, err)
	}
	return page, nil
}

// checkPage reports why page cannot be an answer to q.
func (x *exchange) checkPage(q KeysQuery, page KeysPage) error {
	if len(page.Keys) > q.Limit {
		return fmt.Errorf("%d keys for a limit of %d", len(page.Keys), q.Limit)
	}
	if page.More && len(page.Keys) == 0 {
		return errors.New("more keys promised but none listed")
	}
	prev := q.After
	for _, kd := range page.Keys {
		if err := x.checkKey(q.Leaves, kd); err != nil {
			return err
		}
		if len(prev) > 0 && KeyOrder(prev, kd.Key) >= 0 {
			return fmt.Errorf("key %q is out of order, repeated or not after the page's start", short(kd.Key))
		}
		if len(q.Until) > 0 && KeyOrder(kd.Key, q.Until) > 0 {
			return fmt.Errorf("key %q is past the page's end", short(kd.Key))
		}
		prev = kd.Key
	}
	return nil
}

// checkKey reports why kd cannot be an answer for leaves of x's partition.
func (x *exchange) checkKey(leaves []int, kd KeyDigest) error {
	if len(kd.Key) == 0 {
		return errors.New("an empty key")
	}
	if kd.Digest == 0 {
		return fmt.Errorf("key %q has digest 0", short(kd.Key))
	}
	h := xxhash.Sum64(kd.Key)
	if p := x.shape.partition(h); p != x.partition {
		return fmt.Errorf("key %q is in partition %d, not %d", short(kd.Key), p, x.partition)
	}
	if l := x.shape.leaf(h); !containsSorted(leaves, l) {
		return fmt.Errorf("key %q is in leaf %d, which was not requested", short(kd.Key), l)
	}
	return nil
}

// short cuts a key (up to 2 KiB) down to a length fit for an error message.
func short(key []byte) []byte {
	const limit = 64
	if len(key) > limit {
		return key[:limit]
	}
	return key
}

// containsSorted reports whether ascending holds v, in O(log n): Compare
// builds its leaf lists in ascending order.
func containsSorted(ascending []int, v int) bool {
	_, ok := slices.BinarySearch(ascending, v)
	return ok
}

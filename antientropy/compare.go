package antientropy

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// KeyDigest is one key and the Digest of its version set, as a Side lists it.
type KeyDigest struct {
	Key    []byte
	Digest uint64
}

// Side is one replica's view of one partition during an exchange: the local
// node's tree and store, or a peer behind an RPC. Compare does not modify or
// retain the slices it passes, and a Side must not modify them either.
type Side interface {
	// Hashes returns the hashes of the nodes at level with the given
	// indexes, in that order (Tree.Hashes).
	Hashes(ctx context.Context, level int, indexes []int) ([]uint64, error)
	// Keys returns every key in the given leaves with its non-zero digest,
	// in any order, each key once.
	Keys(ctx context.Context, leaves []int) ([]KeyDigest, error)
}

// Diff is a key whose version sets differ between the two sides, with both
// digests; 0 means the key is absent on that side.
type Diff struct {
	Key           []byte
	Local, Remote uint64
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
	// node or leaf index, 8 per hash, len(key)+8 per key digest. Framing is
	// not counted.
	Bytes int64
}

// Wire sizes Stats.Bytes counts.
const (
	indexBytes  = 4
	hashBytes   = 8
	digestBytes = 8
)

// Compare finds the keys of partition whose digests differ between local and
// remote, sorted by key. Both sides must hold trees of shape cfg.
//
// It compares roots, then descends level by level into the children of the
// nodes that differ only, with one Hashes call per side per level, and
// finally asks both sides for the keys of the differing leaves. Its cost
// grows with the number of differences (at most 16·Depth hashes and one
// leaf's keys per differing key), not with the partition's size. A
// partition in sync costs one round and one hash.
//
// The sides may change while Compare runs (the node keeps writing): nodes
// that stop differing are simply not descended, and the result reflects the
// keys as the final Keys calls saw them. A write racing the exchange may be
// missed; the next exchange finds it.
//
// A side that answers the wrong number of hashes, a key outside the
// requested leaves of partition, a key twice, or a zero digest makes Compare
// return an error wrapping ErrProtocol. Errors from the sides and from ctx
// are returned wrapped. Diff keys alias the slices the sides returned.
func Compare(ctx context.Context, local, remote Side, cfg Config, partition int) ([]Diff, Stats, error) {
	if err := cfg.Validate(); err != nil {
		return nil, Stats{}, err
	}
	x := exchange{local: local, remote: remote, shape: newShape(cfg), partition: partition}
	if partition < 0 || partition >= x.shape.partitions() {
		return nil, Stats{}, fmt.Errorf("%w: partition %d not in 0..%d",
			ErrOutOfRange, partition, x.shape.partitions()-1)
	}
	differing := []int{0}
	for level := 0; level <= x.shape.depth; level++ {
		if level > 0 {
			differing = children(differing)
		}
		var err error
		if differing, err = x.differingNodes(ctx, level, differing); err != nil || len(differing) == 0 {
			return nil, x.stats, err
		}
	}
	diffs, err := x.diffLeaves(ctx, differing)
	return diffs, x.stats, err
}

// exchange is the state of one Compare.
type exchange struct {
	local, remote Side
	shape         shape
	partition     int
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

// diffLeaves fetches the keys of leaves (ascending) from both sides and
// returns the keys whose digests differ, sorted by key.
func (x *exchange) diffLeaves(ctx context.Context, leaves []int) ([]Diff, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("antientropy: compare: %w", err)
	}
	x.stats.Rounds++
	lk, lm, err := x.fetchKeys(ctx, "local", x.local, leaves)
	if err != nil {
		return nil, err
	}
	x.stats.Bytes += int64(indexBytes * len(leaves))
	rk, rm, err := x.fetchKeys(ctx, "remote", x.remote, leaves)
	if err != nil {
		return nil, err
	}
	x.stats.Keys += len(rk)
	for _, kd := range rk {
		x.stats.Bytes += int64(len(kd.Key) + digestBytes)
	}
	var diffs []Diff
	for _, kd := range lk {
		var r uint64
		if i, ok := rm[string(kd.Key)]; ok {
			r = rk[i].Digest
		}
		if r != kd.Digest {
			diffs = append(diffs, Diff{Key: kd.Key, Local: kd.Digest, Remote: r})
		}
	}
	for _, kd := range rk {
		if _, ok := lm[string(kd.Key)]; !ok {
			diffs = append(diffs, Diff{Key: kd.Key, Remote: kd.Digest})
		}
	}
	slices.SortFunc(diffs, func(a, b Diff) int { return bytes.Compare(a.Key, b.Key) })
	return diffs, nil
}

// fetchKeys asks s for the keys of leaves and checks the answer, returning it
// with an index from key to position.
func (x *exchange) fetchKeys(ctx context.Context, name string, s Side, leaves []int) ([]KeyDigest, map[string]int, error) {
	kds, err := s.Keys(ctx, leaves)
	if err != nil {
		return nil, nil, fmt.Errorf("antientropy: %s keys: %w", name, err)
	}
	m := make(map[string]int, len(kds))
	for i, kd := range kds {
		if err := x.checkKey(leaves, kd); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %w", ErrProtocol, name, err)
		}
		if _, dup := m[string(kd.Key)]; dup {
			return nil, nil, fmt.Errorf("%w: %s listed key %q twice", ErrProtocol, name, short(kd.Key))
		}
		m[string(kd.Key)] = i
	}
	return kds, m, nil
}

// checkKey reports why kd cannot be an answer for leaves of x's partition.
func (x *exchange) checkKey(leaves []int, kd KeyDigest) error {
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

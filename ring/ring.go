package ring

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"

	"github.com/cespare/xxhash/v2"
)

// ErrNoMembers is returned by New when the member list is empty.
var ErrNoMembers = errors.New("ring: no members")

// ErrEmptyMember is returned by New when a member id is the empty string.
var ErrEmptyMember = errors.New("ring: empty member id")

// Ring is an immutable placement of partitions on members. It is safe for
// concurrent use; a membership change builds a new Ring.
//
// Every partition's walk is stored, so a Ring holds up to
// min(Q, members×V) × members string headers (16 bytes each): 200 KB for
// 50 members at Q=256, and partitions with equal walks share storage.
type Ring struct {
	cfg     Config   // defaults applied
	shift   uint     // 64 - log2(Q)
	members []string // sorted, distinct
	n       int      // replicas per partition: min(cfg.N, len(members))
	walks   [][]string
	owned   [][]int // per member index: partitions whose preference list holds it
	balance float64
}

// KeyHash is the position of key on the hash circle: xxhash.Sum64(key).
func KeyHash(key []byte) uint64 { return xxhash.Sum64(key) }

// New builds the ring for members under cfg. Member order and duplicates do
// not matter: the same set gives an identical ring everywhere.
func New(cfg Config, members []string) (*Ring, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ids := slices.Compact(slices.Sorted(slices.Values(members)))
	if len(ids) == 0 {
		return nil, ErrNoMembers
	}
	if ids[0] == "" {
		return nil, ErrEmptyMember
	}
	r := &Ring{
		cfg:     cfg,
		shift:   uint(64 - bits.TrailingZeros(uint(cfg.Partitions))),
		members: ids,
		n:       min(cfg.N, len(ids)),
	}
	r.walks = r.buildWalks(placeTokens(ids, cfg.VNodes))
	r.buildOwnership()
	return r, nil
}

// start is partition p's reference point: its first hash.
func (r *Ring) start(p int) uint64 { return uint64(p) << r.shift }

// buildWalks computes, for every partition, the members in the order they
// are first met walking the tokens clockwise from the partition's first
// hash. Partitions whose walks are equal share one backing array, so a
// ring with fewer tokens than partitions stores each walk once. Walks are
// built as member indices, which the garbage collector need not scan, and
// turned into strings in one allocation at the end.
func (r *Ring) buildWalks(toks []token) [][]string {
	q, m := r.cfg.Partitions, len(r.members)
	offs := make([]int, q)
	var idx []int32        // concatenated distinct walks, m entries each
	seen := make([]int, m) // seen[o] == p+1: member o is already in p's walk
	next, prevFirst := 0, -1
	for p := range q {
		for next < len(toks) && toks[next].hash < r.start(p) {
			next++
		}
		first := next % len(toks) // no token at or after the start: wrap
		if first == prevFirst {
			offs[p] = offs[p-1]
			continue
		}
		prevFirst = first
		off := len(idx)
		for j := first; len(idx)-off < m; j = (j + 1) % len(toks) {
			if o := toks[j].owner; seen[o] != p+1 {
				seen[o] = p + 1
				idx = append(idx, o)
			}
		}
		if p > 0 && slices.Equal(idx[off:], idx[offs[p-1]:offs[p-1]+m]) {
			idx = idx[:off]
			offs[p] = offs[p-1]
			continue
		}
		offs[p] = off
	}
	backing := make([]string, len(idx))
	for i, o := range idx {
		backing[i] = r.members[o]
	}
	walks := make([][]string, q)
	for p, off := range offs {
		walks[p] = backing[off : off+m : off+m]
	}
	return walks
}

// buildOwnership records which partitions each member replicates and the
// resulting balance.
func (r *Ring) buildOwnership() {
	q, m := r.cfg.Partitions, len(r.members)
	held := make([]int32, 0, q*r.n) // (member, partition) pairs, flattened
	counts := make([]int, m)
	for p := range q {
		for _, id := range r.Preference(p) {
			i, _ := slices.BinarySearch(r.members, id)
			held = append(held, int32(i), int32(p))
			counts[i]++
		}
	}
	// Carve one array into per-member lists, filled in partition order.
	all := make([]int, len(held)/2)
	r.owned = make([][]int, m)
	off := 0
	for i, c := range counts {
		r.owned[i] = all[off : off : off+c]
		off += c
	}
	for j := 0; j < len(held); j += 2 {
		i := held[j]
		r.owned[i] = append(r.owned[i], int(held[j+1]))
	}
	most := slices.Max(counts)
	mean := float64(q*r.n) / float64(m)
	r.balance = float64(most) / mean
}

// Config returns the ring's configuration with defaults filled in.
func (r *Ring) Config() Config { return r.cfg }

// Partitions returns Q, the number of partitions.
func (r *Ring) Partitions() int { return r.cfg.Partitions }

// N returns the configured replica count. Preference lists are shorter
// when the ring has fewer members than N.
func (r *Ring) N() int { return r.cfg.N }

// PartitionOf returns the partition holding hash: its top log2(Q) bits.
func (r *Ring) PartitionOf(hash uint64) int { return int(hash >> r.shift) }

// Preference returns partition p's preference list: the first
// min(N, members) distinct members clockwise from p's first hash. The slice
// is shared by all callers and must not be modified. It panics if p is not
// in 0..Partitions()-1.
func (r *Ring) Preference(p int) []string { return r.walks[p][:r.n:r.n] }

// Walk returns every member in the clockwise order met from partition p's
// first hash; Preference(p) is its prefix, and the members after it are the
// fallbacks, nearest first. The slice is shared and must not be modified.
// It panics if p is not in 0..Partitions()-1.
func (r *Ring) Walk(p int) []string { return r.walks[p] }

// Members returns the distinct members in sorted order. The caller owns the
// returned slice.
func (r *Ring) Members() []string { return slices.Clone(r.members) }

// Contains reports whether node is a member of the ring.
func (r *Ring) Contains(node string) bool {
	_, ok := slices.BinarySearch(r.members, node)
	return ok
}

// PartitionsOf returns, in increasing order, the partitions whose preference
// list includes node; nil if node is not a member. The caller owns the
// returned slice.
func (r *Ring) PartitionsOf(node string) (primary []int) {
	i, ok := slices.BinarySearch(r.members, node)
	if !ok {
		return nil
	}
	return slices.Clone(r.owned[i])
}

// Balance returns the largest number of partition-replicas any member holds
// divided by the mean (Partitions × min(N, members) / members); 1 is perfect.
func (r *Ring) Balance() float64 { return r.balance }

// String summarises the ring for logs and errors.
func (r *Ring) String() string {
	return fmt.Sprintf("ring{members=%d partitions=%d vnodes=%d n=%d balance=%.2f}",
		len(r.members), r.cfg.Partitions, r.cfg.VNodes, r.cfg.N, r.balance)
}

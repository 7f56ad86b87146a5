// Package antientropy keeps an incremental Merkle tree per partition and
// finds, with little traffic, the keys on which two replicas of a partition
// differ.
//
// # Trees
//
// A Tree covers one partition of the ring (the top Config.PartitionBits bits
// of the 64-bit key hash, ring.KeyHash). It is a complete tree of fanout 16
// and fixed Depth whose leaves are contiguous ranges of key hashes, cut from
// the 4·Depth bits right after the partition bits (Tree.Leaf), so the node,
// which stores data sorted by key hash, lists a leaf's keys with one range
// scan (Tree.LeafRange). A key's state enters the tree as
// ItemHash(key, digest), digest being the 64-bit Digest of its version set
// (0 means absent and contributes nothing). A leaf's hash is the XOR of its
// items; an internal node's hash is the XOR of its children's, which makes it
// the XOR of every item below it. Tree.Update applies one write in place: it
// XORs the delta ItemHash(key, old) ⊕ ItemHash(key, new) into the leaf and
// each ancestor, O(Depth) with no allocation, so trees are always current and
// rebuilt from disk only at start-up.
//
// # Why a plain XOR tree is enough
//
// Two replicas' nodes are equal exactly when the XOR of the items in the
// symmetric difference of their item sets is zero. Each such item is an
// xxhash64 output of a distinct input: key || digest, with the digest a fixed
// 8 bytes, so distinct keys, and one key at two digests, are distinct inputs.
// The XOR of one or more distinct such outputs is zero only by accident, with
// probability about 2^-64 per node compared, however many keys differ. The
// failure modes usually held against XOR do not arise here:
//
//   - An item XORed in twice cancels. A tree holds one digest per key, and
//     Update removes the old item as it adds the new one, so no item is ever
//     present twice unless the caller passes a wrong old digest (a bug that
//     breaks any incremental scheme; a rebuild repairs it).
//   - Items that are equal on both sides cancel in the comparison; that is
//     the point, they are not differences.
//   - XOR ignores position, so moving an item between sibling subtrees would
//     go unseen. Here an item's leaf is a function of its key hash, the same
//     on every replica, so items never move.
//   - XOR is linear and xxhash is not keyed, so someone who chose keys and
//     could predict digests could look for a few items whose hashes XOR to
//     zero (a generalized-birthday search). Digests depend on replica actor
//     ids and counters, and the only effect would be that anti-entropy
//     overlooks those keys; read repair still heals them. A per-cluster hash
//     seed would close this without changing the tree's shape.
//
// A mixing combination of children (hashing their concatenation) would add
// nothing against these and would make Update recompute 16 children per
// level; XOR keeps it one word per level.
//
// # Exchange
//
// Compare (and CompareEach) runs one exchange for one partition between two
// Sides (the local node, and a peer behind RPC): compare roots; then, level
// by level, fetch the children of every node that differs, one Hashes call
// per side per level; then list the keys of the differing leaves on both
// sides and return the keys whose digests differ. The caller syncs those
// keys both ways. A partition in sync costs one round and one hash;
// otherwise each differing key costs at most 16 hashes per level and the
// other keys of its leaf, so traffic grows with the number of differences,
// not the data size.
//
// Key lists come in pages (KeysQuery, KeysPage): a Side lists keys in
// KeyOrder (hash, then bytes: the order a node stores them in), at most a
// page at a time, and says whether more follow. Each round takes a page
// from the local side and the remote's keys up to the end of it, so no
// answer grows with the partition and a replica that lost everything
// refills page by page. CompareEach hands the differences over a page at a
// time, so memory stays bounded too.
//
// A Side also says which keys hold only tombstones, so the caller can tell
// a difference that needs no repair (Diff.NeedsRepair: a tombstone against
// nothing) without reading either version.
//
// # Invariants
//
//   - A Tree's shape (Config) never changes; every replica of a partition
//     must use the same Config.
//   - Every node's hash is the XOR of ItemHash over the items below it, so a
//     tree depends only on the set of (key, digest) pairs, not on the order
//     of the Updates that built it; the empty tree is all zeros.
//   - Nothing that arrives from a peer can make this package panic: Tree.Hashes
//     and Tree.CheckLeaves validate levels and indexes, and Compare rejects
//     answers of the wrong length, keys outside the requested leaves or the
//     page's bounds, keys out of order or repeated, empty keys, zero digests,
//     pages over their limit and "more" with no keys, with ErrProtocol.
//   - Every remote key in the differing leaves crosses the wire once per
//     exchange, and no Keys answer holds more than one page.
//   - Trees are not safe for concurrent use; the node locks.
//
// The package is pure: no I/O, clock, goroutines or logging. The Side
// interface takes a context so that a real peer's calls can be cancelled.
package antientropy

// Package ring places partitions of the key space on cluster members by
// consistent hashing with virtual nodes (vnodes).
//
// The 64-bit hash space (KeyHash, xxhash of the key) is cut into Q equal
// partitions, Q a power of two: partition p holds the hashes
// [p·2^(64−b), (p+1)·2^(64−b)) where b = log2 Q, so a key's partition is
// the top b bits of its hash. Each member places V tokens on the same circle
// at TokenHash(id, 0..V−1). Partition p's walk is every member, in the order
// first met going clockwise from p's reference point, its first hash
// p·2^(64−b): from the first token at or after that point, wrapping past
// 2^64−1. Its preference list, the replicas of every key in p, is the first
// N members of the walk; the rest are fallbacks for sloppy quorum, nearest
// first.
//
// Invariants:
//
//   - Determinism: a Ring depends only on its Config and the set of member
//     ids (order and duplicates ignored), so every node computes the same
//     ring without coordination.
//   - A preference list holds min(N, members) distinct members and is a
//     prefix of the partition's walk, which holds every member once.
//   - Ownership moves a whole partition at a time: all keys of a partition
//     share one preference list.
//   - Minimal movement: adding a member inserts it into each walk without
//     reordering the others, so a partition-replica that moves, moves to the
//     new member; removing a member moves only the partition-replicas it
//     held. No replica moves between two members that both stay.
//   - A Ring is immutable after New and safe for concurrent use; lookups
//     (PartitionOf, Preference, Walk) are O(1) and do not allocate.
//
// The package is pure: no I/O, clock, goroutines or logging.
package ring

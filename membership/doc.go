// Package membership is the agreed ring: a versioned record of the
// cluster's members and of every partition's owners, the transitions that
// change it (join, leave, remove, a transfer done) and the rule that merges
// two nodes' versions. Every node that holds the same State computes the
// same owners, whatever it has heard from gossip about who is alive.
//
// # The record
//
// A State holds:
//
//   - members: every member ever admitted, with a Status that only moves
//     forward, Active → Leaving → Removed. A down member stays Active: an
//     outage is not a departure. A member leaves the record's target only by
//     Leave or Remove, and its id is retired for good.
//   - per partition, a register: its current owners (they serve reads and
//     count toward W), in preference order, and the epoch that settled them.
//   - completions: "member m holds a complete copy of partition p", each
//     made under p's current target key.
//
// From the members follows each partition's target, ring.New's preference
// list over the Active members, and its pending owners: the target's members
// that are not owners yet. They receive writes but count toward neither R
// nor W. When every pending owner of p has a completion (TransferDone), p
// settles: its register becomes its target, in one step, so R and W always
// count one set of owners; members that left the target stop owning p.
// A leaving member owns less and less and is Gone once it owns nothing.
//
// # The merge rule
//
// Merge is a join-semilattice, hence commutative, associative and
// idempotent, so states may be gossiped in any order and repeated:
//
//   - members: the union, each at the later of its two statuses. Concurrent
//     joins through different nodes, and a join during a leave, both survive.
//   - registers: per partition, the one with the larger epoch, equal epochs
//     ordered by owner list. A register is settled at epoch = the state's
//     weight, the sum of its members' statuses, which grows with every
//     status change: a partition settled later wins.
//   - completions: the union, keeping only those made under the merged
//     state's target key of their partition.
//
// A partition's target key digests its walk over every member of the record
// up to its N-th Active member, each with whether it is Active. A completion
// made under another key is for an outdated target: the receiver may since
// have dropped out of the partition and missed writes. Because statuses only
// grow and ids are never dropped, a key that has changed never comes back,
// so no completion can count again after its target moved away and back.
//
// Merge decides nothing, so the join of a set of states does not depend on
// the order or number of deliveries. Settle, a transition, is what a node
// applies to a merge's result, to settle partitions whose completions were
// made on different nodes. It is deterministic, so nodes that merge and
// settle agree (equal Digest) once each has heard from every other since the
// last change. Which partitions settled along the way may depend on the
// order of deliveries; every settlement is to a target whose copies were all
// done, so each is safe.
//
// # Invariants
//
//   - Every partition with an Active member has a target of min(N, Active
//     members) members, and owners ∪ pending ⊇ target.
//   - Owners change only by settling, to the full target at once (here or on
//     another node, whose register then wins the merge).
//   - Partition-replicas move only to members that join and from members
//     that leave or are removed: the ring's minimal movement.
//   - When every transfer is done, each partition's owners equal ring.New's
//     preference list over the Active members.
//   - Leave and Remove refuse to bring the Active members below
//     min(N, Active members): no change lowers a partition's replica count.
//     Concurrent leaves through different nodes can still merge below N;
//     targets are then shorter, as ring's are with fewer than N members.
//
// Known limit: a completion settled on a node with a stale view can make a
// member an owner that a newer view had already pushed out of the target and
// stopped writing to; it stays only until the newer target settles, and
// anti-entropy repairs what it missed.
//
// # Wiring
//
// A node keeps its State, persists Marshal() whenever it changes, and
// reloads it with Unmarshal(cfg, bytes). Gossip metadata carries Digest();
// when a peer's differs, the node fetches the peer's encoding and adopts
// Merge(local, remote).Settle(). Requests: p := s.PartitionOf(ring.KeyHash(key));
// Owners(p) serve reads and count toward R and W, Pending(p) also receive
// every write, and Ring().Walk(p) gives the fallbacks. Transfers() lists the
// copies to make (each from one of From to To); the receiver, once its copy
// is complete, applies TransferDone to its own state and gossips it. A member
// that is neither an owner nor pending for p may delete its copy of p once
// its peers' digests equal its own. A leaving node exits once Gone(self).
//
// The package is pure: no I/O, clock, goroutines or logging. Addresses are
// not part of the record; gossip metadata carries them.
package membership
